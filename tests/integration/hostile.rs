//! Hostile requests, one class a test: each gets a clear 4xx in the JSON envelope (or a 500 for a
//! bug), never a dropped connection, and nothing of it is stored.

use crate::harness::{PAGE_ORIGIN, TestApp, decision, demo_site_file};
use biscotte_server::auth::Role;
use biscotte_server::export;
use biscotte_shared::api::{ConsentRecord, ErrorBody};
use biscotte_shared::{Lang, Method, Revision, Timestamp};
use serde_json::{Value, json};

const VISITOR: &str = "00000000000000000000000000000abc";

/// Status and envelope of an error answer.
async fn envelope(r: reqwest::Response) -> (u16, ErrorBody) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("a {status} answer should be the JSON envelope ({e}): {text:?}")
    });
    (status, body)
}

async fn post(app: &TestApp, site: &str, body: impl Into<Vec<u8>>) -> reqwest::Response {
    app.post_raw(site, body.into())
        .await
        .expect("an answer, not a dropped connection")
}

/// A valid decision of the demo site, with one field replaced.
fn with(rev: &Revision, field: &str, value: Value) -> Vec<u8> {
    let mut body = decision(rev.as_str(), VISITOR, Method::AcceptAll, true);
    body[field] = value;
    serde_json::to_vec(&body).expect("JSON")
}

#[tokio::test]
async fn a_long_non_ascii_page_url_is_cut_on_a_character_boundary_not_a_dropped_connection() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    // `é` is two bytes after a prefix of 23: byte 2,048 falls inside a character.
    let long = format!("{PAGE_ORIGIN}/p{}", "é".repeat(3000));
    let r = post(&app, "demo", with(&rev, "url", long.clone().into())).await;
    assert_eq!(r.status(), 201);
    let stored = app.records("demo").await.remove(0).url.expect("a url");
    assert_eq!(stored.chars().count(), 2048);
    assert!(long.starts_with(&stored), "{stored}");
}

#[tokio::test]
async fn page_urls_keep_scheme_host_and_path_and_anything_else_is_refused_naming_url() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let kept = [
        (
            "https://visitor:secret@shop.example/a;jsessionid=1/b;v=2?q=1#top",
            "https://shop.example/a/b",
        ),
        ("HTTP://shop.example", "http://shop.example/"),
        (
            "http://127.0.0.1:8080/d%C3%A9mo/",
            "http://127.0.0.1:8080/d%C3%A9mo/",
        ),
    ];
    for (sent, _) in kept {
        let r = post(&app, "demo", with(&rev, "url", sent.into())).await;
        assert_eq!(r.status(), 201, "{sent}");
    }
    for refused in [
        "javascript:alert(document.cookie)",
        "=HYPERLINK(\"https://evil.example\",\"click\")",
        "ftp://shop.example/file",
        "data:text/html,<script>alert(1)</script>",
        "https://shop.example/a\u{7}b",
        "https://shop.example/\r\n=cmd",
        "https://shop.example/\u{85}",
        "https:///no-host",
        "https://evil.example\\@shop.example/",
        "",
    ] {
        let (status, e) =
            envelope(post(&app, "demo", with(&rev, "url", refused.into())).await).await;
        assert_eq!(
            (status, e.error.field.as_deref()),
            (400, Some("url")),
            "{refused:?}: {}",
            e.error.message
        );
        assert!(
            e.error.message.contains("location.href"),
            "{}",
            e.error.message
        );
    }
    let stored: Vec<Option<String>> = app
        .records("demo")
        .await
        .into_iter()
        .map(|r| r.url)
        .collect();
    let expected: Vec<Option<String>> = kept.iter().map(|(_, k)| Some(k.to_string())).collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn oversized_strings_and_maps_are_refused_before_any_work_naming_the_field() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let many = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("c{i}"), Value::Bool(true)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let long_key = json!({ "a".repeat(41): true });
    for (field, value, named) in [
        ("consent_id", Value::from("a".repeat(10_000)), "consent_id"),
        ("revision", Value::from("f".repeat(5_000)), "revision"),
        ("language", Value::from("x".repeat(5_000)), "language"),
        ("categories", many(1_000), "categories"),
        ("categories", long_key.clone(), "categories"),
        ("services", many(1_000), "services"),
        ("services", long_key, "services"),
    ] {
        let (status, e) = envelope(post(&app, "demo", with(&rev, field, value)).await).await;
        assert_eq!(
            (status, e.error.field.as_deref()),
            (400, Some(named)),
            "{field}: {}",
            e.error.message
        );
        assert!(
            e.error.message.len() < 400,
            "the message does not echo the input: {}",
            e.error.message
        );
    }
    // The same key twice would leave the log to guess which answer the visitor gave.
    let valid = String::from_utf8(with(&rev, "url", Value::Null)).expect("UTF-8");
    let twice = valid.replace(
        r#""analytics":true"#,
        r#""analytics":true,"analytics":false"#,
    );
    assert_ne!(twice, valid);
    let (status, e) = envelope(post(&app, "demo", twice).await).await;
    assert_eq!(
        (status, e.error.field.as_deref()),
        (400, Some("categories")),
        "{}",
        e.error.message
    );
    // Refused before the site is even looked up.
    let (status, e) =
        envelope(post(&app, "nope", with(&rev, "categories", many(1_000))).await).await;
    assert_eq!(
        (status, e.error.field.as_deref()),
        (400, Some("categories"))
    );
    assert!(app.records("demo").await.is_empty());
}

