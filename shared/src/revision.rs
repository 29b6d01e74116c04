//! The revision of a published configuration: a content hash, so that any change to a text, a
//! service, a cookie declaration or the banner's own words is a new revision, and a proof can
//! name exactly what was shown.
//!
//! How the hash is made is versioned ([`Recipe`]): each published revision is stored with the
//! recipe that made it, so a revision stored before a new recipe keeps its meaning and still
//! matches its configuration.

use crate::config::{Lang, SiteConfig};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::words::{Words, words};
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
///   where the words are [`Words`] for each language, so the revision covers every text the
///   visitor can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Recipe {
    V1,
    V2,
}

impl Recipe {
    /// The recipe of new publications.
    pub const CURRENT: Recipe = Recipe::V2;

    pub const fn number(self) -> u8 {
        match self {
            Recipe::V1 => 1,
            Recipe::V2 => 2,
        }
    }

    /// The revision of `config` under this recipe.
    pub fn revision_of(self, config: &SiteConfig) -> Revision {
        match self {
            Recipe::V1 => Revision::hash(&serde_json::to_vec(config).unwrap_or_default()),
            Recipe::V2 => v2(config, &words(Lang::Fr), &words(Lang::En)),
        }
    }
}

/// Recipe 2 over given words: the built-in ones in [`Recipe::revision_of`], others in tests.
fn v2(config: &SiteConfig, fr: &Words, en: &Words) -> Revision {
    // Field order here is the hash input's field order.
    #[derive(Serialize)]
    struct Covered<'a> {
        recipe: u8,
        config: &'a SiteConfig,
        words: WordsByLang<'a>,
    }
    #[derive(Serialize)]
    struct WordsByLang<'a> {
        fr: &'a Words,
        en: &'a Words,
    }
    let covered = Covered {
        recipe: Recipe::V2.number(),
        config,
        words: WordsByLang { fr, en },
    };
    Revision::hash(&serde_json::to_vec(&covered).unwrap_or_default())
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
            "revision recipe {} is unknown to this version of Biscotte (it knows 1 and 2): upgrade it",
            self.0
        )
    }
}

impl Revision {
    pub const LEN: usize = 32;

    /// The revision of `config` under the recipe of new publications, [`Recipe::CURRENT`].
    pub fn of(config: &SiteConfig) -> Revision {
        Recipe::CURRENT.revision_of(config)
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
    use crate::config::SiteConfigInput;

    fn config() -> SiteConfig {
        SiteConfig::parse(SiteConfigInput {
            publisher: "Boulangerie Biscotte".into(),
            policy_version: "2026-11".into(),
            policy_url: "/confidentialite.html".into(),
            categories: vec![],
            services: vec![],
            texts: Default::default(),
        })
        .expect("valid")
    }

    #[test]
    fn recipe_2_changes_when_a_built_in_word_changes() {
        let config = config();
        let (fr, en) = (words(Lang::Fr), words(Lang::En));
        let today = v2(&config, &fr, &en);
        assert_eq!(today, Revision::of(&config));
        let reworded = Words {
            always_on: "Always active",
            ..en
        };
        assert_ne!(v2(&config, &fr, &reworded), today);
        let reworded = Words {
            close_refuses: "refuser les cookies facultatifs",
            ..fr
        };
        assert_ne!(v2(&config, &reworded, &en), today);
    }

    #[test]
    fn recipe_2_hashes_the_documented_json() {
        // The README tells auditors to hash exactly this text.
        let config = config();
        let (fr, en) = (words(Lang::Fr), words(Lang::En));
        let canonical = [
            "{\"recipe\":2,\"config\":",
            &serde_json::to_string(&config).expect("JSON"),
            ",\"words\":{\"fr\":",
            &serde_json::to_string(&fr).expect("JSON"),
            ",\"en\":",
            &serde_json::to_string(&en).expect("JSON"),
            "}}",
        ]
        .concat();
        assert_eq!(Revision::hash(canonical.as_bytes()), Revision::of(&config));
        assert!(
            canonical.contains(
                "\"words\":{\"fr\":{\"always_on\":\"Toujours actifs\",\"close_refuses\":"
            )
        );
    }

    #[test]
    fn the_two_recipes_give_different_revisions_of_one_configuration() {
        let config = config();
        assert_ne!(
            Recipe::V1.revision_of(&config),
            Recipe::V2.revision_of(&config)
        );
    }

    #[test]
    fn a_recipe_is_written_as_its_number_and_an_unknown_one_is_refused() {
        assert_eq!(serde_json::to_string(&Recipe::V2).expect("JSON"), "2");
        assert_eq!(
            serde_json::from_str::<Recipe>("1").expect("known"),
            Recipe::V1
        );
        let unknown = serde_json::from_str::<Recipe>("3").expect_err("unknown");
        assert!(unknown.to_string().contains("upgrade"), "{unknown}");
    }
}
