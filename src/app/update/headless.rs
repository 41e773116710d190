//! Headless runs drive themselves and stop when a person is needed.

use super::journal::*;
use super::steps::*;
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::runbook::StepAction;
use crate::runbook::progress::{Outcome, StepStatus};

/// Headless runs drive themselves and stop when a person is needed.
pub(super) fn headless_next(state: &mut AppState, out: &mut Vec<Command>) {
    if out.iter().any(|c| matches!(c, Command::Quit))
        || !state.plumbing.pending.is_empty()
        || state.release.is_running_anything()
        || crate::app::content::checking(state)
        || crate::app::content::stopped(state)
        || !state.processes.restarting.is_empty()
    {
        return;
    }
    if state.plumbing.quitting || state.release.status.is_final() || state.journal_error.is_some() {
        if !state.plumbing.quitting {
            quit(state, out);
        }
        return;
    }
    if !out.is_empty() {
        return;
    }
    // Not the driver for now (lease lapsed): start nothing, wait to regain it.
    if state.team.lapsed.is_some() {
        return;
    }
    let Some(cur) = state.release.current(&state.runbook) else {
        return;
    };
    let is_manual = matches!(state.step(cur).action, StepAction::Manual(_));
    let cur_id = state.step(cur).id.clone();
    match state.release.steps[cur].status {
        // A failed step of a resumed release is retried: the operator re-ran it.
        StepStatus::Pending | StepStatus::Failed { .. } if state.auto => {
            start_step(state, cur, out)
        }
        // `--retry STEP` decides an interrupted step, unless it still runs.
        StepStatus::Interrupted
            if !state.processes.lingering.contains_key(&cur)
                && state.processes.retries.remove(&cur_id) =>
        {
            let choice = if matches!(state.step(cur).action, StepAction::Check(_)) {
                ResumeChoice::Recheck
            } else {
                ResumeChoice::Retry
            };
            let entry = JournalEntry::ResumeChoice {
                release_id: state.release.id.clone(),
                step_id: cur_id,
                choice: choice.as_str().into(),
                person: format!("{} (--retry)", state.identity.person),
                at: state.now,
            };
            journal(state, entry, After::Resumed { step: cur, choice }, out);
        }
        StepStatus::Waiting if is_manual && state.acks.contains(&state.step(cur).id) => {
            let note = format!("acknowledged by {} with --ack", state.identity.person);
            // --ack STEP ticks every item at once.
            let times = vec![state.now; checklist_len(state, cur)];
            journal_ticks(state, cur, &times, None, out);
            decide(
                state,
                cur,
                Outcome::Success {
                    exit_code: None,
                    note: Some(note),
                },
                out,
            );
        }
        _ => quit(state, out),
    }
}

/// Quitting waits for running steps to end and journal writes to land.
pub fn ready_to_exit(state: &AppState) -> bool {
    state.plumbing.quitting
        && state.plumbing.pending.is_empty()
        && (!state.release.is_running_anything() || !crate::app::team::drives(state))
}
