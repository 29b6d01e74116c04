//! The engines of earlier banner builds, kept in `<banner_dir>/engines/` so that a loader a
//! browser still holds finds the engine it names after the banner is rebuilt.
//!
//! `/biscotte.js` is cached with `stale-while-revalidate` for [`LOADER_STALE_DAYS`]: a returning
//! visitor's browser may run a loader it fetched up to a week ago, which names the engine that was
//! current then by its content-hashed URL. So every start of the server records, in
//! `engines/manifest.txt`, which engine it serves; an engine that was current at an earlier start
//! and is not at this one is superseded *now*, the latest moment a loader naming it was handed
//! out. A site's loader (`/sites/{site}/biscotte.js`) is fresh for an hour more before that week
//! starts. Engines superseded less than [`KEPT_DAYS`] ago (the window and a day's margin, which
//! covers that hour, rolling deploys and clocks) stay served; older ones are deleted.
//!
//! The server keeps this record, not `./dev build`: a build is not a deploy, and the week
//! counts from when the old loader stopped being served, which only the server sees. A build
//! that no server started never reached a browser, so it is not kept.
//!
//! The manifest, one engine a line (`#` starts a comment):
//!
//! ```text
//! biscotte_banner_bg.0123456789ab.wasm current
//! biscotte_banner_bg.ba9876543210.wasm superseded 2026-11-23T10:00:00.000Z
//! ```
//!
//! Each engine's files (`NAME`, `NAME.br`, `NAME.gz`) sit beside it. A file found there but
//! missing from the manifest counts as superseded now; an engine whose bytes do not hash to its
//! name is never served, since its URL is cached as immutable.

use super::{Asset, Codec, WASM, hashed_name, precompressed};
use crate::export::{parse_bound, rfc3339};
use biscotte_shared::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// How long a browser may run a cached loader without waiting for its revalidation: the
/// `stale-while-revalidate` of `/biscotte.js` (`routes::assets::LOADER_CACHE`), in days.
pub const LOADER_STALE_DAYS: i64 = 7;

/// How long an engine stays served after it stopped being current.
pub const KEPT_DAYS: i64 = LOADER_STALE_DAYS + 1;

/// The archive's directory, inside the banner directory.
pub const ENGINES_DIR: &str = "engines";

const MANIFEST: &str = "manifest.txt";

const MANIFEST_HEADER: &str = "# The engines of earlier banner builds, which loaders cached in browsers may still name.\n\
# Kept by biscotte at each start (see README, \"The banner's files\"): keep this directory across deploys.\n";

/// What an engine was at the last start that recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// The engine the loader named.
    Current,
    /// No longer named by the loader since this time.
    SupersededAt(Timestamp),
}

/// The archive's record: engine file name → what it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest(pub BTreeMap<String, Served>);

/// `biscotte_banner_bg.<12 hex digits>.wasm`: the only names the archive reads or deletes.
pub fn is_engine_name(name: &str) -> bool {
    let Some((stem, ext)) = WASM.rsplit_once('.') else {
        return false;
    };
    name.strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(ext))
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|digest| {
            digest.len() == 12
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

impl Manifest {
    /// The record, and the lines it could not read (those engines then count as unrecorded).
    pub fn parse(text: &str) -> (Manifest, Vec<String>) {
        let mut entries = BTreeMap::new();
        let mut unread = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let served = match fields.as_slice() {
                [name, "current"] if is_engine_name(name) => Some((name, Served::Current)),
                [name, "superseded", at] if is_engine_name(name) => parse_bound("superseded", at)
                    .ok()
                    .map(|at| (name, Served::SupersededAt(at))),
                _ => None,
            };
            match served {
                Some((name, served)) => {
                    entries.insert((*name).to_owned(), served);
                }
                None => unread.push(line.to_owned()),
            }
        }
        (Manifest(entries), unread)
    }

    pub fn render(&self) -> String {
        let mut out = MANIFEST_HEADER.to_owned();
        for (name, served) in &self.0 {
            match served {
                Served::Current => out.push_str(&format!("{name} current\n")),
                Served::SupersededAt(at) => {
                    out.push_str(&format!("{name} superseded {}\n", rfc3339(*at)));
                }
            }
        }
        out
    }

    /// What a start at `now` serving the engine `current` makes of the record, given the engines
    /// the archive holds (`on_disk`): the record to write, and the engines to delete.
    /// An engine not on disk is dropped from the record: there is nothing left to serve.
    pub fn after_start(
        &self,
        current: &str,
        on_disk: &BTreeSet<String>,
        now: Timestamp,
    ) -> (Manifest, Vec<String>) {
        let mut next = BTreeMap::new();
        let mut expired = Vec::new();
        for name in on_disk.iter().filter(|name| name.as_str() != current) {
            let superseded_at = match self.0.get(name) {
                Some(Served::SupersededAt(at)) => *at,
                // Current at an earlier start, or found without a record: served until now.
                Some(Served::Current) | None => now,
            };
            if superseded_at.plus_days(KEPT_DAYS) < now {
                expired.push(name.clone());
            } else {
                next.insert(name.clone(), Served::SupersededAt(superseded_at));
            }
        }
        next.insert(current.to_owned(), Served::Current);
        (Manifest(next), expired)
    }

    /// The engines still served besides the current one.
    pub fn superseded(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(_, served)| matches!(served, Served::SupersededAt(_)))
            .map(|(name, _)| name.as_str())
    }
}

