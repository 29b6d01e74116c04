//! Counts what happens to decisions, whichever layer answers: the handler, the body limit, the
//! JSON reader or the rate limit.

use crate::app::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;

/// `POST /api/v1/sites/{site}/consents`, read off the raw path (this runs before routing).
fn is_decision(req: &ServiceRequest) -> bool {
    req.method() == Method::POST
        && req
            .path()
            .strip_prefix("/api/v1/sites/")
            .and_then(|rest| rest.strip_suffix("/consents"))
            .is_some_and(|site| !site.is_empty() && !site.contains('/'))
}

/// The metric label of a refused decision, from its status: a fixed set, never request text.
fn refusal(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid",
        401 => "unauthorized",
        403 => "origin",
        404 => "unknown_site",
        413 => "too_large",
        429 => "rate_limited",
        _ => "unavailable",
    }
}

pub async fn count_decisions(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = is_decision(&req)
        .then(|| req.app_data::<web::Data<AppState>>().cloned())
        .flatten();
    let response = next.call(req).await?;
    if let Some(state) = state {
        let status = response.status();
        if status.is_success() {
            state.metrics.decision_recorded();
        } else {
            state.metrics.decision_refused(refusal(status));
        }
    }
    Ok(response)
}
