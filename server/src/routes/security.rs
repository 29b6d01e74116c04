//! Security headers on every response, and a Content-Security-Policy on every HTML page, which the
//! pages under `www/` satisfy (the browser test `tests/browser/csp.test.mjs` holds them to it).

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;

/// Pages under this prefix run the banner (the demo site); no other page of the server does.
const BANNER_PAGES: &str = "/demo/";

/// The policy of a page that runs the banner. `'wasm-unsafe-eval'` lets the page compile the
/// banner's WebAssembly and nothing else: `eval` and inline scripts stay refused. Styles need no
/// `'unsafe-inline'` and no hash: the banner adopts a constructed style sheet in its shadow root,
/// which style-src does not govern. `connect-src` covers the configuration, the wasm and the
/// decision POST, all sent to this server.
const BANNER_PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy of every other HTML page: no WebAssembly.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `same-origin`: this server's pages tell no other site where their visitors come from (the
/// banner links to the services' privacy policies), as with `no-referrer`; but under `no-referrer`
/// a browser sends `Origin: null` with a same-origin form POST (checked in Chromium 156), which an
/// Origin check must refuse. `strict-origin-when-cross-origin` would hand other sites this
/// server's origin.
const REFERRER_POLICY: &str = "same-origin";

/// The middleware: `.wrap(from_fn(security::headers))`, outermost, so that the answers of the
/// other layers get the headers too. (An `Err` from an inner middleware passes through without
/// them: actix turns it into a response only after this layer; the route table's own errors are
/// responses by then, and get the headers.)
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let banner_page = req.path().starts_with(BANNER_PAGES);
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    if is_html(headers) {
        let policy = if banner_page {
            BANNER_PAGE_POLICY
        } else {
            PAGE_POLICY
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    Ok(response)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/html"))
}
