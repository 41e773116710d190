//! Journal writes: each `JournalEntry` becomes its rows plus one audit
//! entry, in one transaction, so the journal and the audit log never
//! disagree.

use serde_json::{Value, json};
use sqlx::{Any, Transaction};

use super::Store;
use super::audit::{self, EntryFields};
use super::error::{Invalid, StoreError};
use super::records::{OUTPUT_MAX_BYTES, OUTPUT_MAX_LINES};
use super::signoff_rows;
use crate::protocol::command::JournalEntry;
use crate::runbook::progress::ReleaseStatus;

type Tx = Transaction<'static, Any>;

impl Store {
    /// Write `entry` and its audit entry atomically. `actor` and `host` are
    /// who is writing (the operator at this terminal). Returns once committed.
    pub async fn apply(
        &self,
        entry: &JournalEntry,
        actor: &str,
        host: &str,
    ) -> Result<(), StoreError> {
        self.apply_as(entry, actor, host, None).await
    }

    /// `apply` by the driver of a release: `fence` is its lease token, checked
    /// in the write transaction (a stale holder's write is refused).
    pub async fn apply_as(
        &self,
        entry: &JournalEntry,
        actor: &str,
        host: &str,
        fence: Option<i64>,
    ) -> Result<(), StoreError> {
        check(entry)?;
        let _serial = self.append.lock().await;
        let mut tx = self.begin_write().await?;
        if let Some(token) = fence {
            super::lease::check_fence(&mut tx, self.backend, release_of(entry), token).await?;
        }
        let seq = self.next_seq(&mut tx).await?;
        let Audit {
            release_id,
            kind,
            detail,
        } = write(&mut tx, entry, seq, host).await?;
        let detail_json = detail.to_string();
        let (seq, mac) = self
            .audit_in(&mut tx, release_id, kind, &detail_json, actor, host)
            .await?;
        super::changes::in_tx(&mut tx, self.backend, release_id, kind).await?;
        tx.commit().await.map_err(StoreError::query(format!(
            "committing {kind} of release {release_id}"
        )))?;
        self.saw_head(seq, &mac);
        Ok(())
    }

    /// Append one audit entry inside a write transaction the caller holds
    /// (with `self.append` locked).
    pub(crate) async fn audit_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        release_id: &str,
        kind: &str,
        detail_json: &str,
        actor: &str,
        host: &str,
    ) -> Result<(i64, String), StoreError> {
        let (last_seq, prev_mac) = audit::head(tx).await?;
        let seq = last_seq + 1;
        let fields = EntryFields {
            seq,
            release_id: Some(release_id),
            at: chrono::Utc::now().timestamp_millis(),
            actor,
            host,
            kind,
            detail_json,
        };
        let mac = audit::append(tx, &self.key, &prev_mac, &fields).await?;
        Ok((seq, mac))
    }

    /// The next audit seq inside a write transaction (for rows keyed by it).
    pub(crate) async fn next_seq(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<i64, StoreError> {
        Ok(audit::head(tx).await?.0 + 1)
    }
}

/// The release `entry` writes to.
fn release_of(entry: &JournalEntry) -> &str {
    match entry {
        JournalEntry::ReleaseStarted { release, .. } => &release.id,
        JournalEntry::StepStarted { release_id, .. }
        | JournalEntry::StepFinished { release_id, .. }
        | JournalEntry::Signoff { release_id, .. }
        | JournalEntry::ResumeChoice { release_id, .. }
        | JournalEntry::ReleaseEnded { release_id, .. }
        | JournalEntry::ContentChanged { release_id, .. }
        | JournalEntry::StepProcess { release_id, .. }
        | JournalEntry::StepInterrupted { release_id, .. }
        | JournalEntry::ChecklistTicked { release_id, .. }
        | JournalEntry::ServiceStarted { release_id, .. } => release_id,
    }
}

/// Refuse what the schema would refuse, with a clearer message.
fn check(entry: &JournalEntry) -> Result<(), StoreError> {
    match entry {
        JournalEntry::StepFinished { status, .. }
            if !matches!(status.as_str(), "succeeded" | "failed" | "skipped") =>
        {
            Err(StoreError::Invalid(Invalid::StepOutcome(status.clone())))
        }
        JournalEntry::ReleaseEnded { status, .. }
            if !ReleaseStatus::parse(status).is_some_and(ReleaseStatus::is_final) =>
        {
            Err(StoreError::Invalid(Invalid::ReleaseEnd(status.clone())))
        }
        _ => Ok(()),
    }
}

