//! Text split at an ASCII separator, byte by byte: what `str::split` and `str::split_once` give
//! for such a separator, without core's character searcher, which the banner's wasm would
//! otherwise carry (about 520 B of brotli wasm: every split in the engine's path goes through
//! here). Splitting at an ASCII byte always cuts at a character boundary, since no byte of a
//! multi-byte UTF-8 character is ASCII.

/// The byte of an ASCII separator; a non-ASCII one fails to compile where it is a constant.
pub const fn ascii(separator: char) -> u8 {
    assert!(separator.is_ascii(), "a separator must be ASCII");
    separator as u8
}

/// The parts of `text` between the ASCII byte `separator`, as `text.split(separator)` gives
/// them: an empty text is one empty part.
pub fn fields(text: &str, separator: u8) -> Fields<'_> {
    Fields {
        rest: Some(text),
        separator,
    }
}

/// The iterator of [`fields`].
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Fields<'a> {
    /// What follows the parts read so far, when the last one ended at a separator: after `n`
    /// parts, what `text.splitn(n + 1, separator)` gives last; after one, the second half of
    /// `split_once`.
    pub fn remainder(&self) -> Option<&'a str> {
        self.rest
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == self.separator) {
            Some(at) => {
                self.rest = rest.get(at + 1..);
                rest.get(..at)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::prelude::*;

    #[test]
    fn parts_are_those_of_str_split_for_every_ascii_separator() {
        let texts = [
            "",
            "a",
            ";",
            ";;",
            "a;b",
            ";a;",
            "é;ü;€;",
            "\u{1e}x\u{1f}y\u{1e}",
            "k=v=w",
            "no separator at all",
        ];
        for text in texts {
            for sep in [';', '=', ' ', '\u{1e}', '\u{1f}', '|', '.'] {
                let ours: Vec<&str> = fields(text, ascii(sep)).collect();
                let core: Vec<&str> = text.split(sep).collect();
                assert_eq!(ours, core, "{text:?} at {sep:?}");
                let mut once = fields(text, ascii(sep));
                let first = once.next().unwrap_or_default();
                assert_eq!(
                    once.remainder().map(|rest| (first, rest)),
                    text.split_once(sep),
                    "{text:?} once at {sep:?}"
                );
                for n in 0..4 {
                    let mut ours = fields(text, ascii(sep));
                    let taken: Vec<&str> = ours.by_ref().take(n).collect();
                    let mut core: Vec<&str> = text.splitn(n + 1, sep).collect();
                    let rest = (core.len() > n).then(|| core.pop()).flatten();
                    assert_eq!(
                        (taken, ours.remainder()),
                        (core, rest),
                        "{text:?} {n} at {sep:?}"
                    );
                }
            }
        }
    }
}
