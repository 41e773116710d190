//! The journal opened to look, never to write (`flightdeck watch`): no
//! file, key or bookkeeping table is created, no migration runs, and the
//! connection itself is read-only. Audit entries are read incrementally
//! (after the last seq seen), each checked against its MAC, and folded by
//! the domain's `apply` (TRUST.md rule 1: tables are not consulted).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::audit::{AuditKey, ENTRY_COLUMNS, RawEntry};
use super::error::{ReadOnlyError, StoreError, redact};
use super::{Backend, Target, classify, identity};
use crate::runbook::content::ClusterRef;
use crate::runbook::record::{self, ReleaseRecord};

/// What the content records of a release say that `watch` needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedContent {
    /// The cluster its kube steps ran on, as the driver resolved it.
    pub cluster: Option<ClusterRef>,
    /// Every runbook digest it ran under (the start's and later changes').
    pub runbook_hashes: Vec<String>,
}

/// A read-only view of the journal, folded as it grows.
pub struct JournalReader {
    pool: AnyPool,
    key: AuditKey,
    /// Where the journal is, redacted.
    pub target: String,
    last_seq: i64,
    records: BTreeMap<String, ReleaseRecord>,
    content: BTreeMap<String, RecordedContent>,
    /// Entries not counted: a MAC that does not hold, or unreadable.
    pub not_counted: u64,
}

/// Open the journal at `target` read-only with the key at `key_path`.
/// `Err` is one line saying why releases cannot be shown (no journal, no
/// key, an older schema, unreachable).
pub async fn open_read_only(target: &str, key_path: &Path) -> Result<JournalReader, ReadOnlyError> {
    sqlx::any::install_default_drivers();
    let shown = redact(target);
    let key = match AuditKey::load(key_path) {
        Ok(Some(k)) => k,
        Ok(None) => return Err(ReadOnlyError::NoKey(key_path.to_path_buf())),
        Err(e) => return Err(ReadOnlyError::Key(e)),
    };
    let (backend, url, shown) = match classify(target)? {
        Target::Sqlite(path) => {
            let path = std::path::absolute(&path).map_err(|source| ReadOnlyError::Path {
                shown: shown.clone(),
                source,
            })?;
            let shown = path.display().to_string();
            if !path.is_file() {
                return Err(ReadOnlyError::NoJournal(shown));
            }
            let url = super::sqlite_url(&path, &shown)?;
            let url = url.replace("?mode=rwc", "?mode=ro");
            (Backend::Sqlite, url, shown)
        }
        Target::Postgres(url) => (Backend::Postgres, url, shown),
    };
    let unreachable = |source: sqlx::Error| ReadOnlyError::Unreadable {
        shown: shown.clone(),
        source,
    };
    let options = AnyConnectOptions::from_str(&url).map_err(unreachable)?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Belt and braces beside the read-only open: this session
                // refuses writes whatever a query says.
                let stmts: &[&str] = match backend {
                    Backend::Sqlite => &["PRAGMA query_only = ON", "PRAGMA busy_timeout = 5000"],
                    Backend::Postgres => &["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"],
                };
                for s in stmts {
                    sqlx::query(sqlx::AssertSqlSafe(*s))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(unreachable)?;
    let migrator = backend.migrator();
    if !identity::schema_current(&pool, &migrator).await {
        pool.close().await;
        return Err(ReadOnlyError::OlderSchema(shown));
    }
    Ok(JournalReader {
        pool,
        key,
        target: shown,
        last_seq: 0,
        records: BTreeMap::new(),
        content: BTreeMap::new(),
        not_counted: 0,
    })
}

impl JournalReader {
    /// Read and fold the entries written since the last call. True when
    /// there were any.
    pub async fn refresh(&mut self) -> Result<bool, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq"
        )))
        .bind(self.last_seq)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("reading the audit log"))?;
        let any = !rows.is_empty();
        for row in &rows {
            let raw = match RawEntry::from_row(row) {
                Ok(r) => r,
                Err(_) => {
                    self.not_counted += 1;
                    if let Ok(seq) = sqlx::Row::try_get::<i64, _>(row, 0) {
                        self.last_seq = self.last_seq.max(seq);
                    }
                    continue;
                }
            };
            self.last_seq = self.last_seq.max(raw.seq);
            let Ok(e) = raw.verified(&self.key) else {
                self.not_counted += 1;
                continue;
            };
            let Some(id) = e.release_id.clone() else {
                continue;
            };
            if matches!(e.kind.as_str(), "content_recorded" | "content_changed") {
                let c = self.content.entry(id.clone()).or_default();
                if let Some(m) = e.detail.get("manifest")
                    && let Ok(m) = serde_json::from_value::<crate::runbook::content::ContentManifest>(
                        m.clone(),
                    )
                {
                    if m.cluster.is_some() {
                        c.cluster = m.cluster;
                    }
                    if !c.runbook_hashes.contains(&m.runbook) {
                        c.runbook_hashes.push(m.runbook);
                    }
                }
            }
            let rec = self
                .records
                .entry(id.clone())
                .or_insert_with(|| ReleaseRecord::new(&id));
            // An entry that does not fit is not counted (the fold says why).
            let _ = record::apply(rec, &e);
        }
        Ok(any)
    }

    /// Unfinished releases with what their content records say.
    pub fn running(&self) -> impl Iterator<Item = (&ReleaseRecord, Option<&RecordedContent>)> {
        self.records
            .values()
            .filter(|r| r.header.is_some() && !r.status.is_final())
            .map(|r| (r, self.content.get(&r.id)))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
