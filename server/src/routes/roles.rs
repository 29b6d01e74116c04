//! The extractors that put a route's role in its handler's signature (`_: Auditor`). They read
//! the `Authorization` header and the site in the path; what the token allows is `auth`'s call.

use crate::app::AppState;
use crate::auth::{Role, TokenClaims};
use crate::error::ApiError;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::{Ready, ready};

/// The token of `Authorization: Bearer <token>`, or `None` when the request has no
/// `Authorization` header. The scheme is case-insensitive (RFC 9110, section 11.1).
fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed =
        || ApiError::Unauthorized("the Authorization header must read `Bearer <token>`".into());
    let (scheme, token) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// The claims of the request's token when it has `role` and, for site roles, names the site in
/// the path.
fn authorize(req: &HttpRequest, token: &str, role: Role) -> Result<TokenClaims, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    state
        .signer
        .authorize(token, role, req.match_info().get("site"))
}

fn require(req: &HttpRequest, role: Role) -> Result<TokenClaims, ApiError> {
    let token = bearer_token(req)?.ok_or_else(|| {
        ApiError::Unauthorized(
            "this route needs a bearer token: send `Authorization: Bearer <token>`".into(),
        )
    })?;
    authorize(req, token, role)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug)]
        pub struct $name(pub TokenClaims);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;
            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(require(req, $role).map($name))
            }
        }
    };
}

role_extractor!(
    Admin,
    Role::Admin,
    "A request carrying an operator's token."
);
role_extractor!(
    Owner,
    Role::Owner,
    "A request carrying the owner token of the site in its path."
);
role_extractor!(
    Auditor,
    Role::Auditor,
    "A request carrying the auditor token of the site in its path."
);

/// A decision sent either by a browser (no `Authorization` header: `None`, and the `Origin`
/// check applies) or by a server-side integration with the recorder token of the site in the
/// path. Any other token, or a malformed header, is refused (401/403), never treated as absent.
#[derive(Debug)]
pub struct MaybeRecorder(pub Option<TokenClaims>);

impl FromRequest for MaybeRecorder {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer_token(req) {
            Ok(None) => Ok(MaybeRecorder(None)),
            Ok(Some(token)) => {
                authorize(req, token, Role::Recorder).map(|c| MaybeRecorder(Some(c)))
            }
            Err(e) => Err(e),
        })
    }
}

/// A read that is public for some sites and for auditors only on others: the auditor token of
/// the site in the path when one is sent (`Some`), or no token at all (`None`). A wrong token is
/// refused, never treated as absent.
#[derive(Debug)]
pub struct MaybeAuditor(pub Option<TokenClaims>);

impl FromRequest for MaybeAuditor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer_token(req) {
            Ok(None) => Ok(MaybeAuditor(None)),
            Ok(Some(token)) => authorize(req, token, Role::Auditor).map(|c| MaybeAuditor(Some(c))),
            Err(e) => Err(e),
        })
    }
}