#[tokio::test]
async fn a_decision_over_32_kib_is_a_413_in_the_envelope_while_a_large_site_file_publishes() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let padded = with(
        &rev,
        "url",
        format!("{PAGE_ORIGIN}/{}", "a".repeat(33 * 1024)).into(),
    );
    let (status, e) = envelope(post(&app, "demo", padded.clone()).await).await;
    assert_eq!(
        (status, e.error.code.as_str()),
        (413, "payload_too_large"),
        "{}",
        e.error.message
    );
    assert!(e.error.message.contains("32768"), "{}", e.error.message);
    // Without a Content-Length the limit holds all the same.
    let chunks = padded
        .chunks(1024)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
        .collect::<Vec<_>>();
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/consents"))
        .header("Content-Type", "application/json")
        .header("Origin", PAGE_ORIGIN)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let (status, e) = envelope(r).await;
    assert_eq!((status, e.error.code.as_str()), (413, "payload_too_large"));
    assert!(app.records("demo").await.is_empty());

    // A site with a hundred services and long cookie descriptions: about 500 KiB of JSON.
    let mut file = demo_site_file();
    let template = file.consent.services[0].clone();
    file.consent.services = (0..100)
        .map(|i| {
            let mut s = template.clone();
            s.id = Some(format!("service_{i}"));
            for c in s.cookies.iter_mut().flatten() {
                c.purpose = "Mesure d'audience. ".repeat(90).into();
            }
            s
        })
        .collect();
    let owner = app.token(Role::Owner, Some("demo"));
    let body = serde_json::to_vec(&file).expect("JSON");
    assert!(body.len() > 400 * 1024, "{} bytes", body.len());
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(&owner)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let huge = format!(
        r#"{{"site":{{"id":"demo","name":"{}"}}}}"#,
        "n".repeat(2 << 20)
    );
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(&owner)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let (status, e) = envelope(r).await;
    assert_eq!((status, e.error.code.as_str()), (413, "payload_too_large"));
}

