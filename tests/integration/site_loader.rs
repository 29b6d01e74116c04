//! `GET /sites/{site}/biscotte.js`: the site's loader, which carries the live revision's
//! projection in one language (issue 13: one request to a first visit's banner, none on a
//! return), and `GET …/banner?have=`, the check a returning visitor's loader makes beside its start.

use crate::harness::{PAGE_ORIGIN, TestApp, demo_site_file, header};
use biscotte_shared::{Lang, projection};
use std::time::{Duration, Instant};

/// A banner build as `./dev build` leaves it, with a loader that is only its two marks.
fn banner_build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("banner dir");
    std::fs::write(
        dir.path().join("loader.js"),
        "/*! test loader */var engine='__BISCOTTE_WASM__',site=__BISCOTTE_SITE__;",
    )
    .expect("loader");
    std::fs::write(
        dir.path().join("biscotte_banner_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .expect("wasm");
    dir
}

async fn start(banner: &tempfile::TempDir) -> TestApp {
    let path = banner.path().to_owned();
    TestApp::start_with(move |c| c.banner_dir = path).await
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    tokio::time::timeout(Duration::from_secs(10), req.send())
        .await
        .unwrap_or_else(|_| panic!("{path}: no answer within 10 s"))
        .expect("request")
}

/// What the site's loader carries in place of `__BISCOTTE_SITE__`: site, language, projection and
/// the wait flag, read back from the JavaScript object literal the server writes.
#[derive(Debug, PartialEq, Eq)]
struct Carried {
    site: String,
    lang: String,
    projection: String,
    wait: bool,
}

/// Reads a JavaScript string literal as the server writes it: JSON's escapes, with the
/// projection's separators (U+001E, U+001F) left raw, which JavaScript allows and JSON does not.
fn js_string(literal: &str) -> String {
    let json = literal
        .replace('\u{1e}', "\\u001e")
        .replace('\u{1f}', "\\u001f");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("not a string literal ({e}): {literal}"))
}

fn carried(loader: &str) -> Carried {
    let data = loader
        .split_once("site=")
        .and_then(|(_, rest)| rest.strip_suffix(';'))
        .unwrap_or_else(|| panic!("no site data in {loader}"));
    let inner = data
        .strip_prefix("{s:")
        .and_then(|d| d.strip_suffix('}'))
        .expect("an object literal");
    let (site, rest) = inner.split_once(",l:").expect("l");
    let (lang, rest) = rest.split_once(",p:").expect("p");
    let (projection, wait) = rest.rsplit_once(",w:").expect("w");
    Carried {
        site: js_string(site),
        lang: js_string(lang),
        projection: js_string(projection),
        wait: match wait {
            "0" => false,
            "1" => true,
            other => panic!("w is {other}"),
        },
    }
}

