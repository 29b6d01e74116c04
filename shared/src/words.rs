//! The banner's own words, beside the site owner's texts: the same in every site, and covered by
//! the revision (recipe 2) so that a proof names them too.

use crate::config::Lang;
#[allow(unused_imports)]
use crate::prelude::*;
use serde::Serialize;

/// Words of the banner's own in one language. Their JSON (fields in this order) is part of what
/// a revision hashes: adding, renaming or rewording one makes new revisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Words {
    /// Beside a required category's switch.
    pub always_on: &'static str,
    /// Completes the close control's accessible name: closing refuses.
    pub close_refuses: &'static str,
    /// The link to a service provider's privacy policy.
    pub privacy_policy: &'static str,
    /// Before a service's cookie names.
    pub cookies: &'static str,
    /// Under a category that holds no service.
    pub no_service: &'static str,
}

pub const fn words(lang: Lang) -> Words {
    match lang {
        Lang::Fr => Words {
            always_on: "Toujours actifs",
            close_refuses: "refuser tous les cookies facultatifs",
            privacy_policy: "Politique de confidentialité",
            cookies: "Cookies\u{a0}:",
            no_service: "Aucun service de cette catégorie sur ce site.",
        },
        Lang::En => Words {
            always_on: "Always on",
            close_refuses: "refuse all optional cookies",
            privacy_policy: "Privacy policy",
            cookies: "Cookies:",
            no_service: "No service of this kind on this site.",
        },
    }
}

/// The close control's accessible name: its visible text first (so voice control finds it), then
/// what it does.
pub fn close_label(lang: Lang, visible: &str) -> String {
    [visible, " (", words(lang).close_refuses, ")"].concat()
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