#[tokio::test]
async fn unknown_api_routes_are_a_json_404_and_wrong_methods_a_json_405_with_allow() {
    let app = TestApp::start().await;
    for path in [
        "/api/v1/nope",
        "/api/v2/sites/demo/config",
        "/api/v1/sites/demo/consents/1",
        "/api",
    ] {
        let r = app.client.get(app.url(path)).send().await.expect("request");
        let (status, e) = envelope(r).await;
        assert_eq!(
            (status, e.error.code.as_str()),
            (404, "not_found"),
            "{path}"
        );
        assert!(e.error.message.contains("README"), "{}", e.error.message);
    }
    // Each API route and the methods it answers; every other method is a 405 naming them.
    for (path, allow) in [
        ("/api/v1/health", "GET"),
        ("/.well-known/jwks.json", "GET"),
        ("/api/v1/sites", "POST"),
        ("/api/v1/sites/demo/revisions", "GET, POST"),
        ("/api/v1/sites/demo/config", "GET"),
        ("/api/v1/sites/demo/consents", "GET, POST, OPTIONS"),
    ] {
        for wrong in ["PUT", "DELETE", "PATCH"] {
            let method = reqwest::Method::from_bytes(wrong.as_bytes()).expect("method");
            let r = app
                .client
                .request(method, app.url(path))
                .send()
                .await
                .expect("request");
            assert_eq!(
                r.headers().get("allow").and_then(|v| v.to_str().ok()),
                Some(allow),
                "{wrong} {path}"
            );
            let (status, e) = envelope(r).await;
            assert_eq!(
                (status, e.error.code.as_str()),
                (405, "method_not_allowed"),
                "{wrong} {path}"
            );
            assert!(e.error.message.contains(allow), "{}", e.error.message);
        }
        for right in allow.split(", ") {
            let method = reqwest::Method::from_bytes(right.as_bytes()).expect("method");
            let r = app
                .client
                .request(method, app.url(path))
                .header("Origin", PAGE_ORIGIN)
                .send()
                .await
                .expect("request");
            assert_ne!(r.status(), 405, "{right} {path} is in Allow");
        }
    }
    // Static pages keep the file server's own 404.
    let r = app
        .client
        .get(app.url("/demo/nope.html"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
    assert!(
        r.json::<ErrorBody>().await.is_err(),
        "a page's 404 is not the API envelope"
    );
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_start_with_a_quote_and_ndjson_stays_what_the_chain_covers()
 {
    let app = TestApp::start().await;
    let mut file = demo_site_file();
    file.consent.policy_version = "-2026".into();
    let owner = app.token(Role::Owner, Some("demo"));
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(&owner)
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    let rev = app.published("demo").await.revision;
    let r = post(&app, "demo", with(&rev, "url", Value::Null)).await;
    assert_eq!(r.status(), 201);

    let token = app.token(Role::Auditor, Some("demo"));
    let csv = app
        .export("demo", "?format=csv", Some(&token))
        .await
        .text()
        .await
        .expect("CSV");
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let headers = rows.headers().expect("header").clone();
    let column = headers
        .iter()
        .position(|h| h == "policy_version")
        .expect("column");
    let url_column = headers.iter().position(|h| h == "url").expect("column");
    let row = rows.records().next().expect("a row").expect("CSV row");
    assert_eq!(row.get(column), Some("'-2026"));

    let ndjson = app
        .export("demo", "?format=ndjson", Some(&token))
        .await
        .text()
        .await
        .expect("NDJSON");
    let records: Vec<ConsentRecord> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert_eq!(
        records[0].policy_version, "-2026",
        "NDJSON keeps the stored value"
    );
    for (line, record) in ndjson.lines().zip(&records) {
        assert_eq!(
            line.as_bytes(),
            serde_json::to_vec(record).expect("JSON"),
            "byte for byte"
        );
    }
    app.assert_log_verifies("demo", 1).await;

    // Records stored before page URLs were checked may hold anything: the CSV still defuses it.
    for hostile in [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-1-1",
        "@SUM(1)",
        "\t=1",
        "\r=1",
    ] {
        let mut record = records[0].clone();
        record.url = Some(hostile.to_owned());
        let line = export::csv_row(&record);
        let row = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_slice())
            .records()
            .next()
            .expect("a row")
            .expect("CSV row");
        assert_eq!(
            row.get(url_column),
            Some(format!("'{hostile}").as_str()),
            "{hostile:?}"
        );
    }
    let plain = ConsentRecord {
        url: Some("https://shop.example/".into()),
        policy_version: "2026-11".into(),
        language: Lang::Fr,
        server_time: Timestamp::from_millis(0),
        ..records[0].clone()
    };
    assert!(!String::from_utf8_lossy(&export::csv_row(&plain)).contains('\''));
}

#[tokio::test]
async fn a_handler_that_panics_answers_a_json_500_and_the_server_keeps_serving() {
    async fn panics() -> actix_web::HttpResponse {
        panic!("a bug in a handler")
    }
    let app = TestApp::start_with_routes(
        |_| {},
        |cfg| {
            cfg.route("/api/test/panic", actix_web::web::get().to(panics));
        },
    )
    .await;
    for _ in 0..3 {
        let r = app
            .client
            .get(app.url("/api/test/panic"))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let (status, e) = envelope(r).await;
        assert_eq!((status, e.error.code.as_str()), (500, "internal"));
        assert!(
            !e.error.message.contains("bug"),
            "details stay in the log: {}",
            e.error.message
        );
    }
    let r = app
        .client
        .get(app.url("/api/v1/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn log_routes_given_numbers_that_do_not_fit_or_make_no_sense_answer_in_the_envelope() {
    let app = TestApp::start().await;
    let token = app.token(Role::Auditor, Some("demo"));
    for (path, status) in [
        (
            "/api/v1/sites/demo/log/checkpoints/99999999999999999999",
            400,
        ),
        ("/api/v1/sites/demo/log/checkpoints/-1", 400),
        ("/api/v1/sites/demo/log/tile/999/000", 400),
        ("/api/v1/sites/demo/log/tile/255/000", 404),
        ("/api/v1/sites/demo/log/tile/0/x000/000", 400),
        ("/api/v1/sites/demo/log/tile/0/000.p/0", 400),
        (
            "/api/v1/sites/demo/log/proof/inclusion?index=18446744073709551615",
            404,
        ),
        ("/api/v1/sites/demo/log/proof/inclusion?index=-3", 400),
        (
            "/api/v1/sites/demo/log/proof/consistency?from=18446744073709551615",
            404,
        ),
        ("/api/v1/sites/demo/log/proof/consistency?from=1&to=0", 404),
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("an answer, never a dropped connection");
        let (got, body) = envelope(r).await;
        assert_eq!(got, status, "{path}: {body:?}");
        assert!(!body.error.message.is_empty(), "{path}");
    }
}