#[tokio::test]
async fn the_sites_loader_carries_the_live_revision_in_the_tags_or_the_browsers_language() {
    let banner = banner_build();
    let app = start(&banner).await;
    let published = app.published("demo").await;
    for (query, accept, lang) in [
        ("?lang=en", None, Lang::En),
        ("?lang=fr", Some("en-GB,en;q=0.9"), Lang::Fr),
        ("", Some("en-GB,en;q=0.9"), Lang::En),
        ("", Some("de-DE, en;q=0.5, fr;q=0.8"), Lang::Fr),
        ("", Some("de-DE, en;q=0.5"), Lang::En),
        ("", Some("de"), Lang::Fr),
        ("", None, Lang::Fr),
        ("?lang=de", Some("en"), Lang::En),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Language", a)).into_iter().collect();
        let r = get(&app, &format!("/sites/demo/biscotte.js{query}"), &headers).await;
        assert_eq!(r.status(), 200, "{query} {accept:?}");
        assert_eq!(
            header(&r, "content-type").as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            header(&r, "cache-control").as_deref(),
            Some("max-age=3600, stale-while-revalidate=604800")
        );
        assert_eq!(header(&r, "timing-allow-origin").as_deref(), Some("*"));
        assert_eq!(
            header(&r, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let vary = header(&r, "vary").unwrap_or_default();
        assert!(vary.contains("Accept-Language"), "{vary}");
        let etag = header(&r, "etag").expect("etag");
        assert!(
            etag.ends_with(&format!("-{}-{}\"", published.revision, lang.code())),
            "{etag}"
        );
        let body = r.text().await.expect("body");
        assert!(
            body.contains("/assets/biscotte_banner_bg."),
            "the engine is named: {body}"
        );
        assert_eq!(
            carried(&body),
            Carried {
                site: "demo".into(),
                lang: lang.code().into(),
                projection: projection::encode_published(&published, lang),
                wait: false,
            },
            "{query} {accept:?}"
        );
    }

    // A returning visitor's browser revalidates it: a 304 while build and revision are the same.
    let r = get(&app, "/sites/demo/biscotte.js?lang=en", &[]).await;
    let etag = header(&r, "etag").expect("etag");
    let r = get(
        &app,
        "/sites/demo/biscotte.js?lang=en",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.expect("body").is_empty());

    // The first tag's loader carries no site.
    let generic = get(&app, "/biscotte.js", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(generic.ends_with("site=0;"), "{generic}");
}

#[tokio::test]
async fn texts_with_quotes_backslashes_and_line_breaks_reach_the_loader_intact() {
    let banner = banner_build();
    let app = start(&banner).await;
    let mut file = demo_site_file();
    file.consent.services[1].name = Some("Hot\"jar\\ \u{2028} «ok»\nnext\r".into());
    let r = app.publish(&file).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let published = app.published("demo").await;
    let body = get(&app, "/sites/demo/biscotte.js?lang=fr", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !body.contains('\u{2028}'),
        "a line terminator inside a string literal breaks the script"
    );
    assert_eq!(
        carried(&body).projection,
        projection::encode_published(&published, Lang::Fr)
    );
}

#[tokio::test]
async fn wait_for_check_travels_in_the_loader_and_a_publication_replaces_the_loader() {
    let banner = banner_build();
    let app = start(&banner).await;
    let before = get(&app, "/sites/demo/biscotte.js?lang=fr", &[]).await;
    let old_etag = header(&before, "etag").expect("etag");
    assert!(!carried(&before.text().await.expect("body")).wait);

    let mut file = demo_site_file();
    file.consent.banner.wait_for_check = true;
    let r = app.publish(&file).await;
    assert_eq!(r.status(), 201);
    let r = get(
        &app,
        "/sites/demo/biscotte.js?lang=fr",
        &[("If-None-Match", &old_etag)],
    )
    .await;
    assert_eq!(r.status(), 200, "a new revision is a new loader");
    assert_ne!(header(&r, "etag").expect("etag"), old_etag);
    let carried = carried(&r.text().await.expect("body"));
    assert!(carried.wait);
    assert_eq!(
        carried.projection,
        projection::encode_published(&app.published("demo").await, Lang::Fr)
    );
}

#[tokio::test]
async fn the_revision_check_answers_204_for_the_live_revision_and_the_projection_otherwise() {
    let app = TestApp::start().await;
    let live = app.published("demo").await;
    let check = |have: &str| format!("/api/v1/sites/demo/banner?lang=en&have={have}");
    let r = get(
        &app,
        &check(live.revision.as_str()),
        &[("Origin", PAGE_ORIGIN)],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(PAGE_ORIGIN),
        "the page reads the answer"
    );
    assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
    assert!(r.bytes().await.expect("body").is_empty());

    for have in ["0123456789abcdef0123456789abcdef", "", "not-a-revision"] {
        let r = get(&app, &check(have), &[("Origin", PAGE_ORIGIN)]).await;
        assert_eq!(r.status(), 200, "{have:?}");
        assert_eq!(
            r.text().await.expect("body"),
            projection::encode_published(&live, Lang::En)
        );
    }
    let r = get(
        &app,
        &check(live.revision.as_str()),
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status(), 403, "an unregistered origin learns nothing");
}

#[tokio::test]
async fn an_unknown_site_has_no_loader_and_no_build_is_a_503_saying_how_to_build() {
    let banner = banner_build();
    let app = start(&banner).await;
    let r = get(&app, "/sites/nosuch/biscotte.js", &[]).await;
    assert_eq!(r.status(), 404);
    let unbuilt = TestApp::start().await;
    let r = get(&unbuilt, "/sites/demo/biscotte.js", &[]).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.expect("body").contains("./dev build"));
}

/// 16 clients fetch the site's loader in both languages, revalidating now and then, and check
/// its revision as a returning visitor's page does, while the owner publishes every 100 ms: no
/// request may hang, every loader must carry whole the revision its `ETag` names, and the check
/// answers 204 or a newer projection.
#[tokio::test]
async fn the_sites_loaders_hold_under_concurrent_load_while_the_owner_publishes() {
    let banner = banner_build();
    let app = std::sync::Arc::new(start(&banner).await);
    let until = Instant::now() + Duration::from_secs(4);
    let publisher = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while Instant::now() < until {
                let mut file = demo_site_file();
                file.consent.services[1].name = Some(format!("Hotjar {}", n % 5).into());
                let r = app.publish(&file).await;
                assert_eq!(r.status(), 201);
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            n
        })
    };
    let mut clients = Vec::new();
    for client in 0..16 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let lang = if client % 2 == 0 { "fr" } else { "en" };
            let path = format!("/sites/demo/biscotte.js?lang={lang}");
            let (mut answers, mut etag) = (0u32, None::<String>);
            while Instant::now() < until {
                let headers: Vec<(&str, &str)> = etag
                    .as_deref()
                    .filter(|_| answers % 3 == 0)
                    .map(|t| ("If-None-Match", t))
                    .into_iter()
                    .collect();
                let r = get(&app, &path, &headers).await;
                answers += 1;
                let tag = header(&r, "etag").expect("etag");
                if r.status() == 304 {
                    continue;
                }
                assert_eq!(r.status(), 200, "client {client}");
                let carried = carried(&r.text().await.expect("body"));
                let revision = carried.projection.split('\u{1f}').nth(2).expect("revision");
                assert!(
                    tag.ends_with(&format!("-{revision}-{lang}\"")),
                    "client {client}: {tag}"
                );
                assert_eq!(carried.lang, lang);
                etag = Some(tag);
                // The returning visitor's check of the revision this loader carries: 204 while
                // it is live, else the newer projection.
                let r = get(
                    &app,
                    &format!("/api/v1/sites/demo/banner?lang={lang}&have={revision}"),
                    &[("Origin", PAGE_ORIGIN)],
                )
                .await;
                match r.status().as_u16() {
                    204 => {}
                    200 => {
                        let body = r.text().await.expect("body");
                        let newer = body.split('\u{1f}').nth(2).expect("revision");
                        assert_ne!(
                            newer, revision,
                            "client {client}: 200 for the live revision"
                        );
                    }
                    other => panic!("client {client}: the check answered {other}"),
                }
            }
            answers
        }));
    }
    let published = publisher.await.expect("publisher");
    let mut total = 0;
    for c in clients {
        total += c.await.expect("client");
    }
    assert!(
        published > 5 && total > 100,
        "{published} publications, {total} answers"
    );
}

