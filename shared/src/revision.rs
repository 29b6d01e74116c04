//! The revision of a published configuration: a content hash, so that any change to a text, a
//! service, a cookie declaration or the banner's own words is a new revision, and a proof can
//! name exactly what was shown.
//!
//! How the hash is made is versioned ([`Recipe`]): each published revision is stored with the
//! recipe that made it, so a revision stored before a new recipe keeps its meaning and still
//! matches its configuration.

use crate::config::SiteConfig;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::words::BannerWords;
use core::fmt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first 128 bits of SHA-256 over what a [`Recipe`] covers, in lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revision(String);

/// How a revision is computed; written as its number (`"recipe": 2`).
///
/// In both, "canonical JSON" is serde_json's compact output: no whitespace, struct fields in
/// declaration order, lists in order, strings escaping only `"`, `\` and control characters.
/// - 1: the configuration's canonical JSON. It leaves the banner's built-in words out.
/// - 2: the canonical JSON of `{"recipe":2,"config":<config>,"words":{"fr":<words>,"en":<words>}}`,
///   where the words are the banner's own ([`BannerWords`]), so the revision covers every text
///   the visitor can read. A revision made by it keeps its words beside its configuration.
///   Revisions of recipe 2 kept a lifetime's word in its plural form only (`days`).
/// - 3: the canonical JSON of `{"recipe":3,"config":<config>,"words":{"fr":<words>,"en":<words>}}`:
///   recipe 2's form, with every word of the banner, the singular of a lifetime's word (`day`)
///   among them. Its configurations may give a service's name and provider and a cookie's
///   purpose per language (`{"fr":…,"en":…}`, [`crate::config::Localizable`]) where recipes 1
///   and 2 only knew one string, which all three write as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Recipe {
    V1,
    V2,
    V3,
}

impl Recipe {
    /// The recipe of new publications.
    pub const CURRENT: Recipe = Recipe::V3;

    pub const fn number(self) -> u8 {
        match self {
            Recipe::V1 => 1,
            Recipe::V2 => 2,
            Recipe::V3 => 3,
        }
    }

    /// The revision of `config` shown with `words` under this recipe (recipe 1 leaves the words
    /// out).
    pub fn revision_of(self, config: &SiteConfig, words: &BannerWords) -> Revision {
        Revision::hash(&self.covered(config, words))
    }

    /// The full SHA-256 of what this recipe covers, of which a revision is the first 128 bits:
    /// what a revision leaf of the transparency log records (`crate::leaf`).
    pub fn content_hash(self, config: &SiteConfig, words: &BannerWords) -> [u8; 32] {
        Sha256::digest(self.covered(config, words)).into()
    }

    /// The bytes this recipe hashes.
    fn covered(self, config: &SiteConfig, words: &BannerWords) -> Vec<u8> {
        match self {
            Recipe::V1 => serde_json::to_vec(config).unwrap_or_default(),
            Recipe::V2 | Recipe::V3 => {
                // Field order here is the hash input's field order.
                #[derive(Serialize)]
                struct Covered<'a> {
                    recipe: u8,
                    config: &'a SiteConfig,
                    words: &'a BannerWords,
                }
                let covered = Covered {
                    recipe: self.number(),
                    config,
                    words,
                };
                serde_json::to_vec(&covered).unwrap_or_default()
            }
        }
    }
}

impl From<Recipe> for u8 {
    fn from(recipe: Recipe) -> u8 {
        recipe.number()
    }
}

impl TryFrom<u8> for Recipe {
    type Error = UnknownRecipe;

    fn try_from(n: u8) -> Result<Recipe, UnknownRecipe> {
        match n {
            1 => Ok(Recipe::V1),
            2 => Ok(Recipe::V2),
            3 => Ok(Recipe::V3),
            _ => Err(UnknownRecipe(n)),
        }
    }
}

/// A recipe number this build does not know: written by a newer Biscotte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownRecipe(pub u8);

impl fmt::Display for UnknownRecipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "revision recipe {} is unknown to this version of Biscotte (it knows 1, 2 and 3): upgrade it",
            self.0
        )
    }
}

impl Revision {
    pub const LEN: usize = 32;

    /// The revision of `config` with this release's words, under the recipe of new
    /// publications ([`Recipe::CURRENT`]).
    pub fn of(config: &SiteConfig) -> Revision {
        Recipe::CURRENT.revision_of(config, &BannerWords::built_in())
    }