/// `<banner_dir>/engines/`, where a start files the engine it serves and finds the earlier ones.
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
}

impl Archive {
    pub fn in_banner_dir(banner_dir: &Path) -> Archive {
        Archive {
            dir: banner_dir.join(ENGINES_DIR),
        }
    }

    /// Files the engine `current` in (when it is not there yet), records a start at `now`
    /// serving it, deletes the engines superseded more than [`KEPT_DAYS`] ago, and returns the
    /// others, read back and checked against their names. Nothing here stops the start: the
    /// current build is served regardless, and each failure is logged with its fix.
    pub fn keep(&self, current: &str, engine: &Asset, now: Timestamp) -> Vec<(String, Asset)> {
        if let Err(e) = self.file_in(current, engine) {
            tracing::warn!(
                dir = %self.dir.display(),
                error = %e,
                "cannot keep the banner's engine for after the next build: loaders that browsers cached before it will find no engine; let the server write to this directory"
            );
        }
        let recorded = self.recorded();
        let (next, expired) = recorded.after_start(current, &self.on_disk(), now);
        for name in &expired {
            for file in [name.clone(), format!("{name}.br"), format!("{name}.gz")] {
                match std::fs::remove_file(self.dir.join(&file)) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        tracing::warn!(file, error = %e, "cannot delete an expired banner engine");
                    }
                    _ => {}
                }
            }
        }
        let manifest = self.dir.join(MANIFEST);
        if next != recorded
            && let Err(e) = write_replacing(&manifest, next.render().as_bytes())
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write the engine manifest; let the server write to this directory");
        }
        next.superseded()
            .filter_map(|name| match self.read(name) {
                Ok(asset) => Some((name.to_owned(), asset)),
                Err(why) => {
                    tracing::warn!(%why, "a kept banner engine is not served");
                    None
                }
            })
            .collect()
    }

    /// The manifest as the last start wrote it; unreadable parts count as unrecorded.
    fn recorded(&self) -> Manifest {
        match std::fs::read_to_string(self.dir.join(MANIFEST)) {
            Ok(text) => {
                let (manifest, unread) = Manifest::parse(&text);
                if !unread.is_empty() {
                    tracing::warn!(
                        ?unread,
                        "engine manifest lines not understood; those engines count as superseded now"
                    );
                }
                manifest
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Manifest::default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the engine manifest; the kept engines count as superseded now");
                Manifest::default()
            }
        }
    }

    /// The engines the archive holds, by their names.
    fn on_disk(&self) -> BTreeSet<String> {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| is_engine_name(name))
            .collect()
    }

    /// Writes the engine and its compressed forms, unless the same bytes are there already.
    fn file_in(&self, name: &str, engine: &Asset) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let forms = [
            (name.to_owned(), Some(&engine.bytes)),
            (format!("{name}.br"), engine.brotli.as_ref()),
            (format!("{name}.gz"), engine.gzip.as_ref()),
        ];
        for (file, bytes) in forms {
            let Some(bytes) = bytes else { continue };
            let path = self.dir.join(file);
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_ref()) {
                write_replacing(&path, bytes)?;
            }
        }
        Ok(())
    }

    /// A kept engine, when its bytes still hash to its name.
    fn read(&self, name: &str) -> Result<Asset, String> {
        let path = self.dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if hashed_name(WASM, &bytes) != name {
            return Err(format!(
                "{} does not hash to its name; delete it (the next start records the engines present)",
                path.display()
            ));
        }
        Ok(Asset {
            brotli: precompressed(&self.dir, name, &bytes, Codec::Brotli),
            gzip: precompressed(&self.dir, name, &bytes, Codec::Gzip),
            bytes: bytes.into(),
            content_type: "application/wasm",
        })
    }
}

