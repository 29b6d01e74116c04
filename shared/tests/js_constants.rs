//! `banner-wasm/js/constants.js`, the loader's copy of what it shares with Rust, is this test's
//! rendering of shared's constants, to the byte: the projection's format name, separators and
//! field positions (`projection::layout`), the consent rules' durations, the consent cookie's
//! name, Google Consent Mode's types and the decision methods. A constant changed in Rust fails
//! here until the file is written again:
//!
//! ```sh
//! BISCOTTE_WRITE=1 cargo test -p biscotte-shared --test js_constants
//! ```

use biscotte_shared::config::CONSENT_MODE_TYPES;
use biscotte_shared::projection::layout::{self, Text, category, cookie, head, service};
use biscotte_shared::projection::{FIELD_SEPARATOR, FORMAT, RECORD_SEPARATOR};
use biscotte_shared::rules::{CHOICE_VALIDITY_DAYS, COOKIE_MAX_DAYS};
use biscotte_shared::time::DAY_MS;
use biscotte_shared::{COOKIE_NAME, Method};
use std::path::PathBuf;

const FILE: &str = "banner-wasm/js/constants.js";
const REWRITE: &str = "BISCOTTE_WRITE=1 cargo test -p biscotte-shared --test js_constants";

/// A JavaScript string literal, in single quotes.
fn js(text: &str) -> String {
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\'' | '\\' => out.extend(['\\', c]),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The loader's name of each text of record 1: the names its modules import.
fn text_name(text: Text) -> &'static str {
    match text {
        Text::Title => "T_TITLE",
        Text::Body => "T_BODY",
        Text::AcceptAll => "T_ACCEPT",
        Text::RejectAll => "T_REJECT",
        Text::Customize => "T_CUSTOMIZE",
        Text::Save => "T_SAVE",
        Text::Close => "T_CLOSE",
        Text::CloseLabel => "T_CLOSE_LABEL",
        Text::Manage => "T_MANAGE",
        Text::PolicyLink => "T_POLICY",
        Text::AlwaysOn => "T_ALWAYS",
        Text::PrivacyPolicy => "T_PRIVACY",
        Text::Cookies => "T_COOKIES",
        Text::NoService => "T_NO_SERVICE",
        Text::RemovedByService => "T_BY_SERVICE",
        Text::EmbedBlocked => "T_EMBED",
        Text::EmbedAllow => "T_ALLOW",
        Text::EscapeHint => "T_ESCAPE",
    }
}

/// Every decision method, in the protocol's order. (The engine's `view::method` keeps a list of
/// its own, inline: a constant shared with it weighed 25 B more of brotli wasm.)
fn methods() -> [Method; 6] {
    let all = [
        Method::AcceptAll,
        Method::RejectAll,
        Method::Custom,
        Method::Close,
        Method::Gpc,
        Method::Embed,
    ];
    // A method added in Rust stops this from compiling until it is listed above.
    for method in all {
        match method {
            Method::AcceptAll
            | Method::RejectAll
            | Method::Custom
            | Method::Close
            | Method::Gpc
            | Method::Embed => {}
        }
    }
    all
}

/// One record's positions, by the loader's names: with those `named_before` (`KIND`), every field
/// of the record must have a name, once.
fn positions(names: &[(&str, usize)], named_before: &[usize], fields: usize) -> String {
    let mut taken: Vec<usize> = names.iter().map(|(_, at)| *at).collect();
    taken.extend(named_before);
    taken.sort_unstable();
    assert_eq!(
        taken,
        (0..fields).collect::<Vec<_>>(),
        "every field of the record, once each, needs a name in {FILE}: {names:?}"
    );
    let named: Vec<String> = names
        .iter()
        .map(|(name, at)| format!("{name} = {at}"))
        .collect();
    named.join(", ")
}

fn list(items: impl IntoIterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(js).collect();
    ["[", &quoted.join(", "), "]"].concat()
}

