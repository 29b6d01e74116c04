//! What crosses the wire: banner files precompressed and chosen by `Accept-Encoding`, the loader
//! and JSON answers compressed on the fly, and the caching contract unchanged.

use crate::harness::{TestApp, header, repo_path};
use std::io::Read;
use std::path::Path;

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn ungzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// A banner build: the loader's entry module (it holds both marks the server fills in), and a
/// wasm file that compresses like a real one.
/// The wasm's `.br` is left over from an older build: it must not be served.
fn banner_build(dir: &Path) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::copy(repo_path("banner-wasm/js/boot.js"), dir.join("loader.js")).expect("loader");
    let wasm: Vec<u8> = (0u32..60_000)
        .map(|i| u8::try_from((i * 7 + i / 13) % 251).unwrap_or(0))
        .collect();
    std::fs::write(dir.join("biscotte_banner_bg.wasm"), &wasm).expect("wasm");
    std::fs::write(dir.join("biscotte_banner_bg.wasm.br"), b"stale").expect("stale br");
    wasm
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(a) = accept {
        req = req.header("Accept-Encoding", a);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn banner_files_go_out_brotli_or_gzip_as_the_browser_accepts_and_stay_immutable_wasm() {
    let dir = tempfile::tempdir().expect("tmp");
    let build = dir.path().join("banner");
    let wasm = banner_build(&build);
    let app = TestApp::start_with(|c| c.banner_dir = build.clone()).await;

    let loader = get(&app, "/biscotte.js", Some("gzip, deflate, br, zstd")).await;
    assert_eq!(header(&loader, "content-encoding").as_deref(), Some("br"));
    let etag = header(&loader, "etag").expect("the loader has a validator");
    let loader = String::from_utf8(unbrotli(&loader.bytes().await.expect("body"))).expect("utf-8");
    let wasm_url = loader
        .split(['\'', '"'])
        .find(|s| s.starts_with("/assets/") && s.ends_with(".wasm"))
        .expect("the loader names the engine's hashed URL")
        .to_owned();

    // A returning visitor runs its copy while revalidating it: nothing is sent again.
    assert_eq!(
        header(&get(&app, "/biscotte.js", None).await, "cache-control").as_deref(),
        Some("max-age=0, stale-while-revalidate=604800")
    );
    let again = app
        .client
        .get(app.url("/biscotte.js"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.expect("body").is_empty());

    // What Chromium sends: brotli, the smallest.
    let r = get(&app, &wasm_url, Some("gzip, deflate, br, zstd")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/wasm")
    );
    assert!(header(&r, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
    assert!(header(&r, "cache-control").is_some_and(|v| v.contains("immutable")));
    let body = r.bytes().await.expect("body");
    assert!(
        body.len() < wasm.len() / 2,
        "{} of {}",
        body.len(),
        wasm.len()
    );
    assert_eq!(unbrotli(&body), wasm, "the stale .br was not served");

    let r = get(&app, &wasm_url, Some("gzip")).await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(ungzip(&r.bytes().await.expect("body")), wasm);

    let r = get(&app, &wasm_url, Some("br;q=0, gzip;q=0")).await;
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(r.bytes().await.expect("body").to_vec(), wasm);
}

#[tokio::test]
async fn the_configuration_goes_out_compressed_and_still_answers_304_to_its_etag() {
    let app = TestApp::start().await;
    let r = get(&app, "/api/v1/sites/demo/config", Some("br")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    let etag = header(&r, "etag").expect("etag");
    let body = r.bytes().await.expect("body");
    let json: serde_json::Value = serde_json::from_slice(&unbrotli(&body)).expect("JSON");
    assert_eq!(
        etag,
        format!("\"{}\"", json["revision"].as_str().expect("revision"))
    );

    let r = app
        .client
        .get(app.url("/api/v1/sites/demo/config"))
        .header("Accept-Encoding", "br")
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 304);
}
