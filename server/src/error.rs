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
    #[error(
        "{method} is not a method of this route: it answers {allow} (see the README's HTTP API table)"
    )]
    MethodNotAllowed {
        method: String,
        /// The methods the route answers, as the `Allow` header lists them.
        allow: &'static str,
    },
    #[error(
        "the body is larger than the {limit} bytes this route reads: send only what the README's HTTP API section describes"
    )]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Unavailable(String),
    /// A route this deployment's store does not serve (a backup of a backend with its own tools).
    #[error("{0}")]
    NotImplemented(String),
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
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::NotImplemented(_) => "not_implemented",
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
            StoreError::DecisionIdReused(why) => ApiError::Conflict(why),
            StoreError::OutOfRange(why) => ApiError::NotFound(why),
            StoreError::Unsupported(why) => ApiError::NotImplemented(why),
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
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
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
            ApiError::MethodNotAllowed { allow, .. } => {
                builder.insert_header(("Allow", *allow));
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

/// The longest piece of a request echoed back in an error: a hostile body is not mirrored.
const ECHO_MAX_CHARS: usize = 200;

fn cut_echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_MAX_CHARS) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Turns a refused JSON body into the error to answer: 413 over the limit, else a field error
/// naming the field when serde names one.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError;
    let serde = match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => {
            return ApiError::PayloadTooLarge { limit };
        }
        JsonPayloadError::ContentType => {
            return ApiError::Invalid(FieldError::new(
                "body",
                "send the body as JSON, with the header Content-Type: application/json",
            ));
        }
        JsonPayloadError::Deserialize(e) => e,
        other => {
            return ApiError::Invalid(FieldError::new(
                "body",
                format!("the body could not be read: {other}"),
            ));
        }
    };
    // serde names fields in backquotes: "missing field `language`", "duplicate field `url`", and
    // `ConsentRequest`'s own bounds, "field `categories`: …".
    let message = serde.to_string();
    let field = message
        .split('`')
        .nth(1)
        .filter(|f| message.contains("field") && f.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| "body".to_owned());
    let located = format!(" at line {} column {}", serde.line(), serde.column());
    let message = match message.strip_prefix(&format!("field `{field}`: ")) {
        Some(bound) => bound.strip_suffix(&located).unwrap_or(bound).to_owned(),
        None => format!("the JSON body is not valid: {}", cut_echo(&message)),
    };
    ApiError::Invalid(FieldError::new(field, message))
}
