//! The service catalogue: ready-made declarations of common services (`catalogue/services.json`),
//! which a site file names with `use = "google_analytics"` and may override field by field.
//!
//! Publication resolves every entry into a complete [`Service`] before [`SiteConfig::parse`], so
//! the published configuration, and so its revision, holds exactly what the visitor is shown, and
//! a later catalogue that changes a lifetime changes no published revision.
//!
//! Only the server compiles this module (the crate's `catalogue` feature): the banner's wasm
//! cannot link the catalogue's kilobytes, because without the feature they do not exist.
//!
//! [`SiteConfig::parse`]: crate::SiteConfig::parse

use crate::config::{CookieDecl, Localizable, Service, SiteConfigInput};
use crate::error::FieldError;
#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::BTreeMap;
use serde::{Deserialize, Serialize};

/// The catalogue as it ships, in JSON.
pub const SOURCE: &str = include_str!("../catalogue/services.json");

/// The catalogue, read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// What the file is, for its readers.
    pub about: Vec<String>,
    /// Why a service declares no cookie and no storage key, by id.
    pub without_cookies: BTreeMap<String, String>,
    pub services: Vec<Service>,
}

impl Catalogue {
    /// The catalogue this release ships. Its tests read it, so an error here is a broken build.
    pub fn built_in() -> Result<Catalogue, String> {
        serde_json::from_str(SOURCE)
            .map_err(|e| format!("the built-in service catalogue does not read: {e}"))
    }

    pub fn get(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.id.as_str())
    }

    /// The ids closest to a mistyped one, closest first (at most 3).
    pub fn close_matches(&self, id: &str) -> Vec<&str> {
        let mut scored: Vec<(usize, &str)> = self
            .ids()
            .filter_map(|known| {
                let distance = edit_distance(id, known);
                let related = known.contains(id) || id.contains(known);
                (distance <= 3 || (related && !id.is_empty())).then_some((distance, known))
            })
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, known)| known).collect()
    }
}

/// Levenshtein distance over bytes: ids are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let best = (diagonal + usize::from(ca != cb)).min(up + 1).min(left + 1);
            diagonal = up;
            left = best;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = best;
            }
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// A `[[consent.services]]` entry of a site file: a catalogue service (`use`), with any field
/// overridden, or the site's own service with every field given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// The catalogue id this entry starts from.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Defaults to the catalogue id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Localizable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Localizable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
    /// Replaces the catalogue's list as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<CookieDecl>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_mode: Option<Vec<String>>,
}

impl From<Service> for ServiceEntry {
    fn from(s: Service) -> ServiceEntry {
        ServiceEntry {
            preset: None,
            id: Some(s.id),
            name: Some(s.name),
            provider: Some(s.provider),
            category: Some(s.category),
            privacy_policy_url: Some(s.privacy_policy_url),
            cookies: Some(s.cookies),
            storage: Some(s.storage),
            consent_mode: Some(s.consent_mode),
        }
    }
}

impl ServiceEntry {
    /// The complete service this entry declares (entry `index` of `services`); the errors name
    /// their fields from `services[index]`.
    pub fn resolve(self, index: usize, catalogue: &Catalogue) -> Result<Service, Vec<FieldError>> {
        let field = |name: &str| format!("services[{index}].{name}");
        let base = match &self.preset {
            Some(id) => match catalogue.get(id) {
                Some(service) => Some(service.clone()),
                None => {
                    let close = catalogue.close_matches(id);
                    let hint = if close.is_empty() {
                        String::new()
                    } else {
                        format!("did you mean {}? ", quoted(&close))
                    };
                    return Err(alloc::vec![FieldError::new(
                        field("use"),
                        format!(
                            "{id:?} is not in the service catalogue: {hint}`biscotte catalogue` lists its ids; or declare the service yourself with id, name, provider, category, privacy_policy_url and cookies"
                        ),
                    )]);
                }
            },
            None => None,
        };
        let mut missing = Vec::new();
        let base = base.as_ref();
        let service = Service {
            id: take(self.id, base.map(|b| &b.id), field("id"), &mut missing),
            name: take(
                self.name,
                base.map(|b| &b.name),
                field("name"),
                &mut missing,
            ),
            provider: take(
                self.provider,
                base.map(|b| &b.provider),
                field("provider"),
                &mut missing,
            ),
            category: take(
                self.category,
                base.map(|b| &b.category),
                field("category"),
                &mut missing,
            ),
            privacy_policy_url: take(
                self.privacy_policy_url,
                base.map(|b| &b.privacy_policy_url),
                field("privacy_policy_url"),
                &mut missing,
            ),
            cookies: list(self.cookies, base.map(|b| &b.cookies)),
            storage: list(self.storage, base.map(|b| &b.storage)),
            consent_mode: list(self.consent_mode, base.map(|b| &b.consent_mode)),
        };
        if missing.is_empty() {
            Ok(service)
        } else {
            Err(missing)
        }
    }
}

