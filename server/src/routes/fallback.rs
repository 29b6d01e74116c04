//! What answers when no handler does: a 405 naming the methods of a known API route, and the
//! JSON 404 for any other `/api` path.

use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, Resource, web};

/// An API route that answers only `allow` (as the `Allow` header writes it): any other method
/// gets a 405 in the envelope.
pub fn api(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        })
    }))
}

/// Any `/api` path no route matches.
pub async fn unknown_api_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "no API route at this path: the routes are listed in the README's HTTP API table \
         (for example GET /api/v1/sites/{site}/config and POST /api/v1/sites/{site}/consents)"
            .to_owned(),
    ))
}