    fn hash(canonical: &[u8]) -> Revision {
        let digest = Sha256::digest(canonical);
        Revision(hex(digest.get(..Self::LEN / 2).unwrap_or_default()))
    }

    /// Accepts only what a [`Recipe`] produces.
    pub fn parse(s: &str) -> Option<Revision> {
        (s.len() == Self::LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Revision(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Lang, SiteConfigInput};
    use crate::words::{Words, words};
    use alloc::borrow::Cow;

    fn config() -> SiteConfig {
        SiteConfig::parse(SiteConfigInput {
            publisher: "Boulangerie Biscotte".into(),
            policy_version: "2026-11".into(),
            policy_url: "/confidentialite.html".into(),
            categories: vec![],
            services: vec![],
            texts: Default::default(),
            banner: Default::default(),
        })
        .expect("valid")
    }

    #[test]
    fn recipes_2_and_3_change_when_a_built_in_word_changes() {
        let config = config();
        let today = BannerWords::built_in();
        assert_eq!(
            Recipe::CURRENT.revision_of(&config, &today),
            Revision::of(&config)
        );
        for recipe in [Recipe::V2, Recipe::V3] {
            let revision = recipe.revision_of(&config, &today);
            let reworded = BannerWords {
                en: Words {
                    always_on: Cow::Borrowed("Always active"),
                    ..words(Lang::En)
                },
                ..today.clone()
            };
            assert_ne!(recipe.revision_of(&config, &reworded), revision);
            let reworded = BannerWords {
                fr: Words {
                    day: Some(Cow::Borrowed("journée")),
                    ..words(Lang::Fr)
                },
                ..today.clone()
            };
            assert_ne!(recipe.revision_of(&config, &reworded), revision);
        }
        let reworded = BannerWords {
            fr: Words {
                close_refuses: Cow::Borrowed("refuser les cookies facultatifs"),
                ..words(Lang::Fr)
            },
            ..today.clone()
        };
        // Recipe 1 never covered them.
        assert_eq!(
            Recipe::V1.revision_of(&config, &reworded),
            Recipe::V1.revision_of(&config, &today)
        );
    }

    #[test]
    fn recipe_3_hashes_the_documented_json() {
        // The README tells auditors to hash exactly this text.
        let config = config();
        let canonical = [
            "{\"recipe\":3,\"config\":",
            &serde_json::to_string(&config).expect("JSON"),
            ",\"words\":{\"fr\":",
            &serde_json::to_string(&words(Lang::Fr)).expect("JSON"),
            ",\"en\":",
            &serde_json::to_string(&words(Lang::En)).expect("JSON"),
            "}}",
        ]
        .concat();
        assert_eq!(Revision::hash(canonical.as_bytes()), Revision::of(&config));
        assert!(
            canonical.contains(
                "\"words\":{\"fr\":{\"always_on\":\"Toujours actifs\",\"close_refuses\":"
            )
        );
        assert!(canonical.contains(
            "\"days\":\"jours\",\"escape_hint\":\"Échap\u{a0}: continuer sans accepter\",\"day\":\"jour\"}"
        ));
    }

    #[test]
    fn each_recipe_gives_another_revision_of_one_configuration() {
        let (config, words) = (config(), BannerWords::built_in());
        let revisions: Vec<Revision> = [Recipe::V1, Recipe::V2, Recipe::V3]
            .iter()
            .map(|recipe| recipe.revision_of(&config, &words))
            .collect();
        assert_ne!(revisions[0], revisions[1]);
        assert_ne!(revisions[1], revisions[2]);
        assert_ne!(revisions[0], revisions[2]);
    }

    #[test]
    fn a_recipe_is_written_as_its_number_and_an_unknown_one_is_refused() {
        assert_eq!(serde_json::to_string(&Recipe::V2).expect("JSON"), "2");
        assert_eq!(
            serde_json::from_str::<Recipe>("1").expect("known"),
            Recipe::V1
        );
        assert_eq!(
            serde_json::from_str::<Recipe>("3").expect("known"),
            Recipe::V3
        );
        let unknown = serde_json::from_str::<Recipe>("4").expect_err("unknown");
        assert!(unknown.to_string().contains("upgrade"), "{unknown}");
    }
}
