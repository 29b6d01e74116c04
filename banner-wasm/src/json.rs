//! Writes the JSON the banner sends (a decision, the consent summary) by hand: serde_json's
//! serializer would ship its error and number formatting to every visitor for two small objects.

use crate::prelude::*;
use biscotte_shared::decision::Answers;

/// A JSON object written field by field, in the order the fields are given.
#[derive(Debug)]
pub struct JsonObject(String);

impl JsonObject {
    pub fn new() -> JsonObject {
        JsonObject(String::from("{"))
    }

    pub fn string(mut self, key: &str, value: &str) -> JsonObject {
        self.key(key);
        push_string(&mut self.0, value);
        self
    }

    /// A string, or `null`.
    pub fn nullable(mut self, key: &str, value: Option<&str>) -> JsonObject {
        match value {
            Some(value) => self.string(key, value),
            None => {
                self.key(key);
                self.0.push_str("null");
                self
            }
        }
    }

    /// A map of ids to answers: `{"analytics":true,…}`.
    pub fn answers(mut self, key: &str, answers: &Answers) -> JsonObject {
        self.key(key);
        let mut inner = JsonObject::new();
        for (id, answer) in answers {
            inner.key(id);
            inner.0.push_str(if *answer { "true" } else { "false" });
        }
        self.0.push_str(&inner.finish());
        self
    }

    /// The words of `spaced` (separated by single spaces) as an array of strings; nothing at
    /// all when there are none, as serde skips an empty list.
    pub fn words(mut self, key: &str, spaced: &str) -> JsonObject {
        if !spaced.is_empty() {
            self.key(key);
            let mut sep = "[";
            for word in biscotte_shared::fields::fields(spaced, b' ') {
                self.0.push_str(sep);
                push_string(&mut self.0, word);
                sep = ",";
            }
            self.0.push(']');
        }
        self
    }

    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_string(&mut self.0, key);
        self.0.push(':');
    }
}

impl Default for JsonObject {
    fn default() -> JsonObject {
        JsonObject::new()
    }
}

/// A JSON string literal: quotes and backslashes escaped, control characters as `\u00XX`.
fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0'..='\u{1f}' => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_exactly_whatever_they_hold() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "line\nbreak\ttab\u{0}\u{1f}",
            "é — 🍪 \u{2028}",
            "</script>",
        ] {
            let json = JsonObject::new().string("k", s).finish();
            let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            assert_eq!(back["k"], s, "{json}");
        }
    }

    #[test]
    fn objects_keep_their_field_order_and_nest_answers() {
        let answers: Answers = [("b".to_owned(), false), ("a".to_owned(), true)]
            .into_iter()
            .collect();
        let json = JsonObject::new()
            .nullable("method", None)
            .answers("categories", &answers)
            .answers("services", &Answers::new())
            .finish();
        assert_eq!(
            json,
            r#"{"method":null,"categories":{"a":true,"b":false},"services":{}}"#
        );
    }
}
