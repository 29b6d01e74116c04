//! The only code that knows sled. Named trees, big-endian keys so range scans run in time order,
//! and a decision acknowledged only once it is on disk.
//!
//! Trees: `sites` (id → [`SiteRecord`]), `configs` (site, revision → [`PublishedConfig`]; every
//! revision is kept because a proof points at the text the visitor saw), `log/<site>` (sequence
//! number → [`ConsentRecord`], append-only), `by_visitor` (site, consent id, sequence → nothing).

use crate::proof;
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::{Decision, Lang, Revision, SiteConfig, Timestamp};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A registered site: who may embed its banner, and which revision is live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub id: String,
    pub name: String,
    /// Page origins allowed to load the banner and record decisions (`https://shop.example`).
    pub origins: Vec<String>,
    pub created_at: Timestamp,
    pub current_revision: Revision,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} is in use by another process (a running `biscotte serve`?)")]
    Busy { path: String },
    #[error("site {0:?} already exists")]
    SiteExists(String),
    #[error("unknown site {0:?}")]
    UnknownSite(String),
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record in the store: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl<T> From<sled::transaction::TransactionError<T>> for StoreError
where
    T: std::fmt::Debug,
{
    fn from(e: sled::transaction::TransactionError<T>) -> Self {
        match e {
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
            sled::transaction::TransactionError::Abort(a) => StoreError::Sled(
                sled::Error::Unsupported(format!("transaction aborted: {a:?}")),
            ),
        }
    }
}

/// What a decision needs from the store besides the decision itself.
#[derive(Debug)]
pub struct NewRecord<'a> {
    pub site: &'a str,
    pub revision: &'a Revision,
    pub policy_version: &'a str,
    pub decision: &'a Decision,
    pub language: Lang,
    pub url: Option<String>,
    pub server_time: Timestamp,
}

/// The consent store. Cheap to clone; all clones share one database.
#[derive(Clone, Debug)]
pub struct Store {
    db: sled::Db,
    sites: sled::Tree,
    configs: sled::Tree,
    by_visitor: sled::Tree,
    /// Appends to one log are serialised so each record can name its predecessor's hash.
    append_lock: Arc<Mutex<()>>,
}

fn config_key(site: &str, revision: &Revision) -> Vec<u8> {
    [site.as_bytes(), b"\0", revision.as_str().as_bytes()].concat()
}

