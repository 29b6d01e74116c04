//! The one place where errors become HTTP status codes, in one JSON envelope:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use biscotte_shared::FieldError;
use biscotte_shared::api::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or a parameter is wrong; the field says where.
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(
        "unknown site {0:?}: check the data-site attribute of the script tag, or create the site with `biscotte site create`"
    )]
    UnknownSite(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("too many requests from your address: retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::UnknownSite(_) => "unknown_site",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownSite(s) => ApiError::UnknownSite(s),
            StoreError::SiteExists(s) => ApiError::Conflict(format!(
                "site {s:?} already exists: publish a new revision instead"
            )),
            StoreError::Unavailable(why) => ApiError::Unavailable(format!(
                "the decision log cannot record now ({why}); retry in a few seconds"
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::UnknownSite(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "request failed");
        }
        let field = match self {
            ApiError::Invalid(e) => Some(e.field.clone()),
            _ => None,
        };
        let message = match self {
            // Internal details stay in the server's log.
            ApiError::Internal(_) => "internal error; the server's log has the details".to_owned(),
            other => other.to_string(),
        };
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                builder.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                builder.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            ApiError::Unavailable(_) => {
                builder.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        builder.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                field,
            },
        })
    }
}

/// Turns serde's complaint about a JSON body into a field error when it can.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    let message = err.to_string();
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .map(str::to_owned)
        .unwrap_or_else(|| "body".to_owned());
    ApiError::Invalid(FieldError::new(
        field,
        format!("the JSON body is not valid: {message}"),
    ))
}
