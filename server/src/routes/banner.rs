//! What the banner calls: its projection of the live revision, the published configuration, and
//! recording a decision.

use super::{now, own_origin, registered_site};
use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::roles::MaybeRecorder;
use crate::store::{NewDecision, SiteRecord};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, EntityTag, Header, HeaderValue, IfNoneMatch};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, web};
use biscotte_shared::api::{ConsentRequest, ConsentResponse, PublishedConfig};
use biscotte_shared::{Choices, Decision, FieldError, Lang, Revision};
use std::sync::Arc;

fn origin_of(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
}

fn is_allowed(own: &str, site: &SiteRecord, origin: &str) -> bool {
    origin == own || site.origins.iter().any(|o| o == origin)
}

/// The request's `Origin` when it may talk to this site: same origin, or registered.
/// `Ok(None)` when the request has no `Origin` (not a cross-origin browser request).
fn allowed_origin(
    req: &HttpRequest,
    state: &AppState,
    site: &SiteRecord,
) -> Result<Option<String>, ApiError> {
    let Some(origin) = origin_of(req) else {
        return Ok(None);
    };
    if is_allowed(&own_origin(req, &state.clients), site, origin) {
        return Ok(Some(origin.to_owned()));
    }
    if let Some(held_back) = state.clients.may_warn() {
        tracing::warn!(site = %site.id, %origin, held_back, "request from an origin the site did not register");
    }
    Err(ApiError::Forbidden(format!(
        "origin {origin} is not registered for site {:?}: add it to [site].origins in the site file and publish",
        site.id
    )))
}

/// CORS on refusals too (a bad body, the rate limit, a full store), for the origins the site
/// registers: a banner on another origin can then read the status and `Retry-After` and tell a
/// refusal to retry from one to drop, instead of seeing only a network failure.
pub async fn cors_on_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let site = req
        .path()
        .strip_prefix("/api/v1/sites/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(_, route)| matches!(*route, "consents" | "config" | "banner"))
        .map(|(site, _)| site.to_owned());
    // Read before the call: holding a clone of the request across it breaks actix's router.
    let origin = origin_of(req.request()).map(str::to_owned);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(site), Some(origin), Some(state)) = (site, origin, state) else {
        return next.call(req).await;
    };
    let own = own_origin(req.request(), &state.clients);
    let mut response = next.call(req).await?;
    let headers = response.headers();
    if response.status().is_success()
        || response.status() == StatusCode::NOT_MODIFIED
        || headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        return Ok(response);
    }
    let Ok(Some(record)) = state.store.site(&site).await else {
        return Ok(response);
    };
    if is_allowed(&own, &record, &origin)
        && let Ok(value) = HeaderValue::from_str(&origin)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    Ok(response)
}

fn with_cors(builder: &mut HttpResponseBuilder, origin: &Option<String>) {
    if let Some(o) = origin {
        builder
            .insert_header(("Access-Control-Allow-Origin", o.as_str()))
            .insert_header(("Vary", "Origin"));
    }
}

/// The live revision of `site` and the origin the answer's CORS names, for the banner's reads.
async fn live(
    req: &HttpRequest,
    state: &AppState,
    site: &str,
) -> Result<(Arc<PublishedConfig>, Option<String>), ApiError> {
    let (record, published) = state
        .store
        .current(site)
        .await?
        .ok_or_else(|| ApiError::UnknownSite(site.to_string()))?;
    let origin = allowed_origin(req, state, &record)?;
    Ok((published, origin))
}