/// Hostile input to the two new paths: site ids that are no site (too long, encoded separators,
/// control characters), `lang`, `have` and `Accept-Language` values that are garbage or huge.
/// Every request gets an answer within its timeout, never a 5xx or a dropped connection; a
/// garbage language is French, and no amount of them makes more than the two loaders a live
/// revision has (the cache is keyed by revision and language only).
#[tokio::test]
async fn hostile_site_ids_languages_and_revision_checks_get_answers_and_never_grow_the_cache() {
    let banner = banner_build();
    let app = start(&banner).await;
    let long = "a".repeat(5000);
    for (path, status) in [
        (format!("/sites/{long}/biscotte.js"), 404),
        ("/sites/%2e%2e%2fdemo/biscotte.js".to_owned(), 404),
        ("/sites/de%00mo/biscotte.js".to_owned(), 404),
        ("/sites/DEMO/biscotte.js".to_owned(), 404),
        ("/sites/demo/biscotte.js?lang=%FF%FE".to_owned(), 200),
        (format!("/sites/demo/biscotte.js?lang={long}"), 200),
        (
            "/sites/demo/biscotte.js?lang=en&lang=fr&lang=xx".to_owned(),
            200,
        ),
        (
            format!("/api/v1/sites/demo/banner?lang=en&have={long}"),
            200,
        ),
        (
            "/api/v1/sites/demo/banner?have=%00%01&have=".to_owned(),
            200,
        ),
        ("/api/v1/sites/nosuch/banner?have=x".to_owned(), 404),
    ] {
        let r = get(&app, &path, &[("Origin", PAGE_ORIGIN)]).await;
        assert_eq!(r.status(), status, "{}", &path[..path.len().min(80)]);
    }
    let garbage = [
        "*".to_owned(),
        ";;;,,,q=".to_owned(),
        "en;q=abc, fr;q=-1".to_owned(),
        format!("{long}, en;q=0.1"),
        (0..500)
            .map(|i| format!("x{i};q=0.{i}"))
            .collect::<Vec<_>>()
            .join(","),
        "\u{1}\u{2}".to_owned(),
    ];
    let mut bodies = std::collections::HashSet::new();
    for accept in &garbage {
        let r = app
            .client
            .get(app.url("/sites/demo/biscotte.js"))
            .header("Accept-Language", accept.as_bytes())
            .send()
            .await;
        // A header value reqwest refuses to send never reaches the server: nothing to check.
        let Ok(r) = r else { continue };
        assert_eq!(r.status(), 200, "{}", &accept[..accept.len().min(60)]);
        bodies.insert(r.text().await.expect("body"));
    }
    for lang in ["fr", "en", "de", "zz-ZZ", "x"] {
        let r = get(&app, &format!("/sites/demo/biscotte.js?lang={lang}"), &[]).await;
        bodies.insert(r.text().await.expect("body"));
    }
    assert!(
        bodies.len() <= 2,
        "a live revision has a loader per language, fr and en: {} different bodies",
        bodies.len()
    );
}