/// What one journal write says in the audit log: its release, its kind
/// and its detail. Only what the entry carries (secrets are masked
/// upstream) and never step output.
struct Audit<'a> {
    release_id: &'a str,
    kind: &'static str,
    detail: Value,
}

fn audit<'a>(release_id: &'a str, kind: &'static str, detail: Value) -> Audit<'a> {
    Audit {
        release_id,
        kind,
        detail,
    }
}

/// Write the rows of `entry` (audit entry `seq`) and say what its audit
/// entry holds: one arm per kind of write, rows and audit detail together.
async fn write<'a>(
    tx: &mut Tx,
    entry: &'a JournalEntry,
    seq: i64,
    host: &str,
) -> Result<Audit<'a>, StoreError> {
    Ok(match entry {
        JournalEntry::ReleaseStarted {
            release: r,
            runbook_path,
        } => {
            let inputs = serde_json::to_string(&r.inputs).expect("a map of strings serializes");
            sqlx::query(
                "INSERT INTO releases (id, runbook_name, runbook_path, runbook_hash, environment, \
                 inputs_json, initiator, host, status, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&r.id)
            .bind(&r.runbook_name)
            .bind(runbook_path)
            .bind(&r.runbook_hash)
            .bind(&r.environment)
            .bind(inputs)
            .bind(&r.initiator)
            .bind(host)
            .bind(r.status.as_str())
            .bind(r.started_at)
            .bind(r.finished_at)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(format!(
                "recording the start of release {}",
                r.id
            )))?;
            audit(
                &r.id,
                "release_started",
                json!({
                    "runbook_name": r.runbook_name,
                    "runbook_path": runbook_path,
                    "runbook_hash": r.runbook_hash,
                    "environment": r.environment,
                    "inputs": r.inputs,
                    "initiator": r.initiator,
                    "started_at": r.started_at,
                }),
            )
        }
        JournalEntry::StepStarted {
            release_id,
            step_id,
            attempt,
            at,
        } => {
            sqlx::query(
                "INSERT INTO step_runs (release_id, step_id, attempt, started_at, status, audit_seq) \
                 VALUES ($1, $2, $3, $4, 'started', $5)",
            )
            .bind(release_id)
            .bind(step_id)
            .bind(i64::from(*attempt))
            .bind(*at)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(format!(
                "recording the start of step {step_id} (attempt {attempt}) of release {release_id}"
            )))?;
            audit(
                release_id,
                "step_started",
                json!({ "step_id": step_id, "attempt": attempt, "at": at }),
            )
        }
        JournalEntry::StepFinished {
            release_id,
            step_id,
            attempt,
            status,
            exit_code,
            detail,
            at,
            output,
        } => {
            let lines = serde_json::to_string(&bound_output(output)).expect("lines serialize");
            // Insert covers a skip of a step that never started. A later
            // outcome for the same attempt replaces the earlier one (the audit
            // log keeps both) but keeps its output when it brings none.
            sqlx::query(
                "INSERT INTO step_runs (release_id, step_id, attempt, finished_at, status, exit_code, \
                 detail, output, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (release_id, step_id, attempt) DO UPDATE SET \
                 finished_at = excluded.finished_at, status = excluded.status, \
                 exit_code = excluded.exit_code, detail = excluded.detail, \
                 output = CASE WHEN excluded.output = '[]' THEN step_runs.output ELSE excluded.output END, \
                 audit_seq = excluded.audit_seq",
            )
            .bind(release_id)
            .bind(step_id)
            .bind(i64::from(*attempt))
            .bind(*at)
            .bind(status)
            .bind(exit_code.map(i64::from))
            .bind(detail.as_deref())
            .bind(lines)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(format!(
                "recording the outcome of step {step_id} (attempt {attempt}) of release {release_id}"
            )))?;
            audit(
                release_id,
                "step_finished",
                json!({
                    "step_id": step_id,
                    "attempt": attempt,
                    "status": status,
                    "exit_code": exit_code,
                    "detail": detail,
                    "at": at,
                    "output_lines": output.len(),
                }),
            )
        }
        JournalEntry::Signoff {
            release_id,
            signoff: s,
        } => {
            signoff_rows::insert(tx, seq, release_id, s, None, "claim").await?;
            audit(release_id, "signoff", signoff_rows::audit_detail(s))
        }
        JournalEntry::ResumeChoice {
            release_id,
            step_id,
            choice,
            person,
            at,
        } => {
            sqlx::query(
                "INSERT INTO resume_choices (audit_seq, release_id, step_id, choice, person, host, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(seq)
            .bind(release_id)
            .bind(step_id)
            .bind(choice)
            .bind(person)
            .bind(host)
            .bind(*at)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(format!(
                "recording the resume choice for step {step_id} of release {release_id}"
            )))?;
            audit(
                release_id,
                "resume_choice",
                json!({ "step_id": step_id, "choice": choice, "person": person, "at": at }),
            )
        }
        JournalEntry::ReleaseEnded {
            release_id,
            status,
            at,
        } => {
            let done =
                sqlx::query("UPDATE releases SET status = $1, finished_at = $2 WHERE id = $3")
                    .bind(status)
                    .bind(*at)
                    .bind(release_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(StoreError::query(format!(
                        "recording the end of release {release_id}"
                    )))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Invalid(Invalid::NoRelease(release_id.clone())));
            }
            audit(
                release_id,
                "release_ended",
                json!({ "status": status, "at": at }),
            )
        }
        // The audit entry is the whole record (`store::content`).
        JournalEntry::ContentChanged {
            release_id,
            old_hash,
            new_hash,
            changed,
            manifest,
            at,
        } => audit(
            release_id,
            // The first record of a release's content is not a change.
            if old_hash.is_some() {
                "content_changed"
            } else {
                "content_recorded"
            },
            json!({
                "old_hash": old_hash,
                "new_hash": new_hash,
                "changed": changed,
                "at": at,
                "manifest": manifest,
            }),
        ),
        // The audit entry is the whole record of these three.
        JournalEntry::StepProcess {
            release_id,
            step_id,
            attempt,
            pid,
            pgid,
            at,
        } => audit(
            release_id,
            "step_process",
            json!({ "step_id": step_id, "attempt": attempt, "pid": pid, "pgid": pgid, "at": at }),
        ),
        JournalEntry::ServiceStarted {
            release_id,
            step_id,
            pid,
            error,
            at,
        } => audit(
            release_id,
            "service_started",
            json!({ "step_id": step_id, "pid": pid, "error": error, "at": at }),
        ),
        JournalEntry::ChecklistTicked { release_id, ticks } => {
            audit(release_id, "checklist_ticked", ticks.detail())
        }
        JournalEntry::StepInterrupted {
            release_id,
            step_id,
            attempt,
            reason,
            at,
            output,
        } => {
            // The run stays `started` (so a resume finds it interrupted);
            // only its output tail is kept, as an outcome would keep it.
            let lines = serde_json::to_string(&bound_output(output)).expect("lines serialize");
            sqlx::query(
                "UPDATE step_runs SET output = $1 \
                 WHERE release_id = $2 AND step_id = $3 AND attempt = $4",
            )
            .bind(lines)
            .bind(release_id)
            .bind(step_id)
            .bind(i64::from(*attempt))
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(format!(
                "recording the interruption of step {step_id} (attempt {attempt}) of release {release_id}"
            )))?;
            audit(
                release_id,
                "step_interrupted",
                json!({
                    "step_id": step_id,
                    "attempt": attempt,
                    "reason": reason,
                    "at": at,
                    "output_lines": output.len(),
                }),
            )
        }
    })
}