fn rendered() -> String {
    let texts: Vec<(&str, usize)> = Text::ALL
        .iter()
        .map(|t| (text_name(*t), *t as usize))
        .collect();
    let lines = [
        "// What the loader shares with Rust, written by shared/tests/js_constants.rs from shared's".to_owned(),
        "// constants: do not edit it by hand. After a change there, write it again with".to_owned(),
        format!("//   {REWRITE}"),
        "// (the test fails while this file is not what the Rust gives).".to_owned(),
        String::new(),
        "/** The projection's format name, its record and field separators, the separator of a list".to_owned(),
        " * field's items (shared/src/projection.rs, whose doc specifies the format). */".to_owned(),
        format!(
            "export var FORMAT = {}, RS = {}, FS = {}, LIST = {};",
            js(FORMAT),
            js(&RECORD_SEPARATOR.to_string()),
            js(&FIELD_SEPARATOR.to_string()),
            js(layout::LIST_SEPARATOR),
        ),
        "/** Record 0, the head, by position. */".to_owned(),
        format!(
            "export var {};",
            positions(
                &[
                    ("H_FORMAT", head::FORMAT),
                    ("H_SITE", head::SITE),
                    ("H_REVISION", head::REVISION),
                    ("H_POLICY_VERSION", head::POLICY_VERSION),
                    ("H_LANG", head::LANG),
                    ("H_POLICY_URL", head::POLICY_URL),
                    ("H_MANAGE_BUTTON", head::MANAGE_BUTTON),
                ],
                &[],
                head::FIELDS
            )
        ),
        format!(
            "/** The texts (record 1), by position: {} of them. */",
            layout::TEXTS
        ),
        format!("export var {};", positions(&texts, &[], layout::TEXTS)),
        "/** The records after the texts: a category's or a service's, told by the field at KIND. */".to_owned(),
        format!("export var KIND = {};", layout::KIND),
        "/** A category's record, by position; a flag is true when its field is not empty. */"
            .to_owned(),
        format!(
            "export var C_TAG = {}, {}, C_FIELDS = {};",
            js(category::TAG),
            positions(
                &[
                    ("C_ID", category::ID),
                    ("C_REQUIRED", category::REQUIRED),
                    ("C_TITLE", category::TITLE),
                    ("C_DESCRIPTION", category::DESCRIPTION),
                ],
                &[layout::KIND],
                category::FIELDS
            ),
            category::FIELDS
        ),
        "/** A service's record, by position: S_FIELDS fields, then K_FIELDS per declared cookie (K_*,"
            .to_owned(),
        " * counted from the cookie's first). */".to_owned(),
        format!(
            "export var S_TAG = {}, {}, S_FIELDS = {};",
            js(service::TAG),
            positions(
                &[
                    ("S_ID", service::ID),
                    ("S_CATEGORY", service::CATEGORY),
                    ("S_NAME", service::NAME),
                    ("S_PROVIDER", service::PROVIDER),
                    ("S_POLICY_URL", service::POLICY_URL),
                    ("S_CONSENT_MODE", service::CONSENT_MODE),
                    ("S_STORAGE", service::STORAGE),
                ],
                &[layout::KIND],
                service::FIELDS
            ),
            service::FIELDS
        ),
        format!(
            "export var {}, K_FIELDS = {};",
            positions(
                &[
                    ("K_NAME", cookie::NAME),
                    ("K_LIFETIME", cookie::LIFETIME),
                    ("K_PURPOSE", cookie::PURPOSE),
                    ("K_HIDDEN", cookie::HIDDEN),
                ],
                &[],
                cookie::FIELDS
            ),
            cookie::FIELDS
        ),
        "/** The consent cookie's name (shared/src/cookie.rs). */".to_owned(),
        format!("export var COOKIE_NAME = {};", js(COOKIE_NAME)),
        "/** Milliseconds in a day; a choice holds 182 days; no managed cookie lives past 395 days (13".to_owned(),
        " * months) (shared/src/rules.rs). */".to_owned(),
        format!(
            "export var DAY_MS = {DAY_MS}, CHOICE_DAYS = {CHOICE_VALIDITY_DAYS}, COOKIE_MAX_DAYS = {COOKIE_MAX_DAYS};"
        ),
        "/** Google Consent Mode v2's types a service may declare; `security_storage` is always granted".to_owned(),
        " * (shared/src/config.rs). */".to_owned(),
        format!("export var MODES = {};", list(CONSENT_MODE_TYPES)),
        "/** The decision methods, as the protocol names them (shared/src/decision.rs). */".to_owned(),
        format!(
            "export var METHODS = {};",
            list(methods().map(Method::as_str))
        ),
    ];
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn the_loaders_constants_are_what_rust_says() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(FILE);
    let expected = rendered();
    if std::env::var_os("BISCOTTE_WRITE").is_some() {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("writing {FILE}: {e}"));
    }
    let found = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {FILE}: {e}"));
    if found != expected {
        let (have, want): (Vec<&str>, Vec<&str>) =
            (found.lines().collect(), expected.lines().collect());
        panic!(
            "{FILE} is not what shared's constants give (- the file, + what Rust gives):\n{}\nWrite it again with:\n  {REWRITE}",
            diff(&have, &want)
        );
    }
}

/// The lines to take out of `old` (`-`) and put in (`+`) to make `new`, by their longest common
/// subsequence.
fn diff(old: &[&str], new: &[&str]) -> String {
    let (n, m) = (old.len(), new.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            out.push_str(&format!("- {}\n", old[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", new[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn a_javascript_literal_escapes_quotes_backslashes_and_control_characters() {
    assert_eq!(js("a'b\\c\u{1e}é"), "'a\\'b\\\\c\\x1eé'");
}

#[test]
fn the_diff_names_the_lines_taken_out_and_put_in() {
    assert_eq!(
        diff(&["a", "b", "c"], &["a", "x", "c", "d"]),
        "- b\n+ x\n+ d\n"
    );
}
