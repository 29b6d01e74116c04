//! The banner's own words, beside the site owner's texts: the same for every site of a release,
//! covered by the revision (recipe 2 on) and kept with each published revision, so that a proof names
//! them too and a later release that rewords them does not change what a revision showed.

use crate::config::Lang;
#[allow(unused_imports)]
use crate::prelude::*;
use alloc::borrow::Cow;
use serde::{Deserialize, Serialize};

/// Words of the banner's own in one language. Their JSON (fields in this order) is part of what
/// a revision hashes: adding, renaming or rewording one makes new revisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    /// Beside a required category's switch.
    pub always_on: Cow<'static, str>,
    /// Completes the close control's accessible name: closing refuses.
    pub close_refuses: Cow<'static, str>,
    /// The link to a service provider's privacy policy.
    pub privacy_policy: Cow<'static, str>,
    /// Before a service's cookie names.
    pub cookies: Cow<'static, str>,
    /// Under a category that holds no service.
    pub no_service: Cow<'static, str>,
    // The words below came with the banner's per-service panel and embeds. Revisions published
    // before them kept none, so they are optional and left out of the JSON when absent: such a
    // revision keeps its hash, and is shown with this release's words for them
    // ([`Words::completed`]), which its hash never covered.
    /// Beside a cookie the page cannot see (HttpOnly or third-party), which the banner cannot
    /// delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by_service: Option<Cow<'static, str>>,
    /// In an embed's placeholder: why the content is not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_blocked: Option<Cow<'static, str>>,
    /// The placeholder's button, followed by the service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_allow: Option<Cow<'static, str>>,
    /// After a cookie's lifetime, for a count that takes the plural ([`Lang::is_plural`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Cow<'static, str>>,
    /// On the first layer: what Escape does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape_hint: Option<Cow<'static, str>>,
    // Kept from recipe 3 on: revisions of recipe 2 kept `days` alone, and are shown with this
    // release's singular.
    /// After a cookie's lifetime, for a count that takes the singular: `1 day`, « 0 jour ».
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<Cow<'static, str>>,
}

/// This release's words in `lang`.
pub const fn words(lang: Lang) -> Words {
    const fn w(s: &'static str) -> Cow<'static, str> {
        Cow::Borrowed(s)
    }
    const fn added(s: &'static str) -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(s))
    }
    match lang {
        Lang::Fr => Words {
            always_on: w("Toujours actifs"),
            close_refuses: w("refuser tous les cookies facultatifs"),
            privacy_policy: w("Politique de confidentialité"),
            cookies: w("Cookies\u{a0}:"),
            no_service: w("Aucun service de cette catégorie sur ce site."),
            removed_by_service: added("supprimé par le service lui-même"),
            embed_blocked: added(
                "Ce contenu est fourni par un service tiers qui dépose des cookies. Il reste bloqué tant que vous ne l'autorisez pas.",
            ),
            embed_allow: added("Autoriser"),
            days: added("jours"),
            escape_hint: added("Échap\u{a0}: continuer sans accepter"),
            day: added("jour"),
        },
        Lang::En => Words {
            always_on: w("Always on"),
            close_refuses: w("refuse all optional cookies"),
            privacy_policy: w("Privacy policy"),
            cookies: w("Cookies:"),
            no_service: w("No service of this kind on this site."),
            removed_by_service: added("removed by the service itself"),
            embed_blocked: added(
                "This content is provided by a third-party service that sets cookies. It stays blocked until you allow it.",
            ),
            embed_allow: added("Allow"),
            days: added("days"),
            escape_hint: added("Esc: continue without accepting"),
            day: added("day"),
        },
    }
}

impl Words {
    /// These words, with this release's in `lang` for any that were not kept (words added after
    /// the revision was published).
    pub fn completed(self, lang: Lang) -> Words {
        let release = words(lang);
        Words {
            removed_by_service: self.removed_by_service.or(release.removed_by_service),
            embed_blocked: self.embed_blocked.or(release.embed_blocked),
            embed_allow: self.embed_allow.or(release.embed_allow),
            days: self.days.or(release.days),
            escape_hint: self.escape_hint.or(release.escape_hint),
            day: self.day.or(release.day),
            ..self
        }
    }

    /// A cookie's lifetime as the panel shows it: the count, a no-break space (the count never
    /// ends a line), then `day` or `days` by `lang`'s plural rule: `1 day`, `0 days`, « 0 jour »,
    /// « 395 jours ». Words missing from a revision read as empty; [`Words::completed`] fills
    /// them in first.
    pub fn lifetime(&self, lang: Lang, days: u32) -> String {
        let word = if lang.is_plural(days.into()) {
            &self.days
        } else {
            &self.day
        };
        [&days.to_string(), "\u{a0}", word.as_deref().unwrap_or("")].concat()
    }

    /// The close control's accessible name: its visible text first (so voice control finds
    /// it), then what it does.
    pub fn close_label(&self, visible: &str) -> String {
        [visible, " (", &self.close_refuses, ")"].concat()
    }
}

/// The banner's words in every language it speaks, as a published revision keeps them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerWords {
    pub fr: Words,
    pub en: Words,
}

impl BannerWords {
    /// This release's words.
    pub const fn built_in() -> BannerWords {
        BannerWords {
            fr: words(Lang::Fr),
            en: words(Lang::En),
        }
    }

    pub fn get(&self, lang: Lang) -> &Words {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

/// The close control's accessible name: its visible text first (so voice control finds it), then
/// what it does.
pub fn close_label(lang: Lang, visible: &str) -> String {
    words(lang).close_label(visible)
}

/// A link the banner may render: web URLs and site paths only, never `javascript:` or `data:`.
pub fn web_link(url: &str) -> Option<&str> {
    let start = url.trim_start();
    let scheme = |prefix: &str| {
        start
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    (scheme("https://") || scheme("http://") || start.starts_with('/')).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_and_site_paths_are_rendered() {
        for (url, rendered) in [
            ("https://example.com/p", true),
            ("HTTP://example.com/p", true),
            ("  https://example.com/p", true),
            ("/demo/confidentialite.html", true),
            ("javascript:alert(1)", false),
            (" JavaScript:alert(1)", false),
            ("data:text/html,x", false),
            ("http:/example.com", false),
            ("", false),
            ("é", false),
        ] {
            assert_eq!(web_link(url), rendered.then_some(url), "{url:?}");
        }
    }

    #[test]
    fn a_lifetime_takes_the_singular_or_the_plural_by_the_rule_of_its_language() {
        for (lang, days, shown) in [
            (Lang::Fr, 0, "0\u{a0}jour"),
            (Lang::Fr, 1, "1\u{a0}jour"),
            (Lang::Fr, 2, "2\u{a0}jours"),
            (Lang::Fr, 395, "395\u{a0}jours"),
            (Lang::En, 0, "0\u{a0}days"),
            (Lang::En, 1, "1\u{a0}day"),
            (Lang::En, 2, "2\u{a0}days"),
            (Lang::En, 730, "730\u{a0}days"),
        ] {
            assert_eq!(words(lang).lifetime(lang, days), shown, "{lang:?} {days}");
        }
    }

    #[test]
    fn the_close_label_says_its_visible_text_then_that_closing_refuses() {
        assert_eq!(
            close_label(Lang::Fr, "Continuer sans accepter"),
            "Continuer sans accepter (refuser tous les cookies facultatifs)"
        );
        assert_eq!(
            close_label(Lang::En, "Continue without accepting"),
            "Continue without accepting (refuse all optional cookies)"
        );
    }
}