impl Store {
    /// Opens (or creates) the store in `dir`. Fails with [`StoreError::Busy`] when another
    /// process holds it: sled allows one process per store.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(dir).open().map_err(|e| match &e {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::Busy {
                    path: dir.display().to_string(),
                }
            }
            _ => StoreError::Sled(e),
        })?;
        Self::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        Ok(Store {
            sites: db.open_tree("sites")?,
            configs: db.open_tree("configs")?,
            by_visitor: db.open_tree("by_visitor")?,
            db,
            append_lock: Arc::new(Mutex::new(())),
        })
    }

    fn log(&self, site: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(format!("log/{site}"))?)
    }

    /// Answers once the store serves a read (of the `sites` tree).
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.sites.first()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    pub fn site(&self, id: &str) -> Result<Option<SiteRecord>, StoreError> {
        match self.sites.get(id)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        self.sites
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Registers a site and publishes its first revision.
    pub async fn create_site(
        &self,
        id: &str,
        name: &str,
        origins: Vec<String>,
        config: SiteConfig,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError> {
        let published = PublishedConfig {
            site: id.to_owned(),
            revision: Revision::of(&config),
            published_at: now,
            config,
        };
        let record = SiteRecord {
            id: id.to_owned(),
            name: name.to_owned(),
            origins,
            created_at: now,
            current_revision: published.revision.clone(),
        };
        let record_bytes = serde_json::to_vec(&record)?;
        let config_bytes = serde_json::to_vec(&published)?;
        let created = (&self.sites, &self.configs).transaction(|(sites, configs)| {
            if sites.get(id)?.is_some() {
                return Ok::<_, ConflictableTransactionError<()>>(false);
            }
            sites.insert(id, record_bytes.as_slice())?;
            configs.insert(config_key(id, &published.revision), config_bytes.as_slice())?;
            Ok(true)
        });
        let created: bool = created.map_err(|e: TransactionError<()>| StoreError::from(e))?;
        if !created {
            return Err(StoreError::SiteExists(id.to_owned()));
        }
        self.db.flush_async().await?;
        Ok(published)
    }

    /// Publishes a revision of a site's configuration (a no-op when nothing changed) and
    /// updates the site's registered origins when given. Earlier revisions stay readable.
    pub async fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        origins: Option<Vec<String>>,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError> {
        let mut site = self
            .site(id)?
            .ok_or_else(|| StoreError::UnknownSite(id.to_owned()))?;
        let revision = Revision::of(&config);
        if revision == site.current_revision && origins.as_ref().is_none_or(|o| *o == site.origins)
        {
            return self
                .published(id, &revision)?
                .ok_or_else(|| StoreError::UnknownSite(id.to_owned()));
        }
        let published = match self.published(id, &revision)? {
            // Re-publishing an earlier revision keeps its original publication time.
            Some(existing) => existing,
            None => PublishedConfig {
                site: id.to_owned(),
                revision: revision.clone(),
                published_at: now,
                config,
            },
        };
        site.current_revision = revision.clone();
        if let Some(origins) = origins {
            site.origins = origins;
        }
        let site_bytes = serde_json::to_vec(&site)?;
        let config_bytes = serde_json::to_vec(&published)?;
        (&self.sites, &self.configs)
            .transaction(|(sites, configs)| {
                sites.insert(id, site_bytes.as_slice())?;
                configs.insert(config_key(id, &revision), config_bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e: TransactionError<()>| StoreError::from(e))?;
        self.db.flush_async().await?;
        Ok(published)
    }

    /// A published revision of a site, current or earlier.
    pub fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<PublishedConfig>, StoreError> {
        match self.configs.get(config_key(site, revision))? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The live revision of a site, with the site itself.
    pub fn current(&self, site: &str) -> Result<Option<(SiteRecord, PublishedConfig)>, StoreError> {
        let Some(record) = self.site(site)? else {
            return Ok(None);
        };
        let published = self
            .published(site, &record.current_revision)?
            .ok_or_else(|| StoreError::UnknownSite(site.to_owned()))?;
        Ok(Some((record, published)))
    }

    /// Appends a decision to its site's log and returns once it is durable on disk.
    pub async fn append(&self, new: NewRecord<'_>) -> Result<ConsentRecord, StoreError> {
        let log = self.log(new.site)?;
        let record = {
            let _guard = self
                .append_lock
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let (record_id, prev_hash) = match log.last()? {
                Some((_, bytes)) => {
                    let last: ConsentRecord = serde_json::from_slice(&bytes)?;
                    (last.record_id + 1, last.hash)
                }
                None => (1, proof::GENESIS_HASH.to_owned()),
            };
            let mut record = ConsentRecord {
                record_id,
                site: new.site.to_owned(),
                consent_id: new.decision.consent_id.clone(),
                server_time: new.server_time,
                revision: new.revision.clone(),
                policy_version: new.policy_version.to_owned(),
                method: new.decision.method,
                categories: new.decision.choices.categories.clone(),
                services: new.decision.choices.services.clone(),
                language: new.language,
                url: new.url,
                prev_hash,
                hash: String::new(),
            };
            record.hash = proof::record_hash(&record);
            let bytes = serde_json::to_vec(&record)?;
            let visitor_key = [
                new.site.as_bytes(),
                b"\0",
                record.consent_id.as_bytes(),
                b"\0",
                &record_id.to_be_bytes(),
            ]
            .concat();
            (&log, &self.by_visitor)
                .transaction(|(log, by_visitor)| {
                    log.insert(&record_id.to_be_bytes(), bytes.as_slice())?;
                    by_visitor.insert(visitor_key.as_slice(), &[])?;
                    Ok::<_, ConflictableTransactionError<()>>(())
                })
                .map_err(|e: TransactionError<()>| StoreError::from(e))?;
            record
        };
        // sled batches concurrent flushes into one write, so many decisions share one fsync.
        self.db.flush_async().await?;
        Ok(record)
    }

    /// Every record of a site's log with `from <= server_time < to`, in log order.
    pub fn records(
        &self,
        site: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<impl Iterator<Item = Result<ConsentRecord, StoreError>> + Send + 'static, StoreError>
    {
        let log = self.log(site)?;
        Ok(log
            .iter()
            .values()
            .map(|v| -> Result<ConsentRecord, StoreError> { Ok(serde_json::from_slice(&v?)?) })
            .filter(move |r| match r {
                Ok(r) => {
                    from.is_none_or(|f| r.server_time >= f) && to.is_none_or(|t| r.server_time < t)
                }
                Err(_) => true,
            }))
    }

    /// The log entries of one visitor (by consent id), oldest first.
    pub fn records_of_visitor(
        &self,
        site: &str,
        consent_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let log = self.log(site)?;
        let prefix = [site.as_bytes(), b"\0", consent_id.as_bytes(), b"\0"].concat();
        let mut out = Vec::new();
        for key in self.by_visitor.scan_prefix(&prefix).keys() {
            let key = key?;
            let seq = &key[prefix.len()..];
            if let Some(bytes) = log.get(seq)? {
                out.push(serde_json::from_slice(&bytes)?);
            }
        }
        Ok(out)
    }
}
