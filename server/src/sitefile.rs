//! `site.toml`: how a site owner describes a site — its registration (`[site]`) and its consent
//! configuration (`[consent]`), whose services may start from the catalogue (`use = "…"`).

use crate::evidence::DEFAULT_RETENTION_DAYS;
use crate::store::{NewSite, SiteSettings};
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
    /// Who may read the log's checkpoints and hash tiles: `"public"` (the default: anyone can
    /// compare what they were shown) or `"auditors"` (the site's auditors only).
    #[serde(default)]
    pub checkpoints: Option<CheckpointAccess>,
    /// Days a decision's content is kept before retention erases it, keeping its hash.
    #[serde(default)]
    pub retention_days: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointAccess {
    Public,
    Auditors,
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
    pub checkpoints_public: bool,
    pub retention_days: u32,
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
            checkpoints_public: self.checkpoints_public,
            retention_days: self.retention_days,
        }
    }

    /// The settings a publication of this file applies.
    pub fn settings(&self) -> SiteSettings {
        SiteSettings {
            origins: Some(self.origins.clone()),
            checkpoints_public: Some(self.checkpoints_public),
            retention_days: Some(self.retention_days),
        }
    }
}

/// The longest retention a site may set: 30 years.
pub const MAX_RETENTION_DAYS: i64 = 10_958;

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
        let retention_days = match self.site.retention_days {
            None => DEFAULT_RETENTION_DAYS,
            Some(days) => match u32::try_from(days) {
                Ok(d) if (1..=MAX_RETENTION_DAYS).contains(&days) => d,
                _ => {
                    errors.push(FieldError::new(
                        "site.retention_days",
                        format!(
                            "{days} is out of range: write the days a decision's content is kept, \
                             from 1 to {MAX_RETENTION_DAYS} (default {DEFAULT_RETENTION_DAYS}, five years)"
                        ),
                    ));
                    DEFAULT_RETENTION_DAYS
                }
            },
        };
        let checkpoints_public = self.site.checkpoints != Some(CheckpointAccess::Auditors);
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
                checkpoints_public,
                retention_days,
            }),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }
}
