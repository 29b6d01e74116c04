//! The last guard: a handler that panics answers a 500 in the JSON envelope instead of dropping
//! the connection (the panic and its message go to the log).

use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// Middleware (`middleware::from_fn(catch_panic)`) around every route.
///
/// The panic becomes an error, which actix answers through `ApiError`'s own response: holding
/// a copy of the request to build a response here would stop the router from matching it.
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Cheap copies (reference-counted), kept to name the route should it panic.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    // Nothing observes the state the panic interrupted: the request is answered and dropped.
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(ApiError::Internal(format!(
                "a handler panicked on {method} {}: {what}",
                uri.path()
            ))
            .into())
        }
    }
}