/// The answer's start for a representation validated by `etag`: a 304 when the client holds it,
/// with CORS, the validator and `no-cache` either way (revalidated on every page: a new
/// publication must be seen at once). The flag says the answer is a 304, complete as it is.
fn validated(
    req: &HttpRequest,
    origin: &Option<String>,
    etag: EntityTag,
) -> (HttpResponseBuilder, bool) {
    let not_modified = match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        Err(_) => false,
    };
    let mut builder = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    with_cors(&mut builder, origin);
    builder
        .insert_header(header::ETag(etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    (builder, not_modified)
}

/// `GET /api/v1/sites/{site}/config`
pub async fn config(
    req: HttpRequest,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (published, origin) = live(&req, &state, &site).await?;
    let etag = EntityTag::new_strong(published.revision.to_string());
    let (mut builder, not_modified) = validated(&req, &origin, etag);
    if not_modified {
        return Ok(builder.finish());
    }
    Ok(builder.json(&*published))
}

/// The value of query parameter `key`, if given.
fn query_param(query: &str, key: &str) -> Option<String> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .ok()?
        .0
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value)
}

/// The language a `lang` query parameter (a BCP 47 tag) asks for; French when it is missing or
/// not one the banner speaks, as the banner falls back itself.
fn requested_lang(query: &str) -> Lang {
    query_param(query, "lang")
        .and_then(|tag| Lang::from_tag(&tag))
        .unwrap_or(Lang::Fr)
}

/// The language of a site's loader: the `lang` query parameter when the tag gives one, else the
/// first language the browser prefers (`Accept-Language`) that the banner speaks, else French.
fn loader_lang(req: &HttpRequest) -> Lang {
    if let Some(lang) = query_param(req.query_string(), "lang").and_then(|t| Lang::from_tag(&t)) {
        return lang;
    }
    req.get_header::<header::AcceptLanguage>()
        .and_then(|accept| {
            accept
                .ranked()
                .into_iter()
                .find_map(|tag| Lang::from_tag(&tag.to_string()))
        })
        .unwrap_or(Lang::Fr)
}

/// `GET /sites/{site}/biscotte.js`: the site's loader, which carries the live revision's
/// projection in one language, so that a first visit's banner needs this one request (and the
/// engine beside it), and a returning visit none: cached for an hour and then used while it is
/// revalidated in the background ([`SITE_LOADER_CACHE`](crate::routes::assets::SITE_LOADER_CACHE)), the loader checks itself for a newer revision
/// (`GET …/banner?have=`). Its resource timing is readable (`Timing-Allow-Origin`): the loader
/// tells from it whether it came from the browser's cache.
pub async fn site_loader(
    req: HttpRequest,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let banner = state.banner.as_ref().map_err(|why| {
        tracing::warn!(%why, "banner requested but not built");
        ApiError::Unavailable(format!("Biscotte: {why}"))
    })?;
    let (_, published) = state
        .store
        .current(&site)
        .await?
        .ok_or_else(|| ApiError::UnknownSite(site.to_string()))?;
    let lang = loader_lang(&req);
    let etag = EntityTag::new_strong(format!(
        "{}-{}-{}",
        banner.loader_etag.trim_matches('"'),
        published.revision,
        lang.code()
    ));
    let (mut builder, not_modified) = validated(&req, &None, etag);
    builder
        .insert_header((
            header::CACHE_CONTROL,
            crate::routes::assets::SITE_LOADER_CACHE,
        ))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Timing-Allow-Origin", "*"))
        .insert_header((header::VARY, "Accept-Language"));
    if not_modified {
        return Ok(builder.finish());
    }
    Ok(crate::routes::assets::encoded(
        &req,
        builder,
        &state.projections.loader(&published, lang, banner),
    ))
}

