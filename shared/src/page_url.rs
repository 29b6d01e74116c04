//! The page a decision was made on, as the log keeps it: an http(s) address cut down to scheme,
//! host and path.
//!
//! Query strings, fragments, `;params` and `user:password@` can carry personal data or secrets,
//! so they are dropped. Anything that is not a web page's address is refused rather than
//! repaired, because a browser's `location.href` never looks like that: only a broken or hostile
//! client sends it.

use crate::error::FieldError;
#[allow(unused_imports)]
use crate::prelude::*;

/// The longest page URL kept, in characters.
///
/// A longer one is cut here rather than refused: the URL is context for the decision, and a
/// visitor's consent on a page with a very long path must still be logged. The cut falls on a
/// character boundary, and never inside a `%XX` escape.
pub const PAGE_URL_MAX_CHARS: usize = 2048;

fn refused(message: impl Into<String>) -> FieldError {
    FieldError::new("url", message)
}

/// Checks a page URL and keeps what the log may hold: `scheme://host[:port]/path`.
pub fn page_url(raw: &str) -> Result<String, FieldError> {
    if let Some((at, c)) = raw
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || c.is_whitespace())
    {
        return Err(refused(format!(
            "character {at} is U+{:04X}, a control or space character: send the page's address \
             as location.href writes it (percent-encoded)",
            u32::from(c)
        )));
    }
    if raw.contains('\\') {
        return Err(refused(
            "contains a backslash, which browsers read as '/': send location.href as it is",
        ));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => ("http", rest),
        _ => {
            return Err(refused(
                "must be an http:// or https:// address (the page's location.href); \
                 other schemes are not web pages",
            ));
        }
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    // `user:password@` goes: the last `@` ends it, as in browsers.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err(refused(
            "has no host: send the page's location.href, like https://www.example.fr/page",
        ));
    }
    // Names, IPv4 and IPv6 addresses and a port: browsers never write anything else there.
    if !host
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '[' | ']'))
    {
        return Err(refused(
            "the host holds a character no host name has: send the page's location.href",
        ));
    }
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let path = after.get(..path_end).unwrap_or_default();
    let mut kept = String::with_capacity(raw.len().min(PAGE_URL_MAX_CHARS * 4));
    kept.push_str(scheme);
    kept.push_str("://");
    kept.push_str(host);
    if path.is_empty() {
        kept.push('/');
    }
    // `;params` belong to each path segment (`/a;jsessionid=1/b`): keep the segments, drop them.
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            kept.push('/');
        }
        kept.push_str(segment.split(';').next().unwrap_or_default());
    }
    Ok(cut(kept))
}

/// Cuts to [`PAGE_URL_MAX_CHARS`] characters, backing off from a split `%XX` escape.
fn cut(mut url: String) -> String {
    if let Some((at, _)) = url.char_indices().nth(PAGE_URL_MAX_CHARS) {
        url.truncate(at);
        // Percent escapes are ASCII, so the last two bytes are the last two characters.
        let tail = url.len().saturating_sub(2);
        if let Some(percent) = url.get(tail..).and_then(|t| t.find('%')) {
            url.truncate(tail + percent);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row: what was sent, and what is kept (`Err(())` for a refusal naming `url`).
    fn check(sent: &str, kept: Result<&str, ()>) {
        let got = page_url(sent);
        match (kept, &got) {
            (Ok(want), Ok(have)) => assert_eq!(have, want, "{sent:?}"),
            (Err(()), Err(e)) => assert_eq!(e.field, "url", "{sent:?}"),
            _ => panic!("{sent:?} gave {got:?}"),
        }
    }

    #[test]
    fn only_scheme_host_and_path_are_kept() {
        check("https://shop.example/a/b", Ok("https://shop.example/a/b"));
        check("https://shop.example", Ok("https://shop.example/"));
        check(
            "HTTPS://shop.example:8443/",
            Ok("https://shop.example:8443/"),
        );
        check(
            "https://shop.example/a?q=1#top",
            Ok("https://shop.example/a"),
        );
        check("https://shop.example#top", Ok("https://shop.example/"));
        check("https://shop.example?x=a/b", Ok("https://shop.example/"));
        check("https://u:p@shop.example/a", Ok("https://shop.example/a"));
        check("https://u@x@shop.example/", Ok("https://shop.example/"));
        check(
            "https://shop.example/a;jsessionid=1/b;v=2",
            Ok("https://shop.example/a/b"),
        );
        check("https://shop.example/a;x?q;y", Ok("https://shop.example/a"));
        check(
            "https://shop.example/d%C3%A9mo",
            Ok("https://shop.example/d%C3%A9mo"),
        );
        check(
            "https://boulangerie.example/démo",
            Ok("https://boulangerie.example/démo"),
        );
    }

    #[test]
    fn what_is_not_a_web_page_address_is_refused() {
        for sent in [
            "",
            "/relative/path",
            "shop.example/a",
            "javascript:alert(1)",
            "JavaScript://%0aalert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "ftp://shop.example/",
            "=HYPERLINK(\"https://evil.example\")",
            "https:///path",
            "https://:443/",
            "https://u:p@/",
            "https:/shop.example/",
            "https://shop.example/a b",
            "https://shop.example/\t=1",
            "https://shop.example/\u{0}",
            "https://shop.example/\u{7f}",
            "https://shop.example/\u{85}",
            "https://shop.example/\u{2028}",
            " https://shop.example/",
            "https://evil.example\\@shop.example/",
            "https://shop.example;x/",
            "https://shop.example%2F/",
            "https://<script>/",
        ] {
            check(sent, Err(()));
        }
    }

    #[test]
    fn a_long_url_is_cut_on_a_character_boundary_and_outside_an_escape() {
        // An odd prefix puts byte 2,048 inside a two-byte character.
        let long = format!("https://a.example/p{}", "é".repeat(3_000));
        let kept = page_url(&long).expect("kept");
        assert_eq!(kept.chars().count(), PAGE_URL_MAX_CHARS);
        assert!(long.starts_with(&kept));

        let prefix = "https://a.example/";
        for shift in 0..3 {
            let long = format!("{prefix}{}{}", "a".repeat(shift), "%C3%A9".repeat(1_000));
            let kept = page_url(&long).expect("kept");
            assert!(kept.chars().count() <= PAGE_URL_MAX_CHARS);
            assert!(kept.chars().count() >= PAGE_URL_MAX_CHARS - 2);
            assert!(long.starts_with(&kept));
            assert_eq!(
                kept.rsplit('%').next().map(str::len),
                Some(2),
                "ends on a whole escape: {}",
                &kept[kept.len() - 8..]
            );
        }
    }

    #[test]
    fn what_is_kept_is_short_enough_and_starts_like_a_web_page() {
        use proptest::prelude::*;
        proptest!(|(raw in any::<String>(), path in "\\PC{0,3000}")| {
            for sent in [raw.clone(), format!("https://shop.example/{path}")] {
                if let Ok(kept) = page_url(&sent) {
                    prop_assert!(kept.chars().count() <= PAGE_URL_MAX_CHARS);
                    prop_assert!(kept.starts_with("http://") || kept.starts_with("https://"));
                    prop_assert!(!kept.contains(['?', '#', ';', '\\']), "{}", kept);
                    prop_assert!(!kept.chars().any(|c| c.is_control() || c.is_whitespace()));
                    prop_assert_eq!(page_url(&kept), Ok(kept.clone()), "idempotent");
                }
            }
        });
    }
}
