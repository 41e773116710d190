//! The journal: releases, step runs, sign-offs and the audit chain, over
//! sqlx. SQLite by default (a file), PostgreSQL for teams.
//!
//! One code path for both: `sqlx::Any` with `$n` placeholders (SQLite reads
//! `$1` as parameter 1), integers as BIGINT and text as TEXT, which Any
//! carries on both. The schema is kept twice, once per dialect, in
//! `migrations/`. Backend-specific bits are few and live in `open` and
//! `begin_write`.

mod agree;
mod apply;
mod audit;
mod chain;
pub mod changes;
pub mod content;
mod error;
pub mod identity;
pub mod lease;
mod paths;
mod processes;
pub mod readonly;
mod rebuild;
mod records;
mod signoff_rows;
mod task;
pub mod team;
mod witness;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};

pub use agree::Disagreement;
pub use audit::{AuditKey, Broken, BrokenWhy, GENESIS_MAC, VerifyReport};
pub use chain::Discarded;
pub use error::{
    Fence, Invalid, KeyProblem, OpenProblem, ReadOnlyError, SignoffRefused, StoreError,
    WitnessError, redact,
};
pub use paths::{default_audit_key_path, default_journal_path};
pub use processes::StepProcess;
pub use rebuild::{rebuild, step_outputs};
pub use records::{
    OUTPUT_MAX_BYTES, OUTPUT_MAX_LINES, ReleaseSummary, RunState, StoredRelease, StoredStepRun,
    from_record,
};
pub use task::run;
pub use witness::{Witness, Witnessed};

/// Which database the journal is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The journal's schema migrations in this backend's dialect.
    pub(crate) fn migrator(self) -> sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => sqlx::migrate!("src/backend/store/migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("src/backend/store/migrations/postgres"),
        }
    }
}

/// A handle on the journal. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    key: AuditKey,
    /// Serializes appends in this process, so the audit chain never forks.
    append: Arc<tokio::sync::Mutex<()>>,
    /// Where the journal is, redacted: safe to print.
    target: String,
    /// This machine's witness of the journal's head (commands set it).
    witness: Option<Arc<witness::Witness>>,
}

/// Key of the PostgreSQL advisory lock held while appending ("fdaudit").
const PG_AUDIT_LOCK: i64 = 0x0066_6461_7564_6974;

/// Per-connection SQLite settings. WAL lets readers work beside the writer;
/// `synchronous = FULL` makes every acknowledged commit survive a crash or
/// power loss; the busy timeout waits out another process's write.
const SQLITE_PRAGMAS: [&str; 3] = [
    "PRAGMA busy_timeout = 10000",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
];

enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Store {
    /// Open (creating if needed) the journal at `target`: a file path, a
    /// `sqlite:` URL, or a `postgres://` / `postgresql://` URL. Applies the
    /// migrations before returning.
    pub async fn open(target: &str, key: AuditKey) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url, shown) = match classify(target)? {
            Target::Sqlite(path) => {
                let path = prepare_sqlite_file(&path)?;
                let shown = path.display().to_string();
                (Backend::Sqlite, sqlite_url(&path, &shown)?, shown)
            }
            Target::Postgres(url) => (Backend::Postgres, url, redact(target)),
        };
        let open_err = |e: sqlx::Error| StoreError::Open {
            target: shown.clone(),
            reason: OpenProblem::Driver(e),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(open_err)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(15));
        let pool = match backend {
            Backend::Postgres => pool_options.max_connections(5),
            Backend::Sqlite => pool_options.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL is a property of the file; asking again is a no-op.
                    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
                        .fetch_one(&mut *conn)
                        .await?;
                    if !mode.eq_ignore_ascii_case("wal") {
                        return Err(sqlx::Error::Configuration(
                            format!("SQLite refused WAL journal mode (got {mode}); is the file on a network filesystem?")
                                .into(),
                        ));
                    }
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            }),
        }
        .connect_with(options)
        .await
        .map_err(open_err)?;
        let migrator = backend.migrator();
        // A least-privilege PostgreSQL role (config/sql/team-roles.sql) may
        // not create even sqlx's bookkeeping table: a current schema is left
        // alone.
        if !(backend == Backend::Postgres && identity::schema_current(&pool, &migrator).await) {
            migrator
                .run(&pool)
                .await
                .map_err(|source| StoreError::Migrate {
                    target: shown.clone(),
                    source,
                })?;
        }
        Ok(Store {
            pool,
            backend,
            key,
            append: Arc::new(tokio::sync::Mutex::new(())),
            target: shown,
            witness: None,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the journal is (passwords redacted).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Close the pool, waiting for connections to finish their work.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The same journal with another audit key (a first run that just
    /// created the key for an empty journal).
    pub fn with_key(mut self, key: AuditKey) -> Store {
        self.key = key;
        self
    }

    /// Does the audit log hold any entry?
    pub async fn has_entries(&self) -> Result<bool, StoreError> {
        Ok(self.chain_head().await?.is_some())
    }

    /// A write transaction that nobody else can interleave with: on SQLite
    /// `BEGIN IMMEDIATE` takes the write lock up front (other processes on the
    /// same file wait on the busy timeout); on PostgreSQL an advisory lock held
    /// until commit serializes appends across all clients.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let err = StoreError::query("starting a journal write");
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(err),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await.map_err(&err)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_AUDIT_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(&err)?;
                Ok(tx)
            }
        }
    }
}

