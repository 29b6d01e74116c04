//! `site.toml`: how a site owner describes a site — its registration (`[site]`) and its consent
//! configuration (`[consent]`), whose services may start from the catalogue (`use = "…"`).

use crate::store::NewSite;
use biscotte_shared::catalogue::{self, Catalogue, ServiceEntry};
use biscotte_shared::config::SiteConfigInput;
use biscotte_shared::{FieldError, SiteConfig, Timestamp};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    pub id: String,
    pub name: String,
    /// Origins whose pages may load the banner (`https://www.example.fr`).
    #[serde(default)]
    pub origins: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    pub site: SiteSection,
    pub consent: SiteConfigInput<ServiceEntry>,
}

/// A site file that passed every check.
#[derive(Clone, Debug)]
pub struct ValidSite {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
    pub config: SiteConfig,
    pub warnings: Vec<String>,
}

impl ValidSite {
    /// The site as the store registers it, published at `now`.
    pub fn into_new_site(self, now: Timestamp) -> NewSite {
        NewSite {
            id: self.id,
            name: self.name,
            origins: self.origins,
            config: self.config,
            now,
        }
    }
}

pub fn is_valid_site_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// `scheme://host[:port]`, nothing after: what browsers send in `Origin`.
pub fn check_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', ' ']))
}

impl SiteFile {
    pub fn read(path: &Path) -> Result<SiteFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Every problem at once, each naming its field.
    pub fn validate(self) -> Result<ValidSite, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_valid_site_id(&self.site.id) {
            errors.push(FieldError::new(
                "site.id",
                format!(
                    "{:?} is not valid: use 1 to 40 lowercase letters, digits or '-'",
                    self.site.id
                ),
            ));
        }
        for (i, o) in self.site.origins.iter().enumerate() {
            if !check_origin(o) {
                errors.push(FieldError::new(
                    format!("site.origins[{i}]"),
                    format!("{o:?} is not an origin: write scheme://host[:port] with no path, for example https://www.example.fr"),
                ));
            }
        }
        let in_consent = |errors: Vec<FieldError>| {
            errors
                .into_iter()
                .map(|fe| FieldError::new(format!("consent.{}", fe.field), fe.message))
                .collect::<Vec<_>>()
        };
        let catalogue = Catalogue::built_in()
            .map_err(|message| vec![FieldError::new("consent.services", message)]);
        let config = catalogue.and_then(|catalogue| {
            catalogue::resolve(self.consent, &catalogue)
                .map_err(in_consent)
                .and_then(|input| SiteConfig::parse(input).map_err(|e| in_consent(e.0)))
        });
        match config {
            Ok(config) if errors.is_empty() => Ok(ValidSite {
                warnings: config.warnings(),
                id: self.site.id,
                name: self.site.name,
                origins: self.site.origins,
                config,
            }),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }
}
