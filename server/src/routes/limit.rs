//! Who the client is, and how often it may call: a per-client rate limit on every route.
//!
//! The client is the TCP peer, unless that peer is a configured trusted proxy: only then are
//! `X-Forwarded-For` (the client address) and `Host`/`X-Forwarded-Host`/`Forwarded` (the
//! address the browser used) believed. Anyone can write those headers.

use crate::app::AppState;
use crate::error::ApiError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Forget clients idle long enough to have their whole allowance back, every this many checks.
const FORGET_EVERY: u64 = 10_000;

/// At most this many warnings a minute about refused requests reach the log.
const WARNINGS_PER_MINUTE: NonZeroU32 = match NonZeroU32::new(20) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// The per-client limit and the proxies whose forwarding headers are believed.
#[derive(Debug)]
pub struct ClientPolicy {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    trusted_proxies: Vec<IpNet>,
    checks: AtomicU64,
    /// Warnings about refused requests: a flood of them must not flood the log too.
    warnings: governor::DefaultDirectRateLimiter,
    suppressed: AtomicU64,
}

impl ClientPolicy {
    /// `per_minute` requests per client and minute, in bursts of up to as many; 0 turns the
    /// limit off.
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpNet>) -> ClientPolicy {
        ClientPolicy {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
            trusted_proxies,
            checks: AtomicU64::new(0),
            warnings: RateLimiter::direct(Quota::per_minute(WARNINGS_PER_MINUTE)),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a warning may be logged now; when it may, how many were held back before it.
    pub fn may_warn(&self) -> Option<u64> {
        match self.warnings.check() {
            Ok(()) => Some(self.suppressed.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Whether the direct peer is a proxy whose forwarding headers are believed.
    pub fn peer_is_trusted(&self, req: &HttpRequest) -> bool {
        req.peer_addr()
            .is_some_and(|peer| self.is_trusted(peer.ip()))
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or behind trusted proxies the last address in
    /// `X-Forwarded-For` that is not one of them (the ones before it are the client's to write).
    pub fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.is_trusted(*ip))
                .unwrap_or(peer),
        )
    }

    /// `Err(wait)` when the client has used its allowance.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The middleware: a client over its allowance gets `429` with `Retry-After`.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // A request with a token is checked by its token instead: admins, owners, auditors and a
    // site's recorder (one server speaking for many visitors) are not held to one visitor's pace,
    // and a forged token stores nothing.
    if req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let verdict = req.app_data::<web::Data<AppState>>().and_then(|state| {
        let policy = &state.clients;
        policy.client(req.request()).map(|c| policy.check(c))
    });
    if let Some(Err(wait)) = verdict {
        let error = ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        };
        return Ok(req.error_response(error).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
