//! Which process group each step attempt ran in (`step_process` audit
//! entries), so a resume can tell whether an interrupted step still runs.

use super::Store;
use super::chain::KindEntry;
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
        let entries = self
            .entries_of_kind(release_id, &["step_process"], "step processes")
            .await?;
        let mut out = Vec::new();
        for KindEntry {
            host, detail: v, ..
        } in entries
        {
            let num = |k: &str| v.get(k).and_then(serde_json::Value::as_i64);
            let (Some(step_id), Some(attempt), Some(pid), Some(pgid)) = (
                v.get("step_id").and_then(|s| s.as_str()),
                num("attempt"),
                num("pid"),
                num("pgid"),
            ) else {
                return Err(StoreError::Corrupt(format!(
                    "a step_process entry lacks a field: {v}"
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
