//! The built banner, served under immutable content-hashed URLs, and the stable `/biscotte.js`
//! loader that points at the current ones; the engines of earlier builds stay served for the
//! loaders browsers still hold (`engines`).

pub mod engines;

use actix_web::web::Bytes;
use biscotte_shared::Timestamp;
use biscotte_shared::revision::hex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

/// The loader with the wasm-bindgen glue and the styles inside (`banner-wasm/bundle.mjs`).
pub const LOADER: &str = "loader.js";
pub const WASM: &str = "biscotte_banner_bg.wasm";

/// One immutable file, with its brotli and gzip forms.
#[derive(Clone, Debug)]
pub struct Asset {
    pub bytes: Bytes,
    /// Brotli at quality 11, as `./dev build` writes it next to the file (`NAME.br`).
    pub brotli: Option<Bytes>,
    /// Gzip at level 9 (`NAME.gz`).
    pub gzip: Option<Bytes>,
    pub content_type: &'static str,
}

impl Asset {
    /// A body compressed here, once, as `./dev build` compresses the banner's files (brotli at
    /// quality 11, gzip at level 9): for bodies made at run time and served many times.
    pub fn compressed(bytes: Bytes, content_type: &'static str) -> Asset {
        Asset {
            brotli: Codec::Brotli.encode(&bytes).map(Bytes::from),
            gzip: Codec::Gzip.encode(&bytes).map(Bytes::from),
            bytes,
            content_type,
        }
    }
}

/// The most a precompressed file may expand to: a banner file is about 100 KB.
const MAX_ASSET: u64 = 16 * 1024 * 1024;

/// The precompressed form of `name` when it holds exactly `bytes`; otherwise (missing, or left
/// by an older build) the file is compressed here, once, with the same settings.
fn precompressed(dir: &Path, name: &str, bytes: &[u8], codec: Codec) -> Option<Bytes> {
    let path = dir.join(format!("{name}.{}", codec.extension()));
    if let Ok(stored) = std::fs::read(&path) {
        if codec.decode(&stored).as_deref() == Some(bytes) {
            return Some(stored.into());
        }
        tracing::warn!(path = %path.display(), "precompressed file does not match the banner build; compressing again");
    }
    codec.encode(bytes).map(Bytes::from)
}

#[derive(Clone, Copy)]
enum Codec {
    Brotli,
    Gzip,
}

impl Codec {
    fn extension(self) -> &'static str {
        match self {
            Codec::Brotli => "br",
            Codec::Gzip => "gz",
        }
    }

    fn decode(self, compressed: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let read = match self {
            Codec::Brotli => brotli::Decompressor::new(compressed, 4096)
                .take(MAX_ASSET)
                .read_to_end(&mut out),
            Codec::Gzip => flate2::read::GzDecoder::new(compressed)
                .take(MAX_ASSET)
                .read_to_end(&mut out),
        };
        read.ok().map(|_| out)
    }

    fn encode(self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self {
            Codec::Brotli => {
                let mut out = Vec::new();
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 11,
                    ..Default::default()
                };
                let mut input = bytes;
                brotli::BrotliCompress(&mut input, &mut out, &params).ok()?;
                Some(out)
            }
            Codec::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                encoder.write_all(bytes).ok()?;
                encoder.finish().ok()
            }
        }
    }
}

/// Where a site's loader carries its projection (`banner-wasm/js/boot.js`): the generic
/// `/biscotte.js` has `0` there, each `/sites/{site}/biscotte.js` its site's data.
pub const SITE_MARK: &str = "__BISCOTTE_SITE__";

/// The banner's files, read once at start.
#[derive(Clone, Debug)]
pub struct BannerAssets {
    /// `/biscotte.js`, with the hashed URLs filled in (so compressed here, at start).
    pub loader: Asset,
    /// The loader with the hashed URLs filled in and [`SITE_MARK`] still in it: what each site's
    /// loader is made from (`crate::projections`).
    pub template: String,
    /// The loader's validator (`"<first 48 bits of its SHA-256>"`): a returning visitor
    /// revalidates it with a 304 instead of downloading it again.
    pub loader_etag: String,
    /// Hashed file name (`biscotte_banner_bg.1a2b3c4d5e6f.wasm`) → file: the current engine, and
    /// those of earlier builds that loaders cached in browsers may still name (`engines`).
    pub files: HashMap<String, Asset>,
    /// The hashed file name of the engine `loader` names.
    pub engine: String,
}

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = hex(Sha256::digest(bytes).get(..6).unwrap_or_default());
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{digest}.{ext}"),
        None => format!("{name}.{digest}"),
    }
}

impl BannerAssets {
    /// Reads the build in `dir` as a start now does, keeping the engines of earlier builds.
    pub fn load(dir: &Path) -> Result<BannerAssets, String> {
        Self::load_at(dir, crate::clock::now())
    }

    /// Reads the build in `dir` as a start at `now` does: the loader and its engine, and the
    /// engines of earlier builds still kept in `dir/engines/`, where this start records itself.
    pub fn load_at(dir: &Path, now: Timestamp) -> Result<BannerAssets, String> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                format!(
                    "the banner is not built ({}: {e}); build it with `./dev build`",
                    dir.join(name).display()
                )
            })
        };
        let loader =
            String::from_utf8(read(LOADER)?).map_err(|_| "loader.js is not UTF-8".to_owned())?;
        let wasm = read(WASM)?;
        let wasm_name = hashed_name(WASM, &wasm);
        if !loader.contains("__BISCOTTE_WASM__") || !loader.contains(SITE_MARK) {
            return Err(format!(
                "{} is not a loader this server can serve (no __BISCOTTE_WASM__ or __BISCOTTE_SITE__ in it); rebuild the banner with `./dev build`",
                dir.join(LOADER).display()
            ));
        }
        let template = loader.replace("__BISCOTTE_WASM__", &format!("/assets/{wasm_name}"));
        let loader = template.replace(SITE_MARK, "0");
        let asset = |name: &str, bytes: Vec<u8>, content_type| Asset {
            brotli: precompressed(dir, name, &bytes, Codec::Brotli),
            gzip: precompressed(dir, name, &bytes, Codec::Gzip),
            bytes: bytes.into(),
            content_type,
        };
        let engine = asset(WASM, wasm, "application/wasm");
        let mut files: HashMap<String, Asset> = engines::Archive::in_banner_dir(dir)
            .keep(&wasm_name, &engine, now)
            .into_iter()
            .collect();
        tracing::info!(
            engine = %wasm_name,
            earlier = files.len(),
            "banner loaded, with the engines of earlier builds that cached loaders may still name"
        );
        files.insert(wasm_name.clone(), engine);
        let loader_etag = format!(
            "\"{}\"",
            hex(Sha256::digest(loader.as_bytes())
                .get(..6)
                .unwrap_or_default())
        );
        let loader = Asset {
            brotli: Codec::Brotli.encode(loader.as_bytes()).map(Bytes::from),
            gzip: Codec::Gzip.encode(loader.as_bytes()).map(Bytes::from),
            bytes: loader.into(),
            content_type: "text/javascript; charset=utf-8",
        };
        Ok(BannerAssets {
            loader,
            template,
            loader_etag,
            files,
            engine: wasm_name,
        })
    }
}
