//! The banner's projections of live revisions (`biscotte_shared::projection`), each computed and
//! compressed (brotli 11, gzip 9) once per site, revision and language and then served from
//! memory: published revisions never change, and a new publication is a new revision, so an entry
//! is never stale, only replaced. Compressed once at the highest quality, every visitor gets the
//! smallest bytes rather than what a per-request compressor can afford.

use crate::assets::Asset;
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
    fr: Option<Asset>,
    en: Option<Asset>,
}

impl Live {
    fn slot(&mut self, lang: Lang) -> &mut Option<Asset> {
        match lang {
            Lang::Fr => &mut self.fr,
            Lang::En => &mut self.en,
        }
    }
}

impl Projections {
    /// The projection of `published` for `lang`.
    pub fn get(&self, published: &PublishedConfig, lang: Lang) -> Asset {
        {
            // No code panics while holding the lock; a poisoned one still holds whole entries.
            let by_site = self.by_site.read().unwrap_or_else(|p| p.into_inner());
            if let Some(live) = by_site.get(&published.site)
                && live.revision == published.revision
            {
                let made = match lang {
                    Lang::Fr => &live.fr,
                    Lang::En => &live.en,
                };
                if let Some(body) = made {
                    return body.clone();
                }
            }
        }
        let body = Asset::compressed(
            Bytes::from(projection::encode_published(published, lang)),
            "text/plain; charset=utf-8",
        );
        let mut by_site = self.by_site.write().unwrap_or_else(|p| p.into_inner());
        let live = by_site
            .entry(published.site.clone())
            .or_insert_with(|| Live {
                revision: published.revision.clone(),
                fr: None,
                en: None,
            });
        if live.revision != published.revision {
            // A request still holding the previous revision may swap it back for a moment; the
            // next request for the live one swaps it again. Either way each answer is its own
            // revision's projection.
            *live = Live {
                revision: published.revision.clone(),
                fr: None,
                en: None,
            };
        }
        *live.slot(lang) = Some(body.clone());
        body
    }
}
