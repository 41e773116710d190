//! Reopening a release: interrupted steps and gates that moved meanwhile.

use super::steps::*;
use crate::app::state::*;
use crate::protocol::command::Command;
use crate::runbook::progress::StepStatus;

/// On reopening a release: ask about the first interrupted step, and let
/// a waiting gate count sign-offs given while nobody watched.
pub fn on_resume(state: &mut AppState) -> Vec<Command> {
    let mut out = Vec::new();
    if !crate::app::team::drives(state) {
        return out;
    }
    super::processes::restart_services(state, &mut out);
    if let Some(i) = state
        .release
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Interrupted)
    {
        if state.headless {
            let id = state.step(i).id.clone();
            let reason = match crate::app::processes::still_running(state, i) {
                Some(running) => format!(
                    "interrupted, and its processes are {running}: wait for them or kill them in the TUI before a retry"
                ),
                None if state.processes.retries.contains(&id) => return out,
                None => format!(
                    "interrupted: open it in the TUI to re-check, retry or mark it done, or run again with --retry {id}"
                ),
            };
            state
                .plumbing
                .events
                .push(HeadlessEvent::Waiting { step: id, reason });
        } else {
            open_interrupted(state, i);
        }
    } else if let Some(i) = state.release.current(&state.runbook) {
        state.view.selected = i;
        if state.release.steps[i].status == StepStatus::Waiting {
            gate_changed(state, i, &mut out);
        }
    }
    out
}