/// The last `OUTPUT_MAX_LINES` lines, within `OUTPUT_MAX_BYTES` in all;
/// a single longer line keeps its end.
pub(crate) fn bound_output(lines: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for line in lines.iter().rev().take(OUTPUT_MAX_LINES) {
        if bytes + line.len() <= OUTPUT_MAX_BYTES {
            bytes += line.len();
            kept.push(line.clone());
            continue;
        }
        if kept.is_empty() {
            let mut cut = line.len() - OUTPUT_MAX_BYTES;
            while !line.is_char_boundary(cut) {
                cut += 1;
            }
            kept.push(line[cut..].to_string());
        }
        break;
    }
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_tail_within_bounds() {
        let many: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
        let kept = bound_output(&many);
        assert_eq!(kept.len(), OUTPUT_MAX_LINES);
        assert_eq!(kept.last().unwrap(), "line 499");

        let wide: Vec<String> = (0..10)
            .map(|i| format!("{i}{}", "x".repeat(10_000)))
            .collect();
        let kept = bound_output(&wide);
        assert!(kept.iter().map(String::len).sum::<usize>() <= OUTPUT_MAX_BYTES);
        assert!(kept.last().unwrap().starts_with('9'));

        let huge = vec![format!("é{}", "y".repeat(OUTPUT_MAX_BYTES))];
        let kept = bound_output(&huge);
        assert!(kept[0].len() <= OUTPUT_MAX_BYTES && kept[0].ends_with('y'));
    }
}
