//! `/biscotte.js` and the content-hashed banner files.

use crate::app::AppState;
use crate::assets::Asset;
use crate::error::ApiError;
use actix_web::http::header::{self, Encoding};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, web};

/// How browsers keep the loader: stale at once, but used while it is revalidated for a week
/// (`assets::engines::LOADER_STALE_DAYS`, which sets how long earlier engines stay served).
pub const LOADER_CACHE: &str = "max-age=0, stale-while-revalidate=604800";

/// How browsers keep a site's loader (`/sites/{site}/biscotte.js`): fresh for an hour, then used
/// while it is revalidated for the same week. It checks itself for a newer revision on every
/// page, so a fresh copy never hides a publication; the hour saves a returning visitor's pages a
/// revalidation request each (the check is one already). A new build reaches a visitor within the
/// hour and a page; `KEPT_DAYS` covers the hour.
pub const SITE_LOADER_CACHE: &str = "max-age=3600, stale-while-revalidate=604800";

/// `GET /biscotte.js`. Without a banner build it is a 503 with the envelope saying how to build
/// it: browsers run no script answered with an error status, so a JavaScript body would be lost.
pub async fn loader(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    match &state.banner {
        Ok(b) => {
            let fresh = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|tags| tags.split(',').any(|t| t.trim() == b.loader_etag));
            let mut response = if fresh {
                HttpResponse::NotModified()
            } else {
                HttpResponse::Ok()
            };
            response
                // A returning visitor's browser runs the copy it has at once and revalidates it in
                // the background (a 304 while the build is the same): a new build is picked up on
                // the next page. The copy it runs names the engine it was built with, which stays
                // served for that week after a new build replaces it (`assets::engines`), so the
                // two always match.
                .insert_header(("Cache-Control", LOADER_CACHE))
                .insert_header((header::ETAG, b.loader_etag.as_str()))
                .insert_header(("Access-Control-Allow-Origin", "*"));
            if fresh {
                return Ok(response.finish());
            }
            Ok(encoded(&req, response, &b.loader))
        }
        Err(why) => {
            tracing::warn!(%why, "banner requested but not built");
            Err(ApiError::Unavailable(format!("Biscotte: {why}")))
        }
    }
}

/// `GET /assets/{file}`: an immutable, content-hashed banner file.
pub async fn asset(
    req: HttpRequest,
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let asset = state
        .banner
        .as_ref()
        .ok()
        .and_then(|b| b.files.get(file.as_str()))
        .ok_or_else(|| {
            ApiError::NotFound(
                "no such banner file: load /biscotte.js, which points at the current ones".into(),
            )
        })?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        // The banner runs on the sites' origins: module scripts and wasm need CORS.
        .insert_header(("Access-Control-Allow-Origin", "*"));
    Ok(encoded(&req, response, asset))
}

/// The file in the best form the client accepts among those compressed ahead (brotli, then
/// gzip), or as is.
pub fn encoded(
    req: &HttpRequest,
    mut response: HttpResponseBuilder,
    asset: &Asset,
) -> HttpResponse {
    response
        .content_type(asset.content_type)
        .append_header((header::VARY, "Accept-Encoding"));
    let offered = [
        (Encoding::brotli(), &asset.brotli),
        (Encoding::gzip(), &asset.gzip),
    ];
    let supported: Vec<Encoding> = offered
        .iter()
        .filter(|(_, bytes)| bytes.is_some())
        .map(|(encoding, _)| encoding.clone())
        .chain([Encoding::identity()])
        .collect();
    let chosen = req
        .get_header::<header::AcceptEncoding>()
        .and_then(|a| a.negotiate(supported.iter()));
    let compressed = offered
        .into_iter()
        .find(|(encoding, _)| Some(encoding) == chosen.as_ref())
        .and_then(|(encoding, bytes)| Some((encoding, bytes.clone()?)));
    match compressed {
        Some((encoding, bytes)) => response
            .insert_header((header::CONTENT_ENCODING, encoding.to_string()))
            .body(bytes),
        None => response.body(asset.bytes.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::LOADER_CACHE;
    use crate::assets::engines::LOADER_STALE_DAYS;

    #[test]
    fn the_loaders_cache_header_and_the_engines_kept_count_the_same_week() {
        let window = LOADER_STALE_DAYS * 86_400;
        assert_eq!(
            LOADER_CACHE,
            format!("max-age=0, stale-while-revalidate={window}")
        );
    }
}
