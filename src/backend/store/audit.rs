//! The audit chain (docs/semantics.md, "Audit log"): every entry's MAC covers
//! the previous entry's MAC, so an edited, deleted or reordered entry breaks
//! the chain. The key lives in the user's config dir, never in the database.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{Any, Row, Transaction};

use super::error::{KeyProblem, StoreError};
use crate::runbook::record::{Entry, Stamp};

/// `prev_mac` of the first entry.
pub const GENESIS_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The 32-byte HMAC key. Debug never prints it.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AuditKey(bytes)
    }

    /// Read the key (64 hex digits) from `path`; `None` when there is no file.
    pub fn load(path: &Path) -> Result<Option<Self>, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text)
                .map(Some)
                .map_err(|reason| StoreError::Key {
                    path: path.to_path_buf(),
                    reason,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Key {
                path: path.to_path_buf(),
                reason: KeyProblem::Read(e),
            }),
        }
    }

    /// Read the key (64 hex digits) from `path`, or create it: 32 random
    /// bytes, written mode 0600 and published atomically (a hard link to a
    /// finished temp file) so a racing process or a crash never leaves a
    /// half-written key behind.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        let fail = |reason: KeyProblem| StoreError::Key {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(&text).map_err(fail),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(KeyProblem::Read(e))),
        }
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| fail(KeyProblem::CreateDir(e)))?;
        }
        let key = AuditKey(rand::random());
        let tmp = temp_sibling(path);
        let written = write_private(&tmp, hex::encode(key.0).as_bytes());
        let published = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match published {
            Ok(()) => {
                sync_dir(path);
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| fail(KeyProblem::Read(e)))?;
                Self::parse(&text).map_err(fail)
            }
            Err(e) => Err(fail(KeyProblem::Create(e))),
        }
    }

    fn parse(text: &str) -> Result<Self, KeyProblem> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyProblem::NotHex)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyProblem::WrongLength)?;
        Ok(AuditKey(bytes))
    }

    fn mac(&self, prev_mac: &str, entry: &EntryFields<'_>) -> String {
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(prev_mac.as_bytes());
        m.update(&entry.canonical());
        hex::encode(m.finalize().into_bytes())
    }
}

pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// The fields an entry's MAC covers, besides `prev_mac`.
pub(crate) struct EntryFields<'a> {
    pub seq: i64,
    pub release_id: Option<&'a str>,
    pub at: i64,
    pub actor: &'a str,
    pub host: &'a str,
    pub kind: &'a str,
    pub detail_json: &'a str,
}

impl EntryFields<'_> {
    /// Unambiguous bytes: a version tag, fixed-width integers, and each
    /// text length-prefixed (an absent release id differs from an empty one).
    fn canonical(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128 + self.detail_json.len());
        b.extend_from_slice(b"flightdeck-audit-v1\0");
        b.extend_from_slice(&self.seq.to_be_bytes());
        match self.release_id {
            None => b.push(0),
            Some(id) => {
                b.push(1);
                put_text(&mut b, id);
            }
        }
        b.extend_from_slice(&self.at.to_be_bytes());
        for text in [self.actor, self.host, self.kind, self.detail_json] {
            put_text(&mut b, text);
        }
        b
    }
}

fn put_text(b: &mut Vec<u8>, text: &str) {
    b.extend_from_slice(&(text.len() as u64).to_be_bytes());
    b.extend_from_slice(text.as_bytes());
}

