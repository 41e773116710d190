//! Resume: turn what the journal holds back into the domain `Release`
//! (docs/semantics.md, "Journal and resume"). After a crash nothing is running:
//! a step with intent but no outcome comes back interrupted, or waiting if
//! it waits for a person (asking again is safe).

use super::records::{RunState, StoredRelease, StoredStepRun};
use crate::runbook::progress::{Release, StepRun, StepStatus};
use crate::runbook::{Runbook, Step};

/// The release as the journal left it, step by step in runbook order. Rows
/// for steps the runbook no longer has are ignored (compare
/// `stored.runbook_hash` with the loaded runbook to notice such changes).
pub fn rebuild(rb: &Runbook, stored: &StoredRelease) -> Release {
    Release {
        id: stored.id.clone(),
        runbook_name: stored.runbook_name.clone(),
        runbook_hash: stored.runbook_hash.clone(),
        environment: stored.environment.clone(),
        inputs: stored.inputs.clone(),
        initiator: stored.initiator.clone(),
        status: stored.status,
        started_at: stored.started_at,
        finished_at: stored.finished_at,
        steps: rb.steps().map(|step| step_run(step, stored)).collect(),
        signoffs: stored.signoffs.clone(),
    }
}

/// The stored output of each step's latest attempt, aligned with
/// `rebuild(..).steps` (empty where nothing was stored).
pub fn step_outputs(rb: &Runbook, stored: &StoredRelease) -> Vec<Vec<String>> {
    rb.steps().map(|s| stored.output(&s.id).to_vec()).collect()
}

fn step_run(step: &Step, stored: &StoredRelease) -> StepRun {
    let attempts = stored
        .steps
        .iter()
        .filter(|r| r.step_id == step.id)
        .map(|r| r.attempt)
        .max()
        .unwrap_or(0);
    // The latest write decides, not the highest attempt: a skip journaled
    // as attempt 0 after an interrupted attempt 1 settles the step.
    match stored.latest_run(&step.id) {
        None => StepRun::pending(&step.id),
        Some(run) => StepRun {
            step_id: step.id.clone(),
            status: status(step, run),
            attempts,
            started_at: run.started_at,
            finished_at: run.finished_at,
            exit_code: run.exit_code,
            note: match run.state {
                RunState::Succeeded => run.detail.clone(),
                _ => None,
            },
        },
    }
}

fn status(step: &Step, run: &StoredStepRun) -> StepStatus {
    let detail = || run.detail.clone().unwrap_or_default();
    match run.state {
        RunState::Started if step.action.needs_person() => StepStatus::Waiting,
        RunState::Started => StepStatus::Interrupted,
        RunState::Succeeded => StepStatus::Succeeded,
        RunState::Failed => StepStatus::Failed { reason: detail() },
        RunState::Skipped => StepStatus::Skipped { reason: detail() },
        RunState::Inconclusive => StepStatus::Inconclusive { reason: detail() },
    }
}
