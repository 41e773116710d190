//! Reading the record: a release's audit entries, each checked against its
//! MAC, folded by the domain (`runbook::record`). An entry that fails its
//! MAC, or does not fit the release, is skipped and reported, never counted.

use std::fmt;

use sqlx::Any;

use super::Store;
use super::audit::{self, ENTRY_COLUMNS, RawEntry, VerifyReport};
use super::error::StoreError;
use crate::runbook::record::{self, Entry, ReleaseRecord};

/// An entry left out of a fold, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discarded {
    pub seq: i64,
    pub why: String,
}

impl fmt::Display for Discarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit entry {} not counted: {}", self.seq, self.why)
    }
}

fn rows_to_entries(
    rows: &[sqlx::any::AnyRow],
    key: &super::AuditKey,
) -> (Vec<Entry>, Vec<Discarded>) {
    let mut entries = Vec::new();
    let mut discarded = Vec::new();
    for row in rows {
        match RawEntry::from_row(row) {
            Ok(raw) => match raw.verified(key) {
                Ok(e) => entries.push(e),
                Err(why) => discarded.push(Discarded {
                    seq: raw.seq,
                    why: audit::Broken { seq: raw.seq, why }.to_string(),
                }),
            },
            Err(e) => discarded.push(Discarded {
                seq: sqlx::Row::try_get(row, 0).unwrap_or(0),
                why: format!("unreadable: {e}"),
            }),
        }
    }
    (entries, discarded)
}

/// Release `id` folded from its verified entries, read in seq order
/// (`None`: no verified entry opened it), with every entry left out.
pub(crate) async fn release_record<'c, E>(
    ex: E,
    key: &super::AuditKey,
    id: &str,
) -> Result<(Option<ReleaseRecord>, Vec<Discarded>), StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE release_id = $1 ORDER BY seq"
    )))
    .bind(id)
    .fetch_all(ex)
    .await
    .map_err(StoreError::query(format!(
        "reading the audit entries of release {id}"
    )))?;
    let (entries, mut discarded) = rows_to_entries(&rows, key);
    let (rec, foreign) = record::fold(id, &entries);
    discarded.extend(foreign.into_iter().map(|f| Discarded {
        seq: f.seq,
        why: f.why,
    }));
    discarded.sort_by_key(|d| d.seq);
    Ok((rec, discarded))
}

/// One stored audit entry of a kind the fold does not keep.
pub(crate) struct KindEntry {
    pub seq: i64,
    pub host: String,
    pub detail: serde_json::Value,
}

impl Store {
    /// The audit entries of `release_id` whose kind is one of `kinds`
    /// (names, never user text), oldest first, read from the log as
    /// stored; `what` names them in errors.
    pub(crate) async fn entries_of_kind(
        &self,
        release_id: &str,
        kinds: &[&'static str],
        what: &str,
    ) -> Result<Vec<KindEntry>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT seq, host, detail_json FROM audit_log WHERE release_id = $1 \
             AND kind IN ({}) ORDER BY seq",
            kinds.join(", ")
        )))
        .bind(release_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "reading the {what} of release {release_id}"
        )))?;
        rows.iter()
            .map(|row| {
                let c = StoreError::corrupt("an audit_log row");
                let seq: i64 = sqlx::Row::try_get(row, "seq").map_err(&c)?;
                let at =
                    |e: &dyn fmt::Display| StoreError::Corrupt(format!("audit entry {seq}: {e}"));
                let host: String = sqlx::Row::try_get(row, "host").map_err(|e| at(&e))?;
                let detail: String = sqlx::Row::try_get(row, "detail_json").map_err(|e| at(&e))?;
                let detail =
                    serde_json::from_str(&detail).map_err(|e| at(&format!("detail: {e}")))?;
                Ok(KindEntry { seq, host, detail })
            })
            .collect()
    }

    /// Recompute the audit chain with `key`.
    pub async fn verify_audit(&self, key: &super::AuditKey) -> Result<VerifyReport, StoreError> {
        Ok(audit::verify(&self.pool, key).await?.0)
    }

    /// Recompute the chain with this store's key; also the entries whose
    /// own MAC holds, for folding.
    pub async fn verify_chain(&self) -> Result<(VerifyReport, Vec<Entry>), StoreError> {
        let out = audit::verify(&self.pool, &self.key).await?;
        if let Some((seq, mac)) = &out.0.head {
            self.saw_head(*seq, mac);
        }
        Ok(out)
    }

    /// Release `id` as its verified audit entries tell it.
    pub async fn release_record(
        &self,
        id: &str,
    ) -> Result<(Option<ReleaseRecord>, Vec<Discarded>), StoreError> {
        release_record(&self.pool, &self.key, id).await
    }

    /// Verified entries of the given kinds, across all releases.
    pub(crate) async fn entries_of_kinds(&self, kinds: &[&str]) -> Result<Vec<Entry>, StoreError> {
        let list = (1..=kinds.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE kind IN ({list}) ORDER BY seq");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in kinds {
            q = q.bind(*k);
        }
        let rows = q
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("reading the audit log"))?;
        Ok(rows_to_entries(&rows, &self.key).0)
    }
}
