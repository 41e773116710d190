//! Which process group each step attempt ran in (`step_process` audit
//! entries), so a resume can tell whether an interrupted step still runs.

use sqlx::Row;

use super::Store;
use super::error::StoreError;

/// One `step_process` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProcess {
    pub step_id: String,
    pub attempt: u32,
    pub pid: i32,
    pub pgid: i32,
    /// The machine it ran on: a pid means nothing elsewhere.
    pub host: String,
}

impl Store {
    /// Every recorded step process of `release_id`, oldest first.
    pub async fn step_processes(&self, release_id: &str) -> Result<Vec<StepProcess>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, detail_json FROM audit_log \
             WHERE release_id = $1 AND kind = 'step_process' ORDER BY seq",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "reading the step processes of release {release_id}"
        )))?;
        let mut out = Vec::new();
        for row in rows {
            let host: String = row
                .try_get("host")
                .map_err(|e| StoreError::Corrupt(format!("an audit_log row: {e}")))?;
            let detail: String = row
                .try_get("detail_json")
                .map_err(|e| StoreError::Corrupt(format!("an audit_log row: {e}")))?;
            let v: serde_json::Value = serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("a step_process entry: {e}")))?;
            let num = |k: &str| v.get(k).and_then(serde_json::Value::as_i64);
            let (Some(step_id), Some(attempt), Some(pid), Some(pgid)) = (
                v.get("step_id").and_then(|s| s.as_str()),
                num("attempt"),
                num("pid"),
                num("pgid"),
            ) else {
                return Err(StoreError::Corrupt(format!(
                    "a step_process entry lacks a field: {detail}"
                )));
            };
            let int = |n: i64| {
                i32::try_from(n)
                    .map_err(|_| StoreError::Corrupt(format!("a step_process entry: {n}")))
            };
            out.push(StepProcess {
                step_id: step_id.to_string(),
                attempt: u32::try_from(attempt)
                    .map_err(|_| StoreError::Corrupt(format!("attempt {attempt}")))?,
                pid: int(pid)?,
                pgid: int(pgid)?,
                host,
            });
        }
        Ok(out)
    }
}