/// A field the entry gives, else the catalogue's; missing from both, an error naming `field`.
fn take<T: Clone + Default>(
    given: Option<T>,
    preset: Option<&T>,
    field: String,
    missing: &mut Vec<FieldError>,
) -> T {
    given.or_else(|| preset.cloned()).unwrap_or_else(|| {
        missing.push(FieldError::new(
            field,
            "missing: give it, or start from a catalogue service with `use = \"…\"` (`biscotte catalogue` lists them)",
        ));
        T::default()
    })
}

/// A list field: the site's own (which replaces the whole list), else the catalogue's, else none.
fn list<T: Clone>(given: Option<Vec<T>>, preset: Option<&Vec<T>>) -> Vec<T> {
    given.or_else(|| preset.cloned()).unwrap_or_default()
}

fn quoted(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    quoted.join(" or ")
}

/// An owner's configuration with every catalogue entry resolved: what [`SiteConfig::parse`]
/// validates. Every error at once, each naming its field.
///
/// [`SiteConfig::parse`]: crate::SiteConfig::parse
pub fn resolve(
    input: SiteConfigInput<ServiceEntry>,
    catalogue: &Catalogue,
) -> Result<SiteConfigInput, Vec<FieldError>> {
    input.try_map_services(|i, entry| entry.resolve(i, catalogue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Lang;

    fn catalogue() -> Catalogue {
        Catalogue::built_in().expect("the catalogue reads")
    }

    #[test]
    fn a_mistyped_id_suggests_the_close_ones() {
        let c = catalogue();
        assert_eq!(c.close_matches("google_analytic")[0], "google_analytics");
        assert_eq!(c.close_matches("youtub"), ["youtube"]);
        assert!(c.close_matches("zzzzzzzzzzzz").is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn an_entry_takes_the_catalogue_fields_it_does_not_override() {
        let entry = ServiceEntry {
            preset: Some("google_analytics".into()),
            name: Some("Analytics".into()),
            ..Default::default()
        };
        let service = entry.resolve(0, &catalogue()).expect("resolves");
        assert_eq!(service.id, "google_analytics");
        assert_eq!(service.name, "Analytics");
        assert_eq!(service.provider, "Google Ireland Limited");
        assert_eq!(service.consent_mode, ["analytics_storage"]);
        assert!(service.cookies.iter().any(|c| c.name == "_ga"));
    }

    #[test]
    fn every_purpose_of_the_catalogue_is_in_french_and_in_english() {
        for service in &catalogue().services {
            for cookie in &service.cookies {
                let which = (&service.id, &cookie.name);
                match &cookie.purpose {
                    Localizable::Each(texts) => {
                        assert!(!texts.fr.is_empty() && !texts.en.is_empty(), "{which:?}");
                        assert_ne!(
                            texts.fr, texts.en,
                            "{which:?}: one of them is not translated"
                        );
                    }
                    Localizable::Every(text) => panic!("{which:?}: {text:?} in one language"),
                }
            }
        }
        let matomo = catalogue().get("matomo").cloned().expect("matomo");
        assert_eq!(
            matomo.provider.get(Lang::En),
            "InnoCraft Ltd (Matomo Cloud), or the site's publisher when it hosts Matomo"
        );
    }

    #[test]
    fn an_own_service_needs_every_field_and_says_which_are_missing() {
        let entry = ServiceEntry {
            id: Some("own".into()),
            name: Some("Own".into()),
            ..Default::default()
        };
        let errors = entry.resolve(2, &catalogue()).expect_err("incomplete");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "services[2].provider",
                "services[2].category",
                "services[2].privacy_policy_url"
            ]
        );
    }
}
