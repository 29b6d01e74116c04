//! A rebuild of the banner, then a restart: loaders that browsers cached before it (for up to a
//! week, `stale-while-revalidate`) still find the engine they name, until that week is over.

use crate::harness::{TestApp, header};
use biscotte_server::assets::BannerAssets;
use biscotte_server::assets::engines::{KEPT_DAYS, LOADER_STALE_DAYS};
use biscotte_shared::Timestamp;
use std::io::Read;
use std::path::Path;

/// A valid WebAssembly module, distinct for each `tag`: the header and one custom section.
fn wasm_module(tag: &str) -> Vec<u8> {
    let payload = tag.repeat(200);
    let mut section = vec![u8::try_from(tag.len()).expect("short tag")];
    section.extend(tag.as_bytes());
    section.extend(payload.as_bytes());
    let mut module = b"\0asm\x01\0\0\0\0".to_vec();
    let mut size = section.len();
    loop {
        let byte = u8::try_from(size & 0x7f).expect("seven bits");
        size >>= 7;
        module.push(if size > 0 { byte | 0x80 } else { byte });
        if size == 0 {
            break;
        }
    }
    module.extend(section);
    module
}

/// What `./dev build` leaves in the banner directory: everything but `engines/` replaced by the
/// new loader and engine. Returns the engine's bytes.
fn build(dir: &Path, tag: &str) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("banner dir");
    for entry in std::fs::read_dir(dir).expect("banner dir").flatten() {
        if entry.file_name() == "engines" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("old build removed");
        } else {
            std::fs::remove_file(path).expect("old build removed");
        }
    }
    std::fs::write(
        dir.join("loader.js"),
        format!("/* build {tag} */ const engine = '__BISCOTTE_WASM__', site = __BISCOTTE_SITE__;"),
    )
    .expect("loader");
    let wasm = wasm_module(tag);
    std::fs::write(dir.join("biscotte_banner_bg.wasm"), &wasm).expect("wasm");
    wasm
}

/// A start of the server at `now` on `dir`, as `biscotte serve` makes it: what it serves.
fn start_at(dir: &Path, now: Timestamp) -> BannerAssets {
    BannerAssets::load_at(dir, now).expect("the build loads")
}

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("Accept-Encoding", accept)
        .send()
        .await
        .expect("request")
}

/// The engine URL the served `/biscotte.js` names.
async fn engine_url(app: &TestApp) -> String {
    let loader = get(app, "/biscotte.js", "identity").await;
    assert_eq!(loader.status(), 200);
    let loader = loader.text().await.expect("loader");
    loader
        .split(['\'', '"'])
        .find(|s| s.starts_with("/assets/") && s.ends_with(".wasm"))
        .unwrap_or_else(|| panic!("the loader names no engine: {loader}"))
        .to_owned()
}

/// The engine at `url` answers with exactly `wasm`, in every encoding, cached as immutable.
async fn assert_serves(app: &TestApp, url: &str, wasm: &[u8]) {
    let r = get(app, url, "identity").await;
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(
        header(&r, "cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/wasm")
    );
    assert_eq!(r.bytes().await.expect("body").as_ref(), wasm, "{url}");
    let r = get(app, url, "br").await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    let mut unpacked = Vec::new();
    brotli::Decompressor::new(r.bytes().await.expect("body").as_ref(), 4096)
        .read_to_end(&mut unpacked)
        .expect("brotli");
    assert_eq!(unpacked, wasm, "{url} in brotli");
    let r = get(app, url, "gzip").await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(r.bytes().await.expect("body").as_ref())
        .read_to_end(&mut unpacked)
        .expect("gzip");
    assert_eq!(unpacked, wasm, "{url} in gzip");
}

#[tokio::test]
async fn a_loader_cached_before_a_rebuild_still_finds_its_engine_after_the_restart() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("banner");
    let first = build(&dir, "first");
    let app = TestApp::start_with(|c| c.banner_dir = dir.clone()).await;
    let first_url = engine_url(&app).await;
    assert_serves(&app, &first_url, &first).await;

    let second = build(&dir, "second");
    let app = TestApp::start_with(|c| c.banner_dir = dir.clone()).await;
    let second_url = engine_url(&app).await;
    assert_ne!(second_url, first_url, "the new loader names the new engine");
    assert_serves(&app, &second_url, &second).await;
    assert_serves(&app, &first_url, &first).await;

    let manifest = std::fs::read_to_string(dir.join("engines/manifest.txt")).expect("manifest");
    let name = |url: &str| url.trim_start_matches("/assets/").to_owned();
    assert!(
        manifest.contains(&format!("{} superseded 2", name(&first_url)))
            && manifest.contains(&format!("{} current", name(&second_url))),
        "{manifest}"
    );

    // A restart on the same build keeps the first engine and when it was superseded.
    let app = TestApp::start_with(|c| c.banner_dir = dir.clone()).await;
    assert_serves(&app, &first_url, &first).await;
    assert_eq!(
        std::fs::read_to_string(dir.join("engines/manifest.txt")).expect("manifest"),
        manifest
    );
}

#[tokio::test]
async fn an_engine_superseded_more_than_the_loaders_week_ago_is_deleted_at_the_next_start() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("banner");
    let now = biscotte_server::clock::now();
    // Earlier starts, each on a new build, as the server made them on those days: `old` was
    // served until 9 days ago, `recent` until exactly the loaders' week ago (some may still name
    // it), `last` until this start.
    build(&dir, "old");
    let old = start_at(&dir, now.plus_days(-30)).engine;
    let recent = build(&dir, "recent");
    let recent_name = start_at(&dir, now.plus_days(-(KEPT_DAYS + 1))).engine;
    let last = build(&dir, "last");
    let last_name = start_at(&dir, now.plus_days(-LOADER_STALE_DAYS)).engine;

    let newest = build(&dir, "newest");
    let app = TestApp::start_with(|c| c.banner_dir = dir.clone()).await;
    let newest_url = engine_url(&app).await;
    assert_serves(&app, &newest_url, &newest).await;
    assert_serves(&app, &format!("/assets/{recent_name}"), &recent).await;
    assert_serves(&app, &format!("/assets/{last_name}"), &last).await;
    let r = get(&app, &format!("/assets/{old}"), "identity").await;
    assert_eq!(r.status(), 404, "superseded {} days ago", KEPT_DAYS + 1);
    for suffix in ["", ".br", ".gz"] {
        assert!(
            !dir.join(format!("engines/{old}{suffix}")).exists(),
            "{old}{suffix} is deleted"
        );
    }
    assert!(
        !std::fs::read_to_string(dir.join("engines/manifest.txt"))
            .expect("manifest")
            .contains(&old)
    );
}

#[tokio::test]
async fn a_kept_engine_whose_bytes_no_longer_match_its_name_is_not_served() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("banner");
    build(&dir, "first");
    let first = start_at(&dir, biscotte_server::clock::now()).engine;
    std::fs::write(dir.join("engines").join(&first), wasm_module("other")).expect("overwrite");

    build(&dir, "second");
    let app = TestApp::start_with(|c| c.banner_dir = dir.clone()).await;
    let r = get(&app, &format!("/assets/{first}"), "identity").await;
    assert_eq!(r.status(), 404, "an immutable URL never serves other bytes");
}