fn classify(target: &str) -> Result<Target, StoreError> {
    let refuse = |reason: OpenProblem| StoreError::Open {
        target: redact(target),
        reason,
    };
    if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        return Ok(Target::Postgres(target.to_string()));
    }
    let path = match target.strip_prefix("sqlite:") {
        Some(rest) => {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.contains('?') {
                return Err(refuse(OpenProblem::SqliteParams));
            }
            percent_decode(rest).ok_or_else(|| refuse(OpenProblem::BadEscape))?
        }
        None if target.contains("://") => {
            return Err(refuse(OpenProblem::UnknownScheme));
        }
        None => target.to_string(),
    };
    if path.is_empty() || path == ":memory:" {
        return Err(refuse(OpenProblem::InMemory));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// Make the path absolute and create its parent directories.
fn prepare_sqlite_file(path: &Path) -> Result<PathBuf, StoreError> {
    let fail = |reason: OpenProblem| StoreError::Open {
        target: path.display().to_string(),
        reason,
    };
    let path = std::path::absolute(path).map_err(|e| fail(OpenProblem::Path(e)))?;
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir).map_err(|source| {
            fail(OpenProblem::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })
        })?;
    }
    // A new journal is created 0600 before SQLite opens it: SQLite gives
    // the -wal and -shm files the database file's mode, so all three stay
    // private. An existing one (perhaps from an older version) is made
    // private when we may; one we may only read is left to SQLite.
    if path.exists() {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            let _ = crate::private::tighten(Path::new(&side));
        }
    } else {
        crate::private::open_append(&path).map_err(|e| fail(OpenProblem::Path(e)))?;
    }
    Ok(path)
}

/// `sqlite://` URL for an absolute path; sqlx percent-decodes the path.
fn sqlite_url(path: &Path, shown: &str) -> Result<String, StoreError> {
    let text = path.to_str().ok_or_else(|| StoreError::Open {
        target: shown.to_string(),
        reason: OpenProblem::NotUtf8,
    })?;
    let mut url = String::from("sqlite://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~') {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_classified() {
        assert!(matches!(
            classify("postgresql://u:p@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(
            matches!(classify("/tmp/j.db"), Ok(Target::Sqlite(p)) if p == Path::new("/tmp/j.db"))
        );
        assert!(
            matches!(classify("sqlite:///tmp/a%20b.db"), Ok(Target::Sqlite(p)) if p == Path::new("/tmp/a b.db"))
        );
        assert!(classify("sqlite::memory:").is_err());
        assert!(classify("mysql://x").is_err());
        let err = classify("mysql://u:secret@h/db").err().unwrap().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn sqlite_urls_escape_odd_paths() {
        let url = sqlite_url(Path::new("/tmp/a b?#%.db"), "").unwrap();
        assert_eq!(url, "sqlite:///tmp/a%20b%3F%23%25.db?mode=rwc");
    }
}