/// `GET /api/v1/sites/{site}/banner?lang=…[&have=REVISION]`: the live revision as the banner needs
/// it for one language (`biscotte_shared::projection`), with the same caching and CORS as the
/// configuration; `204 No Content` when `have` names the live revision (a site's loader checking
/// the projection it carries).
pub async fn projection(
    req: HttpRequest,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (published, origin) = live(&req, &state, &site).await?;
    let lang = requested_lang(req.query_string());
    // A site's loader asks whether the revision it carries is still the live one: 204 when it is.
    if query_param(req.query_string(), "have").as_deref() == Some(published.revision.as_str()) {
        let mut builder = HttpResponse::NoContent();
        with_cors(&mut builder, &origin);
        return Ok(builder
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let etag = EntityTag::new_strong(biscotte_shared::projection::etag(&published.revision, lang));
    let (mut builder, not_modified) = validated(&req, &origin, etag);
    if not_modified {
        return Ok(builder.finish());
    }
    Ok(crate::routes::assets::encoded(
        &req,
        builder,
        &state.projections.get(&published, lang),
    ))
}

/// `OPTIONS /api/v1/sites/{site}/consents`: the CORS preflight of a decision.
pub async fn preflight(
    req: HttpRequest,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = registered_site(&state, &site).await?;
    let origin = allowed_origin(&req, &state, &record)?;
    let mut builder = HttpResponse::NoContent();
    with_cors(&mut builder, &origin);
    Ok(builder
        .insert_header(("Access-Control-Allow-Methods", "POST"))
        .insert_header(("Access-Control-Allow-Headers", "content-type"))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish())
}

/// Keeps the page's scheme, host and path (see `biscotte_shared::page_url`); refuses what is not
/// a web page's address.
fn page_url(url: Option<String>) -> Result<Option<String>, ApiError> {
    url.as_deref()
        .map(biscotte_shared::page_url::page_url)
        .transpose()
        .map_err(ApiError::Invalid)
}

/// `POST /api/v1/sites/{site}/consents`: validate, append durably (stamped with server time,
/// once per decision id), answer with the receipt and the record's proof.
pub async fn record(
    req: HttpRequest,
    state: web::Data<AppState>,
    site: web::Path<String>,
    recorder: MaybeRecorder,
    body: web::Json<ConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let site_record = registered_site(&state, &site).await?;
    let origin = allowed_origin(&req, &state, &site_record)?;
    if origin.is_none() && recorder.0.is_none() {
        return Err(ApiError::Forbidden(format!(
            "a decision needs the Origin header of a page registered for site {id:?} (browsers send it): add the page's origin to [site].origins in the site file; a server-side integration sends a recorder token instead (`biscotte token issue --role recorder --site {id}`)",
            id = site_record.id
        )));
    }
    let body = body.into_inner();
    let unknown_revision = || {
        ApiError::Invalid(FieldError::new(
            "revision",
            format!(
                "{:?} is not a revision of site {:?}; reload the page to get the current one",
                body.revision,
                site.as_str()
            ),
        ))
    };
    let revision = Revision::parse(&body.revision).ok_or_else(unknown_revision)?;
    let shown = state
        .store
        .published(&site, &revision)
        .await?
        .ok_or_else(unknown_revision)?;
    let choices = Choices {
        categories: body.categories.into(),
        services: body.services.into(),
    };
    let decision = Decision::parse(&body.consent_id, body.method, &choices, &shown.config)
        .map_err(ApiError::Invalid)?;
    decision
        .check_undeleted(&body.undeleted_cookies, &shown.config)
        .map_err(ApiError::Invalid)?;
    let logged = state
        .store
        .append(
            NewDecision {
                site: site.into_inner(),
                revision,
                policy_version: shown.config.policy_version.clone(),
                decision,
                language: body.language,
                url: page_url(body.url)?,
                undeleted_cookies: body.undeleted_cookies,
                decision_id: body.decision_id,
            },
            now(),
        )
        .await?;
    let receipt = state.signer.receipt(&logged.record)?;
    let mut builder = HttpResponse::Created();
    with_cors(&mut builder, &origin);
    if logged.repeated {
        // A retry of a decision already logged: the first record, and nothing new logged.
        builder.insert_header(("Idempotent-Replayed", "true"));
        if origin.is_some() {
            builder.insert_header(("Access-Control-Expose-Headers", "Idempotent-Replayed"));
        }
    }
    Ok(builder.json(ConsentResponse {
        record_id: logged.record.record_id,
        server_time: logged.record.server_time,
        receipt,
        leaf_index: logged.record.leaf_index,
        leaf_hash: logged.record.leaf_hash.clone(),
        proof: logged.tlog_proof(),
    }))
}
