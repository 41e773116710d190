//! The witness (TRUST.md rule 4): outside the database, each machine keeps
//! the newest audit entry (seq, MAC) it has seen of each journal. A journal
//! that no longer holds that entry was cut back or rolled back; `verify`
//! says so. (A tail cut on a machine that never saw it is not detectable.)

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::Store;
use super::error::{StoreError, WitnessError};

/// What a machine saw last of one journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witnessed {
    /// The journal (redacted), to tell the files apart by eye.
    pub journal: String,
    pub seq: i64,
    pub mac: String,
}

/// The witness file of one journal.
#[derive(Debug)]
pub struct Witness {
    path: PathBuf,
    journal: String,
    /// The newest seq written by this process (skips needless writes).
    seen: Mutex<i64>,
    /// Set once the journal was found without a witnessed entry: from then
    /// on this process keeps the evidence instead of moving the witness on.
    tainted: AtomicBool,
}

impl Witness {
    /// The witness of `journal` (a redacted target) under `state_dir`.
    pub fn new(state_dir: &Path, journal: &str) -> Witness {
        let digest = hex::encode(Sha256::digest(journal.as_bytes()));
        Witness {
            path: state_dir
                .join("witness")
                .join(format!("{}.json", &digest[..32])),
            journal: journal.to_string(),
            seen: Mutex::new(0),
            tainted: AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds (`None`: this machine never saw the journal).
    pub fn read(&self) -> Result<Option<Witnessed>, WitnessError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|source| WitnessError::Parse {
                        path: self.path.clone(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WitnessError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Keep the file as it is from now on (see `tainted`).
    pub fn hold(&self) {
        self.tainted.store(true, Ordering::SeqCst);
    }

    /// Note that the journal's head is (`seq`, `mac`), if that is newer
    /// than what the file holds. Written atomically, mode 0600 in a 0700 dir.
    pub fn saw(&self, seq: i64, mac: &str) -> Result<(), WitnessError> {
        if self.tainted.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seq <= *seen {
            return Ok(());
        }
        if let Some(w) = self.read()?
            && w.seq >= seq
        {
            *seen = w.seq;
            return Ok(());
        }
        let body = serde_json::to_vec(&Witnessed {
            journal: self.journal.clone(),
            seq,
            mac: mac.to_string(),
        })
        .expect("a witness serializes");
        write_atomic(&self.path, &body).map_err(|source| WitnessError::Write {
            path: self.path.clone(),
            source,
        })?;
        *seen = seq;
        Ok(())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        super::audit::create_private_dir(dir)?;
    }
    let tmp = super::audit::temp_sibling(path);
    let _ = std::fs::remove_file(&tmp);
    let written = super::audit::write_private(&tmp, bytes);
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

impl Store {
    /// Keep a witness of this journal in `state_dir`.
    pub fn with_witness(mut self, state_dir: &Path) -> Store {
        self.witness = Some(std::sync::Arc::new(Witness::new(state_dir, &self.target)));
        self
    }

    pub fn witness(&self) -> Option<&Witness> {
        self.witness.as_deref()
    }

    /// Move the witness on to (`seq`, `mac`) if that is newer.
    pub(crate) fn saw_head(&self, seq: i64, mac: &str) {
        if let Some(w) = &self.witness
            && let Err(e) = w.saw(seq, mac)
        {
            tracing::warn!("{e}");
        }
    }

    /// The journal's newest entry (seq, MAC), if any.
    pub async fn chain_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("reading the audit head"))?;
        row.map(|r| -> Result<(i64, String), StoreError> {
            let c = StoreError::corrupt("the audit head");
            Ok((r.try_get(0).map_err(&c)?, r.try_get(1).map_err(&c)?))
        })
        .transpose()
    }

    /// Does the journal still hold the entry this machine witnessed? The
    /// finding in words when it does not (the witness is then held, so
    /// later writes of this process do not paper over it).
    pub async fn check_witness(&self) -> Result<Option<String>, StoreError> {
        let Some(w) = &self.witness else {
            return Ok(None);
        };
        let seen = match w.read() {
            Ok(Some(seen)) => seen,
            Ok(None) => return Ok(None),
            Err(e) => return Ok(Some(e.to_string())),
        };
        let mac: Option<String> = sqlx::query_scalar("SELECT mac FROM audit_log WHERE seq = $1")
            .bind(seen.seq)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("checking the witnessed entry"))?;
        let finding = match mac {
            Some(m) if m == seen.mac => return Ok(None),
            Some(_) => format!(
                "this machine saw audit entry {} with MAC {}…, but the journal now holds another entry {}: it was rolled back or rewritten (witness {})",
                seen.seq,
                &seen.mac[..seen.mac.len().min(16)],
                seen.seq,
                w.path().display()
            ),
            None => format!(
                "this machine saw audit entry {} (MAC {}…), but the journal no longer holds it: its tail was deleted or rolled back (witness {})",
                seen.seq,
                &seen.mac[..seen.mac.len().min(16)],
                w.path().display()
            ),
        };
        w.hold();
        Ok(Some(finding))
    }

    /// Read the head and move the witness on; refuses to move it when the
    /// witnessed entry is gone (returns that finding).
    pub async fn observe_head(&self) -> Result<Option<String>, StoreError> {
        if self.witness.is_none() {
            return Ok(None);
        }
        if let Some(finding) = self.check_witness().await? {
            return Ok(Some(finding));
        }
        if let Some((seq, mac)) = self.chain_head().await? {
            self.saw_head(seq, &mac);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_witness_moves_forward_only_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let w = Witness::new(&dir.path().join("state"), "/tmp/j.db");
        assert_eq!(w.read().unwrap(), None);
        w.saw(3, "m3").unwrap();
        w.saw(2, "m2").unwrap();
        assert_eq!(
            w.read().unwrap().map(|x| (x.seq, x.mac)),
            Some((3, "m3".into()))
        );
        // Another process (a fresh handle) does not move it back either.
        let other = Witness::new(&dir.path().join("state"), "/tmp/j.db");
        other.saw(1, "m1").unwrap();
        assert_eq!(w.read().unwrap().unwrap().seq, 3);
        w.hold();
        w.saw(9, "m9").unwrap();
        assert_eq!(w.read().unwrap().unwrap().seq, 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(w.path()), 0o600);
            assert_eq!(mode(w.path().parent().unwrap()), 0o700);
        }
        let elsewhere = Witness::new(&dir.path().join("state"), "postgres://db/other");
        assert_ne!(elsewhere.path(), w.path());
    }
}
