//! The built banner, served under immutable content-hashed URLs, and the stable `/biscotte.js`
//! loader that points at the current ones.

use biscotte_shared::revision::hex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

pub const LOADER: &str = "loader.js";
pub const GLUE: &str = "biscotte_banner.js";
pub const WASM: &str = "biscotte_banner_bg.wasm";

/// One immutable file.
#[derive(Clone, Debug)]
pub struct Asset {
    pub bytes: actix_web::web::Bytes,
    pub content_type: &'static str,
}

/// The banner's files, read once at start.
#[derive(Clone, Debug)]
pub struct BannerAssets {
    /// `/biscotte.js`, with the hashed URLs filled in.
    pub loader: String,
    /// Hashed file name (`biscotte_banner.1a2b3c4d5e6f.js`) → file.
    pub files: HashMap<String, Asset>,
}

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = hex(Sha256::digest(bytes).get(..6).unwrap_or_default());
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{digest}.{ext}"),
        None => format!("{name}.{digest}"),
    }
}

impl BannerAssets {
    pub fn load(dir: &Path) -> Result<BannerAssets, String> {
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
        let glue = read(GLUE)?;
        let wasm = read(WASM)?;
        let glue_name = hashed_name(GLUE, &glue);
        let wasm_name = hashed_name(WASM, &wasm);
        let loader = loader
            .replace("__BISCOTTE_GLUE__", &format!("/assets/{glue_name}"))
            .replace("__BISCOTTE_WASM__", &format!("/assets/{wasm_name}"));
        let mut files = HashMap::new();
        files.insert(
            glue_name,
            Asset {
                bytes: glue.into(),
                content_type: "text/javascript; charset=utf-8",
            },
        );
        files.insert(
            wasm_name,
            Asset {
                bytes: wasm.into(),
                content_type: "application/wasm",
            },
        );
        Ok(BannerAssets { loader, files })
    }
}
