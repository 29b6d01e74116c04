//! The banner's projections of live revisions (`biscotte_shared::projection`), and the sites'
//! loaders that carry them (`/sites/{site}/biscotte.js`), each computed and compressed (brotli 11,
//! gzip 9) once per site, revision and language and then served from memory: published revisions never change, and a new publication is a new revision, so an entry
//! is never stale, only replaced. Compressed once at the highest quality, every visitor gets the
//! smallest bytes rather than what a per-request compressor can afford.

use crate::assets::{Asset, BannerAssets, SITE_MARK};
use actix_web::web::Bytes;
use biscotte_shared::api::PublishedConfig;
use biscotte_shared::{Lang, Revision, projection};
use std::collections::HashMap;
use std::sync::RwLock;

/// One entry per site: the projections of its live revision, made on first request per language.
/// Earlier revisions are dropped when a later one is asked for, so memory follows the number of
/// sites, not of publications.
#[derive(Debug, Default)]
pub struct Projections {
    by_site: RwLock<HashMap<String, Live>>,
}

#[derive(Debug)]
struct Live {
    revision: Revision,
    projection: [Option<Asset>; 2],
    loader: [Option<Asset>; 2],
}

impl Live {
    fn new(revision: &Revision) -> Live {
        Live {
            revision: revision.clone(),
            projection: Default::default(),
            loader: Default::default(),
        }
    }

    fn slot(&mut self, kind: Kind, lang: Lang) -> &mut Option<Asset> {
        let [fr, en] = match kind {
            Kind::Projection => &mut self.projection,
            Kind::Loader => &mut self.loader,
        };
        match lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn made(&self, kind: Kind, lang: Lang) -> Option<&Asset> {
        let [fr, en] = match kind {
            Kind::Projection => &self.projection,
            Kind::Loader => &self.loader,
        };
        match lang {
            Lang::Fr => fr.as_ref(),
            Lang::En => en.as_ref(),
        }
    }
}

/// What is made from a live revision: its projection, or the site's loader carrying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Projection,
    Loader,
}

/// `text` as a JavaScript string literal. Only `"`, `\\` and line terminators need escaping; the
/// projection's separators (U+001E, U+001F) stay single bytes, as they are in the projection.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The site's loader: the generic one with, in place of [`SITE_MARK`], the site's id, the language
/// and projection of `published` for `lang`, and whether a returning visitor's gated scripts wait
/// for the revision check (`[consent.banner] wait_for_check`).
pub fn site_loader(template: &str, published: &PublishedConfig, lang: Lang) -> String {
    let data = format!(
        "{{s:{},l:{},p:{},w:{}}}",
        js_string(&published.site),
        js_string(lang.code()),
        js_string(&projection::encode_published(published, lang)),
        u8::from(published.config.banner.wait_for_check),
    );
    template.replacen(SITE_MARK, &data, 1)
}

impl Projections {
    /// The projection of `published` for `lang`.
    pub fn get(&self, published: &PublishedConfig, lang: Lang) -> Asset {
        self.made(published, lang, Kind::Projection, || {
            Asset::compressed(
                Bytes::from(projection::encode_published(published, lang)),
                "text/plain; charset=utf-8",
            )
        })
    }

    /// The site's loader for `published` in `lang`, made from `banner`'s build.
    pub fn loader(&self, published: &PublishedConfig, lang: Lang, banner: &BannerAssets) -> Asset {
        self.made(published, lang, Kind::Loader, || {
            Asset::compressed(
                Bytes::from(site_loader(&banner.template, published, lang)),
                "text/javascript; charset=utf-8",
            )
        })
    }

    fn made(
        &self,
        published: &PublishedConfig,
        lang: Lang,
        kind: Kind,
        make: impl FnOnce() -> Asset,
    ) -> Asset {
        {
            // No code panics while holding the lock; a poisoned one still holds whole entries.
            let by_site = self.by_site.read().unwrap_or_else(|p| p.into_inner());
            if let Some(live) = by_site.get(&published.site)
                && live.revision == published.revision
                && let Some(body) = live.made(kind, lang)
            {
                return body.clone();
            }
        }
        let body = make();
        let mut by_site = self.by_site.write().unwrap_or_else(|p| p.into_inner());
        let live = by_site
            .entry(published.site.clone())
            .or_insert_with(|| Live::new(&published.revision));
        if live.revision != published.revision {
            // A request still holding the previous revision may swap it back for a moment; the
            // next request for the live one swaps it again. Either way each answer is its own
            // revision's projection.
            *live = Live::new(&published.revision);
        }
        *live.slot(kind, lang) = Some(body.clone());
        body
    }
}
