//! The first-party consent cookie `biscotte`: a compact, versioned encoding of a saved choice.
//!
//! `1|<consent id>|<revision>|<policy version>|<unix seconds>|<accepted categories>|<refused
//! categories>|<accepted services>|<refused services>`, lists joined with `.`; every character is
//! a valid cookie octet, so no escaping is needed. Decoding is strict: anything unexpected is an
//! error, which the rules read as "ask again" — never as consent.

use crate::config::{is_valid_id, is_valid_policy_version};
use crate::decision::Answers;
use crate::decision::{Choices, is_valid_consent_id};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::Revision;
use crate::time::Timestamp;

pub const COOKIE_NAME: &str = "biscotte";
pub const FORMAT_VERSION: &str = "1";

/// What the consent cookie remembers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedConsent {
    pub consent_id: String,
    pub revision: Revision,
    pub policy_version: String,
    pub decided_at: Timestamp,
    pub choices: Choices,
}

/// The cookie could not be read; the visitor must be asked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Garbled;

impl SavedConsent {
    pub fn encode(&self) -> String {
        // Written into one string rather than joined: the banner's wasm then carries no generic
        // join code.
        let mut out = String::from(FORMAT_VERSION);
        for field in [
            &self.consent_id,
            self.revision.as_str(),
            &self.policy_version,
            &crate::time::decimal(self.decided_at.as_secs()),
        ] {
            out.push('|');
            out.push_str(field);
        }
        let c = &self.choices;
        for (answers, value) in [
            (&c.categories, true),
            (&c.categories, false),
            (&c.services, true),
            (&c.services, false),
        ] {
            out.push('|');
            let mut first = true;
            for (id, _) in answers.iter().filter(|(_, v)| **v == value) {
                if !first {
                    out.push('.');
                }
                out.push_str(id);
                first = false;
            }
        }
        out
    }

    pub fn decode(value: &str) -> Result<SavedConsent, Garbled> {
        let fields: Vec<&str> = crate::fields::fields(value, b'|').collect();
        let [
            version,
            consent_id,
            revision,
            policy_version,
            secs,
            cat_yes,
            cat_no,
            svc_yes,
            svc_no,
        ] = fields[..]
        else {
            return Err(Garbled);
        };
        if version != FORMAT_VERSION
            || !is_valid_consent_id(consent_id)
            || !is_valid_policy_version(policy_version)
        {
            return Err(Garbled);
        }
        let revision = Revision::parse(revision).ok_or(Garbled)?;
        if secs.is_empty() {
            return Err(Garbled);
        }
        // Digits only, read by hand: `str::parse` would bring its generic integer reader into
        // the banner's wasm for this one field.
        let secs = secs.bytes().try_fold(0i64, |n, b| {
            let digit = b.checked_sub(b'0').filter(|d| *d < 10).ok_or(Garbled)?;
            n.checked_mul(10)
                .and_then(|n| n.checked_add(i64::from(digit)))
                .ok_or(Garbled)
        })?;
        let parse_list = |list: &str, value: bool, target: &mut Answers| -> Result<(), Garbled> {
            if list.is_empty() {
                return Ok(());
            }
            for id in crate::fields::fields(list, b'.') {
                if !is_valid_id(id) || target.insert(id.to_owned(), value).is_some() {
                    return Err(Garbled);
                }
            }
            Ok(())
        };
        let mut choices = Choices::default();
        parse_list(cat_yes, true, &mut choices.categories)?;
        parse_list(cat_no, false, &mut choices.categories)?;
        parse_list(svc_yes, true, &mut choices.services)?;
        parse_list(svc_no, false, &mut choices.services)?;
        let saved = SavedConsent {
            consent_id: consent_id.to_owned(),
            revision,
            policy_version: policy_version.to_owned(),
            decided_at: Timestamp::from_secs(secs),
            choices,
        };
        // Only the canonical spelling is accepted (sorted lists, no leading zeros): one value,
        // one meaning, so nothing hand-edited or half-written is read leniently.
        if saved.encode() != value {
            return Err(Garbled);
        }
        Ok(saved)
    }
}
