//! What the journal holds, read back as plain values.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::StoreError;
use crate::runbook::gates::Signoff;
use crate::runbook::progress::ReleaseStatus;
pub use crate::runbook::record::BreakGlass;
use crate::runbook::record::{Attempt, Opened, ReleaseRecord, ResumeChoice};

/// Step output kept per attempt: the last lines, at most this many...
pub const OUTPUT_MAX_LINES: usize = 200;
/// ...and at most this many bytes in all.
pub const OUTPUT_MAX_BYTES: usize = 64 * 1024;

pub use crate::runbook::record::RunState;

/// One attempt of one step as the fold has it, with the bounded tail of
/// its output (from `step_runs`: the audit log holds no output). Reads
/// through to the attempt's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStepRun {
    pub run: Attempt,
    /// The bounded tail of the output, oldest line first.
    pub output: Vec<String>,
}

impl std::ops::Deref for StoredStepRun {
    type Target = Attempt;
    fn deref(&self) -> &Attempt {
        &self.run
    }
}

impl std::ops::DerefMut for StoredStepRun {
    fn deref_mut(&mut self) -> &mut Attempt {
        &mut self.run
    }
}

/// A release with everything journaled about it. Reads as what its
/// `release_started` entry says (`Opened`: runbook, environment, inputs,
/// initiator, start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRelease {
    pub id: String,
    pub opened: Opened,
    /// Where it was started.
    pub host: String,
    pub status: ReleaseStatus,
    pub finished_at: Option<i64>,
    /// Every attempt, in journal order.
    pub steps: Vec<StoredStepRun>,
    /// In journal order.
    pub signoffs: Vec<Signoff>,
    /// In journal order.
    pub resume_choices: Vec<ResumeChoice>,
    /// Every content hash the release ran under (empty: never changed).
    pub content_hashes: Vec<String>,
    /// Starts outside a change window or freeze, with the reason given.
    pub break_glass: Vec<BreakGlass>,
    /// Checklists ticked item by item (who, each item, when), journal order.
    pub checklists: Vec<crate::runbook::record::ChecklistTicks>,
    /// Audit entries of this release that were not counted (MAC fails, or
    /// they do not fit the release), in words.
    pub discarded: Vec<String>,
}

impl std::ops::Deref for StoredRelease {
    type Target = Opened;
    fn deref(&self) -> &Opened {
        &self.opened
    }
}

impl StoredRelease {
    /// The step's latest journaled attempt.
    pub fn latest_run(&self, step_id: &str) -> Option<&StoredStepRun> {
        self.steps
            .iter()
            .filter(|r| r.step_id == step_id)
            .max_by_key(|r| r.seq)
    }

    /// The output stored with the step's latest attempt (empty if none).
    pub fn output(&self, step_id: &str) -> &[String] {
        self.latest_run(step_id).map_or(&[], |r| &r.output)
    }
}

/// One line of `list_releases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSummary {
    pub id: String,
    pub runbook_name: String,
    pub environment: String,
    pub initiator: String,
    pub status: ReleaseStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

fn release_status(s: &str) -> Result<ReleaseStatus, StoreError> {
    ReleaseStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown release status {s:?}")))
}

fn summary(row: &AnyRow) -> Result<ReleaseSummary, StoreError> {
    let c = StoreError::corrupt("a releases row");
    Ok(ReleaseSummary {
        id: row.try_get("id").map_err(&c)?,
        runbook_name: row.try_get("runbook_name").map_err(&c)?,
        environment: row.try_get("environment").map_err(&c)?,
        initiator: row.try_get("initiator").map_err(&c)?,
        status: release_status(&row.try_get::<String, _>("status").map_err(&c)?)?,
        started_at: row.try_get("started_at").map_err(&c)?,
        finished_at: row.try_get("finished_at").map_err(&c)?,
    })
}

impl Store {
    /// Everything the audit log records about release `id` (a fold of
    /// its verified entries; `None` if no verified entry opened it). Step
    /// output, which the log does not hold, comes from `step_runs`,
    /// matched by step and attempt: display only.
    pub async fn load_release(&self, id: &str) -> Result<Option<StoredRelease>, StoreError> {
        let (rec, discarded) = self.release_record(id).await?;
        let Some(rec) = rec else {
            return Ok(None);
        };
        let rows =
            sqlx::query("SELECT step_id, attempt, output FROM step_runs WHERE release_id = $1")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query(format!(
                    "reading the output of release {id}"
                )))?;
        let mut outputs = BTreeMap::new();
        let mut notes: Vec<String> = discarded.iter().map(|d| d.to_string()).collect();
        for row in &rows {
            let c = StoreError::corrupt("a step_runs row");
            let step: String = row.try_get("step_id").map_err(&c)?;
            let attempt: i64 = row.try_get("attempt").map_err(&c)?;
            let text: String = row.try_get("output").map_err(&c)?;
            match serde_json::from_str::<Vec<String>>(&text) {
                Ok(lines) => {
                    outputs.insert((step, attempt), lines);
                }
                Err(e) => notes.push(format!(
                    "the stored output of {step} (attempt {attempt}) is unreadable: {e}"
                )),
            }
        }
        if let Err(e) = self.observe_head().await {
            tracing::warn!("reading the audit head: {e}");
        }
        Ok(stored(rec, &mut outputs, notes))
    }

    /// The newest release of this runbook in this environment that is still running.
    pub async fn latest_open_release(
        &self,
        runbook_name: &str,
        environment: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT id FROM releases WHERE runbook_name = $1 AND environment = $2 \
             AND status = 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(runbook_name)
        .bind(environment)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("looking for an open release"))
    }

    /// The newest release of any runbook, in any state.
    pub async fn latest_release(&self) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT id FROM releases ORDER BY started_at DESC, id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("looking for the latest release"))
    }

    /// The newest running release of any runbook, in any environment.
    pub async fn latest_open_release_any(&self) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT id FROM releases WHERE status = 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("looking for an open release"))
    }

    /// The newest `limit` releases, newest first.
    pub async fn list_releases(&self, limit: u32) -> Result<Vec<ReleaseSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, runbook_name, environment, initiator, status, started_at, finished_at \
             FROM releases ORDER BY started_at DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("listing releases"))?;
        rows.iter().map(summary).collect()
    }
}

/// A folded record as the plain values callers read, without step output
/// (the home screen's lists need none).
pub fn from_record(rec: ReleaseRecord) -> Option<StoredRelease> {
    stored(rec, &mut BTreeMap::new(), Vec::new())
}

/// The fold's record as the plain values callers read.
fn stored(
    rec: ReleaseRecord,
    outputs: &mut BTreeMap<(String, i64), Vec<String>>,
    discarded: Vec<String>,
) -> Option<StoredRelease> {
    let h = rec.header?;
    let mut steps: Vec<StoredStepRun> = rec
        .attempts
        .into_iter()
        .map(|run| StoredStepRun {
            output: outputs
                .remove(&(run.step_id.clone(), i64::from(run.attempt)))
                .unwrap_or_default(),
            run,
        })
        .collect();
    steps.sort_by_key(|s| s.seq);
    Some(StoredRelease {
        id: rec.id,
        opened: h.opened,
        host: h.host,
        status: rec.status,
        finished_at: rec.finished_at,
        steps,
        signoffs: rec.signoffs.into_iter().map(|s| s.signoff).collect(),
        resume_choices: rec.resume_choices,
        content_hashes: rec.content_hashes,
        break_glass: rec.break_glass,
        checklists: rec.checklists,
        discarded,
    })
}