/// The last entry's seq and MAC (0 and the genesis MAC on an empty log).
pub(crate) async fn head(tx: &mut Transaction<'static, Any>) -> Result<(i64, String), StoreError> {
    let row = sqlx::query("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::query("reading the audit head"))?;
    Ok(match row {
        Some(r) => (r.get::<i64, _>(0), r.get::<String, _>(1)),
        None => (0, GENESIS_MAC.to_string()),
    })
}

/// Append one entry after `prev_mac`. The caller holds the append lock and
/// the transaction, so nobody else appends between `head` and this.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    key: &AuditKey,
    prev_mac: &str,
    entry: &EntryFields<'_>,
) -> Result<String, StoreError> {
    let mac = key.mac(prev_mac, entry);
    sqlx::query(
        "INSERT INTO audit_log (seq, release_id, at, actor, host, kind, detail_json, prev_mac, mac) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.seq)
    .bind(entry.release_id)
    .bind(entry.at)
    .bind(entry.actor)
    .bind(entry.host)
    .bind(entry.kind)
    .bind(entry.detail_json)
    .bind(prev_mac)
    .bind(&mac)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::query("appending to the audit log"))?;
    Ok(mac)
}

/// One `audit_log` row as stored: the detail kept as the exact text the
/// MAC covers. Reads as its `Stamp`.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub stamp: Stamp,
    pub detail_json: String,
    pub prev_mac: String,
    pub mac: String,
}

/// The columns `RawEntry::from_row` reads, in order.
pub(crate) const ENTRY_COLUMNS: &str =
    "seq, release_id, at, actor, host, kind, detail_json, prev_mac, mac";

impl std::ops::Deref for RawEntry {
    type Target = Stamp;
    fn deref(&self) -> &Stamp {
        &self.stamp
    }
}

impl RawEntry {
    pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(RawEntry {
            stamp: Stamp {
                seq: row.try_get(0)?,
                release_id: row.try_get(1)?,
                at: row.try_get(2)?,
                actor: row.try_get(3)?,
                host: row.try_get(4)?,
                kind: row.try_get(5)?,
            },
            detail_json: row.try_get(6)?,
            prev_mac: row.try_get(7)?,
            mac: row.try_get(8)?,
        })
    }

    fn fields(&self) -> EntryFields<'_> {
        EntryFields {
            seq: self.seq,
            release_id: self.release_id.as_deref(),
            at: self.at,
            actor: &self.actor,
            host: &self.host,
            kind: &self.kind,
            detail_json: &self.detail_json,
        }
    }

    /// Does the entry match its MAC? Checked from its own stored
    /// `prev_mac`, so one entry can be checked without the rest of the chain.
    pub(crate) fn mac_ok(&self, key: &AuditKey) -> bool {
        macs_equal(&key.mac(&self.prev_mac, &self.fields()), &self.mac)
    }

    /// The entry for the domain fold, if its MAC holds and its detail parses.
    pub(crate) fn verified(&self, key: &AuditKey) -> Result<Entry, BrokenWhy> {
        if !self.mac_ok(key) {
            return Err(BrokenWhy::MacMismatch);
        }
        let detail = serde_json::from_str(&self.detail_json)
            .map_err(|e| BrokenWhy::Unreadable(format!("detail is not JSON: {e}")))?;
        Ok(Entry {
            stamp: self.stamp.clone(),
            detail,
        })
    }
}

/// The result of `Store::verify_audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The last seq read (0 when empty).
    pub last_seq: i64,
    /// The first entry where the chain breaks; `None` when it holds.
    pub broken: Option<Broken>,
    /// Every break, in seq order (the walk re-anchors on each stored MAC,
    /// so one edit gives one finding).
    pub breaks: Vec<Broken>,
    /// The last entry's seq and stored MAC.
    pub head: Option<(i64, String)>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.breaks.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub why: BrokenWhy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenWhy {
    /// seq does not follow the previous entry: entries were deleted.
    SeqGap { expected: i64 },
    /// prev_mac is not the previous entry's MAC: reordered or deleted.
    PrevMacMismatch,
    /// The entry's own MAC does not match its content (or the key is not
    /// the one that wrote it).
    MacMismatch,
    /// A column does not hold the type the schema promises.
    Unreadable(String),
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.why {
            BrokenWhy::SeqGap { expected } => write!(
                f,
                "audit entry {seq} follows where {expected} was expected: entries were deleted"
            ),
            BrokenWhy::PrevMacMismatch => write!(
                f,
                "audit entry {seq} does not chain to the entry before it: entries were deleted or reordered"
            ),
            BrokenWhy::MacMismatch => write!(
                f,
                "audit entry {seq} does not match its MAC: it was edited (or the audit key is not the one that wrote it)"
            ),
            BrokenWhy::Unreadable(why) => {
                write!(f, "audit entry {seq} cannot be read ({why}): it was edited")
            }
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.breaks.is_empty() {
            return write!(f, "audit log intact: {} entries", self.entries);
        }
        write!(
            f,
            "audit log BROKEN: {} finding(s) in {} entries",
            self.breaks.len(),
            self.entries
        )?;
        for b in &self.breaks {
            write!(f, "\n  {b}")?;
        }
        Ok(())
    }
}

