//! What the journal holds, read back as plain values.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::StoreError;
use crate::runbook::gates::{Decision, Signoff};
use crate::runbook::progress::ReleaseStatus;

/// Step output kept per attempt: the last lines, at most this many...
pub const OUTPUT_MAX_LINES: usize = 200;
/// ...and at most this many bytes in all.
pub const OUTPUT_MAX_BYTES: usize = 64 * 1024;

/// A step run's state as journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Intent written, no outcome yet.
    Started,
    Succeeded,
    Failed,
    Skipped,
    /// A check that could not decide (e.g. a metric query with no data).
    Inconclusive,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Started => "started",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Skipped => "skipped",
            RunState::Inconclusive => "inconclusive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "started" => RunState::Started,
            "succeeded" => RunState::Succeeded,
            "failed" => RunState::Failed,
            "skipped" => RunState::Skipped,
            "inconclusive" => RunState::Inconclusive,
            _ => return None,
        })
    }
}

/// One attempt of one step (a row of `step_runs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStepRun {
    pub step_id: String,
    pub attempt: u32,
    /// `None` for a step skipped without ever starting.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub state: RunState,
    pub exit_code: Option<i32>,
    /// Failure reason, skip reason or the person's note.
    pub detail: Option<String>,
    /// The bounded tail of the output, oldest line first.
    pub output: Vec<String>,
    /// The audit entry of the row's last write: later writes have larger ones.
    pub audit_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResumeChoice {
    pub step_id: String,
    pub choice: String,
    pub person: String,
    pub host: String,
    pub at: i64,
}

/// A release with everything journaled about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRelease {
    pub id: String,
    pub runbook_name: String,
    pub runbook_path: String,
    pub runbook_hash: String,
    pub environment: String,
    pub inputs: BTreeMap<String, String>,
    pub initiator: String,
    pub host: String,
    pub status: ReleaseStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Every attempt, in journal order.
    pub steps: Vec<StoredStepRun>,
    /// In journal order.
    pub signoffs: Vec<Signoff>,
    /// In journal order.
    pub resume_choices: Vec<StoredResumeChoice>,
}

impl StoredRelease {
    /// The step's latest journaled attempt.
    pub fn latest_run(&self, step_id: &str) -> Option<&StoredStepRun> {
        self.steps
            .iter()
            .filter(|r| r.step_id == step_id)
            .max_by_key(|r| r.audit_seq)
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

fn corrupt(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn release_status(s: &str) -> Result<ReleaseStatus, StoreError> {
    ReleaseStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown release status {s:?}")))
}

fn summary(row: &AnyRow) -> Result<ReleaseSummary, StoreError> {
    let c = corrupt("a releases row");
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

fn step_run(row: &AnyRow) -> Result<StoredStepRun, StoreError> {
    let c = corrupt("a step_runs row");
    let state: String = row.try_get("status").map_err(&c)?;
    let output: String = row.try_get("output").map_err(&c)?;
    let attempt: i64 = row.try_get("attempt").map_err(&c)?;
    let exit_code: Option<i64> = row.try_get("exit_code").map_err(&c)?;
    Ok(StoredStepRun {
        step_id: row.try_get("step_id").map_err(&c)?,
        attempt: u32::try_from(attempt)
            .map_err(|_| StoreError::Corrupt(format!("attempt {attempt}")))?,
        started_at: row.try_get("started_at").map_err(&c)?,
        finished_at: row.try_get("finished_at").map_err(&c)?,
        state: RunState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown step status {state:?}")))?,
        exit_code: exit_code
            .map(|v| i32::try_from(v).map_err(|_| StoreError::Corrupt(format!("exit code {v}"))))
            .transpose()?,
        detail: row.try_get("detail").map_err(&c)?,
        output: serde_json::from_str(&output).map_err(|e| {
            StoreError::Corrupt(format!("step output is not a JSON list of lines: {e}"))
        })?,
        audit_seq: row.try_get("audit_seq").map_err(&c)?,
    })
}

fn signoff(row: &AnyRow) -> Result<Signoff, StoreError> {
    let c = corrupt("a signoffs row");
    let decision: String = row.try_get("decision").map_err(&c)?;
    Ok(Signoff {
        gate: row.try_get("gate").map_err(&c)?,
        person: row.try_get("person").map_err(&c)?,
        host: row.try_get("host").map_err(&c)?,
        role: row.try_get("role").map_err(&c)?,
        decision: Decision::parse(&decision)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown decision {decision:?}")))?,
        comment: row.try_get("comment").map_err(&c)?,
        approved_hash: row.try_get("approved_hash").map_err(&c)?,
        at: row.try_get("at").map_err(&c)?,
    })
}

fn resume_choice(row: &AnyRow) -> Result<StoredResumeChoice, StoreError> {
    let c = corrupt("a resume_choices row");
    Ok(StoredResumeChoice {
        step_id: row.try_get("step_id").map_err(&c)?,
        choice: row.try_get("choice").map_err(&c)?,
        person: row.try_get("person").map_err(&c)?,
        host: row.try_get("host").map_err(&c)?,
        at: row.try_get("at").map_err(&c)?,
    })
}

impl Store {
    /// Everything journaled about release `id`, or `None` if there is no such release.
    pub async fn load_release(&self, id: &str) -> Result<Option<StoredRelease>, StoreError> {
        let read = StoreError::query(format!("reading release {id}"));
        let Some(row) = sqlx::query(
            "SELECT id, runbook_name, runbook_path, runbook_hash, environment, inputs_json, \
             initiator, host, status, started_at, finished_at FROM releases WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(&read)?
        else {
            return Ok(None);
        };
        let head = summary(&row)?;
        let c = corrupt("a releases row");
        let inputs: String = row.try_get("inputs_json").map_err(&c)?;
        let steps = sqlx::query(
            "SELECT step_id, attempt, started_at, finished_at, status, exit_code, detail, output, audit_seq \
             FROM step_runs WHERE release_id = $1 ORDER BY audit_seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&read)?;
        let signoffs = sqlx::query(
            "SELECT gate, person, host, role, decision, comment, approved_hash, at \
             FROM signoffs WHERE release_id = $1 ORDER BY audit_seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&read)?;
        let choices = sqlx::query(
            "SELECT step_id, choice, person, host, at FROM resume_choices \
             WHERE release_id = $1 ORDER BY audit_seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&read)?;
        Ok(Some(StoredRelease {
            id: head.id,
            runbook_name: head.runbook_name,
            runbook_path: row.try_get("runbook_path").map_err(&c)?,
            runbook_hash: row.try_get("runbook_hash").map_err(&c)?,
            environment: head.environment,
            inputs: serde_json::from_str(&inputs).map_err(|e| {
                StoreError::Corrupt(format!("release inputs are not a JSON map of text: {e}"))
            })?,
            initiator: head.initiator,
            host: row.try_get("host").map_err(&c)?,
            status: head.status,
            started_at: head.started_at,
            finished_at: head.finished_at,
            steps: steps.iter().map(step_run).collect::<Result<_, _>>()?,
            signoffs: signoffs.iter().map(signoff).collect::<Result<_, _>>()?,
            resume_choices: choices
                .iter()
                .map(resume_choice)
                .collect::<Result<_, _>>()?,
        }))
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
