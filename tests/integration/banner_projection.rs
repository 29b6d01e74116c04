//! `GET /api/v1/sites/{site}/banner`: the live revision projected for the banner in one language,
//! cached per revision and language, with the configuration's caching and CORS contract.

use crate::harness::{PAGE_ORIGIN, TestApp, demo_site_file, header, repo_path};
use biscotte_server::auth::Role;
use biscotte_server::sitefile::SiteFile;
use biscotte_shared::api::ErrorBody;
use biscotte_shared::{Lang, projection};
use std::io::Read;

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("request")
}

/// Publishes the demo with Hotjar renamed, as its owner would.
async fn publish_renamed(app: &TestApp, hotjar: &str) {
    let mut file = demo_site_file();
    file.consent.services[1].name = Some(hotjar.into());
    publish(app, &file).await;
}

async fn publish(app: &TestApp, file: &SiteFile) {
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(app.token(Role::Owner, Some("demo")))
        .json(file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn the_banner_gets_the_live_revision_in_its_language_and_french_for_any_other() {
    let app = TestApp::start().await;
    let published = app.published("demo").await;
    let expected = |lang| projection::encode_published(&published, lang);
    for (query, lang) in [
        ("?lang=en", Lang::En),
        ("?lang=en-GB", Lang::En),
        ("?lang=EN_us", Lang::En),
        ("?lang=fr-FR", Lang::Fr),
        ("", Lang::Fr),
        ("?lang=", Lang::Fr),
        ("?lang=de-DE", Lang::Fr),
        ("?lang=%FF%FE", Lang::Fr),
        ("?lang=en&lang=de", Lang::En),
        ("?other=1&lang=en", Lang::En),
    ] {
        let r = get(&app, &format!("/api/v1/sites/demo/banner{query}"), &[]).await;
        assert_eq!(r.status(), 200, "{query}");
        assert_eq!(
            header(&r, "content-type").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"));
        let body = r.text().await.expect("body");
        assert_eq!(body, expected(lang), "{query}");
    }
    let english = expected(Lang::En);
    assert!(english.starts_with(&format!(
        "biscotte-banner-3\u{1f}demo\u{1f}{}\u{1f}2026-11\u{1f}en\u{1f}/demo/confidentialite.html\u{1f}left\u{1e}",
        published.revision
    )));
    assert!(english.contains("\u{1e}s\u{1f}hotjar\u{1f}analytics\u{1f}Hotjar\u{1f}"));
}

#[tokio::test]
async fn the_projection_carries_revision_and_language_as_etag_and_answers_304_to_it() {
    let app = TestApp::start().await;
    let revision = app.published("demo").await.revision;
    let path = "/api/v1/sites/demo/banner?lang=en";
    let r = get(&app, path, &[]).await;
    let etag = header(&r, "etag").expect("etag");
    assert_eq!(etag, format!("\"b3-{revision}-en\""));

    let r = get(&app, path, &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status(), 304);
    assert_eq!(header(&r, "etag").as_deref(), Some(etag.as_str()));
    assert!(r.bytes().await.expect("body").is_empty());
    // A proxy that compresses may weaken the tag; a list may hold older ones.
    let weak = format!("\"b3-0-fr\", W/{etag}");
    assert_eq!(
        get(&app, path, &[("If-None-Match", &weak)]).await.status(),
        304
    );

    // The French projection is another representation.
    let r = get(
        &app,
        "/api/v1/sites/demo/banner?lang=fr",
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "etag"), Some(format!("\"b3-{revision}-fr\"")));
}

#[tokio::test]
async fn a_new_publication_changes_the_projection_and_its_etag() {
    let app = TestApp::start().await;
    let path = "/api/v1/sites/demo/banner?lang=en";
    let before = get(&app, path, &[]).await;
    let etag = header(&before, "etag").expect("etag");
    let before = before.text().await.expect("body");

    publish_renamed(&app, "Hotjar Observe").await;
    let published = app.published("demo").await;
    let r = get(&app, path, &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status(), 200, "the old tag no longer matches");
    assert_eq!(
        header(&r, "etag"),
        Some(format!("\"b3-{}-en\"", published.revision))
    );
    let after = r.text().await.expect("body");
    assert_ne!(after, before);
    assert!(after.contains(published.revision.as_str()));
    assert!(after.contains("\u{1f}Hotjar Observe\u{1f}"));
    assert_eq!(after, projection::encode_published(&published, Lang::En));

    // Publishing the earlier configuration again brings its projection back.
    publish_renamed(&app, "Hotjar").await;
    let r = get(&app, path, &[]).await;
    assert_eq!(header(&r, "etag"), Some(etag));
    assert_eq!(r.text().await.expect("body"), before);
}

#[tokio::test]
async fn a_cookies_purpose_is_shown_in_the_visitors_language_and_a_plain_one_in_every_language() {
    let app = TestApp::start().await;
    // The demo declares its purposes per language.
    for (lang, line) in [
        (
            "en",
            "\u{1f}_ga\u{1f}395\u{a0}days\u{1f}Tell visitors apart\u{1f}",
        ),
        (
            "fr",
            "\u{1f}_ga\u{1f}395\u{a0}jours\u{1f}Distinguer les visiteurs\u{1f}",
        ),
        (
            "en",
            "\u{1f}_gid\u{1f}1\u{a0}day\u{1f}Tell visitors apart over 24 hours\u{1f}",
        ),
        (
            "fr",
            "\u{1f}_gid\u{1f}1\u{a0}jour\u{1f}Distinguer les visiteurs sur 24 heures\u{1f}",
        ),
    ] {
        let r = get(&app, &format!("/api/v1/sites/demo/banner?lang={lang}"), &[]).await;
        let body = r.text().await.expect("body");
        assert!(body.contains(line), "{line:?} in {body:?}");
    }

    // Site files written before texts per language give a purpose as one string: it still reads,
    // publishes, and is shown in every language.
    let plain = SiteFile::read(&repo_path("bench/peers/entries/biscotte/site.toml"))
        .expect("a site file with plain purposes reads");
    let purpose = |file: &SiteFile| {
        file.consent.services[0]
            .cookies
            .as_ref()
            .and_then(|cookies| cookies.first())
            .map(|c| c.purpose.clone())
    };
    assert_eq!(purpose(&plain), Some("Distinguish visitors".into()));
    let mut file = demo_site_file();
    if let Some(cookies) = &mut file.consent.services[0].cookies {
        cookies[0].purpose = "Mesurer l'audience".into();
    }
    publish(&app, &file).await;
    let published = app.published("demo").await;
    assert!(published.revision_matches());
    for lang in [Lang::Fr, Lang::En] {
        let text = projection::encode_published(&published, lang);
        assert!(text.contains("\u{1f}_ga\u{1f}395\u{a0}"), "{text:?}");
        assert!(
            text.contains("\u{1f}Mesurer l'audience\u{1f}"),
            "{lang:?}: {text:?}"
        );
    }
}

#[tokio::test]
async fn a_registered_origin_gets_cors_and_another_is_refused() {
    let app = TestApp::start().await;
    let path = "/api/v1/sites/demo/banner?lang=fr";
    let r = get(&app, path, &[("Origin", PAGE_ORIGIN)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(PAGE_ORIGIN)
    );
    assert!(header(&r, "vary").is_some_and(|v| v.contains("Origin")));
    let etag = header(&r, "etag").expect("etag");
    let r = get(
        &app,
        path,
        &[("Origin", PAGE_ORIGIN), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(r.status(), 304);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(PAGE_ORIGIN)
    );

    let r = get(&app, path, &[("Origin", "http://127.0.0.9:1234")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let e: ErrorBody = r.json().await.expect("error envelope");
    assert!(
        e.error.message.contains("[site].origins"),
        "{}",
        e.error.message
    );
}

#[tokio::test]
async fn a_registered_origin_can_read_a_refusal_of_the_projection() {
    // Over the rate limit, the banner can read the 429 and its Retry-After.
    let app = TestApp::start_with(|c| c.rate_limit_per_minute = 5).await;
    let mut refused = None;
    for _ in 0..50 {
        let r = get(
            &app,
            "/api/v1/sites/demo/banner",
            &[("Origin", PAGE_ORIGIN)],
        )
        .await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the limit refuses at last");
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(PAGE_ORIGIN)
    );
    assert!(header(&r, "access-control-expose-headers").is_some_and(|v| v.contains("Retry-After")));
}

#[tokio::test]
async fn the_projection_goes_out_brotli_when_the_browser_accepts_it() {
    let app = TestApp::start().await;
    let path = "/api/v1/sites/demo/banner?lang=en";
    let plain = get(&app, path, &[]).await;
    assert_eq!(header(&plain, "content-encoding"), None);
    let plain = plain.bytes().await.expect("body");

    let r = get(
        &app,
        path,
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    assert!(header(&r, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
    let body = r.bytes().await.expect("body");
    assert!(
        body.len() < plain.len(),
        "{} of {}",
        body.len(),
        plain.len()
    );
    let mut unpacked = Vec::new();
    brotli::Decompressor::new(&body[..], 4096)
        .read_to_end(&mut unpacked)
        .expect("valid brotli");
    assert_eq!(unpacked, plain);
}

#[tokio::test]
async fn an_unknown_site_has_no_projection() {
    let app = TestApp::start().await;
    let r = get(
        &app,
        "/api/v1/sites/nope/banner?lang=en",
        &[("Origin", PAGE_ORIGIN)],
    )
    .await;
    assert_eq!(r.status(), 404);
    let e: ErrorBody = r.json().await.expect("error envelope");
    assert_eq!(e.error.code, "unknown_site");
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/banner"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow").as_deref(), Some("GET"));
}

#[tokio::test]
async fn the_published_configuration_names_the_recipe_of_its_revision() {
    let app = TestApp::start().await;
    let r = get(&app, "/api/v1/sites/demo/config", &[]).await;
    let json: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(json["recipe"], 3);
    assert_eq!(json["words"]["fr"]["always_on"], "Toujours actifs");
    let published = app.published("demo").await;
    assert!(published.revision_matches());
}

/// The banner's reads under load while the owner publishes: 16 clients ask for the projection (in
/// both languages, with and without the validator they last got), the configuration and the
/// loader for 4 s, each request with a 10 s timeout, while a new revision is published every
/// 100 ms. No request may hang, and every projection must be whole and name the revision its
/// `ETag` names: a lock-up or a torn cache entry between revisions would show here.
#[tokio::test]
async fn the_banners_reads_hold_under_concurrent_load_while_the_owner_publishes() {
    let app = TestApp::start_with(|c| c.rate_limit_per_minute = 0).await;
    let app = std::sync::Arc::new(app);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(4);
    let publisher = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while std::time::Instant::now() < until {
                publish_renamed(&app, &format!("Hotjar {}", n % 5)).await;
                n += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            n
        })
    };
    let mut clients = Vec::new();
    for client in 0..16 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let lang = if client % 2 == 0 { "fr" } else { "en" };
            let path = format!("/api/v1/sites/demo/banner?lang={lang}");
            let (mut answers, mut not_modified, mut etag) = (0u32, 0u32, None::<String>);
            while std::time::Instant::now() < until {
                let mut req = app.client.get(app.url(&path)).header("Origin", PAGE_ORIGIN);
                if let Some(tag) = etag.as_deref().filter(|_| answers % 3 == 0) {
                    req = req.header("If-None-Match", tag);
                }
                let r = tokio::time::timeout(std::time::Duration::from_secs(10), req.send())
                    .await
                    .unwrap_or_else(|_| panic!("client {client}: no answer within 10 s (hung)"))
                    .expect("request");
                answers += 1;
                let tag = header(&r, "etag").expect("etag");
                if r.status() == 304 {
                    not_modified += 1;
                    continue;
                }
                assert_eq!(r.status(), 200, "client {client}");
                let body = r.text().await.expect("body");
                let revision = body.split('\u{1f}').nth(2).expect("a revision field");
                assert_eq!(
                    tag,
                    format!("\"b3-{revision}-{lang}\""),
                    "client {client}: {body:?}"
                );
                assert_eq!(
                    body.split('\u{1e}')
                        .nth(1)
                        .map(|t| t.split('\u{1f}').count()),
                    Some(biscotte_shared::banner_config::TEXTS)
                );
                etag = Some(tag);
                let other = if answers % 2 == 0 {
                    "/api/v1/sites/demo/config"
                } else {
                    "/biscotte.js"
                };
                let r = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    app.client
                        .get(app.url(other))
                        .header("Origin", PAGE_ORIGIN)
                        .send(),
                )
                .await
                .unwrap_or_else(|_| panic!("client {client}: {other} hung"))
                .expect("request");
                // The loader answers 503 in this test's server, which has no banner build.
                assert!(
                    matches!(r.status().as_u16(), 200 | 503),
                    "{other}: {}",
                    r.status()
                );
            }
            (answers, not_modified)
        }));
    }
    let publications = publisher.await.expect("publisher");
    let (mut answers, mut not_modified) = (0, 0);
    for c in clients {
        let (a, n) = c.await.expect("client");
        answers += a;
        not_modified += n;
    }
    println!(
        "banner reads: {answers} projections ({not_modified} answered 304) by 16 clients during {publications} publications"
    );
    assert!(publications >= 10, "only {publications} publications");
    assert!(answers >= 16 * 10, "only {answers} projections answered");
}