/// Walk the whole chain in seq order, noting every break and going on
/// from each entry's stored MAC. Returns the report and the entries whose
/// own MAC holds (the ones a fold may count).
pub(crate) async fn verify(
    pool: &sqlx::AnyPool,
    key: &AuditKey,
) -> Result<(VerifyReport, Vec<Entry>), StoreError> {
    use futures::TryStreamExt;

    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq"
    )))
    .fetch(pool);
    let mut report = VerifyReport {
        entries: 0,
        last_seq: 0,
        broken: None,
        breaks: Vec::new(),
        head: None,
    };
    let mut verified = Vec::new();
    let mut prev_mac = GENESIS_MAC.to_string();
    let read = StoreError::query("reading the audit log");
    while let Some(row) = rows.try_next().await.map_err(&read)? {
        report.entries += 1;
        let expected = report.last_seq + 1;
        let raw = match RawEntry::from_row(&row) {
            Ok(raw) => raw,
            Err(e) => {
                let seq = row.try_get::<i64, _>(0).unwrap_or(expected);
                report.breaks.push(Broken {
                    seq,
                    why: BrokenWhy::Unreadable(e.to_string()),
                });
                report.last_seq = seq;
                // Re-anchor on whatever MAC it holds, if any.
                if let Ok(mac) = row.try_get::<String, _>(8) {
                    prev_mac = mac;
                }
                continue;
            }
        };
        let seq = raw.seq;
        report.last_seq = seq;
        if seq != expected {
            report.breaks.push(Broken {
                seq,
                why: BrokenWhy::SeqGap { expected },
            });
        } else if raw.prev_mac != prev_mac {
            report.breaks.push(Broken {
                seq,
                why: BrokenWhy::PrevMacMismatch,
            });
        }
        match raw.verified(key) {
            Ok(entry) => verified.push(entry),
            Err(why) => report.breaks.push(Broken { seq, why }),
        }
        prev_mac = raw.mac.clone();
        report.head = Some((seq, raw.mac));
    }
    report.broken = report.breaks.first().cloned();
    Ok((report, verified))
}

/// Constant-time comparison, so verify does not leak how much of a MAC matched.
fn macs_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(release_id: Option<&'a str>, actor: &'a str, host: &'a str) -> EntryFields<'a> {
        EntryFields {
            seq: 1,
            release_id,
            at: 5,
            actor,
            host,
            kind: "k",
            detail_json: "{}",
        }
    }

    #[test]
    fn canonical_bytes_are_unambiguous() {
        // Moving a character between adjacent fields changes the bytes.
        assert_ne!(
            fields(None, "ab", "c").canonical(),
            fields(None, "a", "bc").canonical()
        );
        assert_ne!(
            fields(None, "a", "b").canonical(),
            fields(Some(""), "a", "b").canonical()
        );
    }

    #[test]
    fn key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/audit.key");
        let a = AuditKey::load_or_create(&path).unwrap();
        let b = AuditKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert!(AuditKey::load_or_create(&path).is_err());
    }
}