/// Writes `path` whole or not at all: through a temporary file of this process, renamed over it.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
    const A: &str = "biscotte_banner_bg.aaaaaaaaaaaa.wasm";
    const B: &str = "biscotte_banner_bg.bbbbbbbbbbbb.wasm";
    const C: &str = "biscotte_banner_bg.cccccccccccc.wasm";

    fn ago(days: i64) -> Served {
        Served::SupersededAt(NOW.plus_days(-days))
    }

    /// One start: the record before, the engines on disk and the one served → the record after
    /// and the engines deleted.
    #[track_caller]
    fn check(
        before: &[(&str, Served)],
        on_disk: &[&str],
        current: &str,
        after: &[(&str, Served)],
        expired: &[&str],
    ) {
        let before = Manifest(before.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect());
        let on_disk = on_disk.iter().map(|n| (*n).to_owned()).collect();
        let (next, gone) = before.after_start(current, &on_disk, NOW);
        let after = Manifest(after.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect());
        assert_eq!(next, after);
        assert_eq!(gone, expired);
    }

    #[test]
    fn a_start_supersedes_the_engines_served_before_it_and_keeps_them_for_the_loaders_window() {
        use Served::Current;
        let now = Served::SupersededAt(NOW);
        // The first start: only the current engine.
        check(&[], &[A], A, &[(A, Current)], &[]);
        // The same build again: nothing changes.
        check(&[(A, Current)], &[A], A, &[(A, Current)], &[]);
        // A new build: the engine served until now is superseded now.
        check(&[(A, Current)], &[A, B], B, &[(A, now), (B, Current)], &[]);
        // Its time is kept at later starts, up to the window and the margin, then deleted.
        check(
            &[(A, ago(7)), (B, Current)],
            &[A, B],
            B,
            &[(A, ago(7)), (B, Current)],
            &[],
        );
        check(
            &[(A, ago(KEPT_DAYS)), (B, Current)],
            &[A, B],
            B,
            &[(A, ago(KEPT_DAYS)), (B, Current)],
            &[],
        );
        check(
            &[(A, ago(KEPT_DAYS + 1)), (B, ago(2)), (C, Current)],
            &[A, B, C],
            C,
            &[(B, ago(2)), (C, Current)],
            &[A],
        );
        // Going back to an earlier build makes it current again.
        check(
            &[(A, ago(2)), (B, Current)],
            &[A, B],
            A,
            &[(A, Current), (B, now)],
            &[],
        );
    }

    #[test]
    fn engines_without_a_record_are_kept_and_records_without_an_engine_are_dropped() {
        use Served::Current;
        let now = Served::SupersededAt(NOW);
        // A lost or hand-copied manifest: what is on disk counts as superseded now.
        check(&[], &[A, B], B, &[(A, now), (B, Current)], &[]);
        // A deleted file: nothing to serve, so no record.
        check(&[(A, ago(1)), (B, Current)], &[B], B, &[(B, Current)], &[]);
        // Two engines current at once (starts of two builds on one directory): both superseded.
        check(
            &[(A, Current), (B, Current)],
            &[A, B, C],
            C,
            &[(A, now), (B, now), (C, Current)],
            &[],
        );
    }

    #[test]
    fn the_manifest_reads_back_what_it_writes_and_reports_the_lines_it_cannot_read() {
        let manifest = Manifest(
            [
                (A.to_owned(), Served::Current),
                (B.to_owned(), Served::SupersededAt(NOW.plus_millis(123))),
            ]
            .into(),
        );
        let text = manifest.render();
        assert!(
            text.ends_with(&format!(
                "{A} current\n{B} superseded 2027-01-15T08:00:00.123Z\n"
            )),
            "{text}"
        );
        assert_eq!(Manifest::parse(&text), (manifest, vec![]));
        let (read, unread) = Manifest::parse(&format!(
            "{A} superseded yesterday\n../../etc/passwd current\n{B} current\n"
        ));
        assert_eq!(read.0.len(), 1);
        assert_eq!(unread.len(), 2);
    }

    #[test]
    fn only_hashed_engine_names_are_engine_names() {
        assert!(is_engine_name(A));
        for name in [
            "biscotte_banner_bg.wasm",
            "biscotte_banner_bg.AAAAAAAAAAAA.wasm",
            "biscotte_banner_bg.aaaaaaaaaaa.wasm",
            "biscotte_banner_bg.aaaaaaaaaaaa.wasm.br",
            "../biscotte_banner_bg.aaaaaaaaaaaa.wasm",
            "manifest.txt",
        ] {
            assert!(!is_engine_name(name), "{name}");
        }
    }
}
