//! Reopening a release: interrupted steps and gates that moved meanwhile.

use super::*;

pub(super) fn open_interrupted(state: &mut AppState, i: usize) {
    if let Some(choices) = processes::lingering_choices(state, i) {
        state.selected = i;
        state.dialog = Some(Dialog::Interrupted {
            step: i,
            choices,
            selected: 0,
        });
        return;
    }
    let mut choices = Vec::new();
    if matches!(state.step(i).action, StepAction::Check(_)) {
        choices.push(ResumeChoice::Recheck);
    } else {
        choices.push(ResumeChoice::Retry);
    }
    choices.push(ResumeChoice::MarkDone);
    if !matches!(state.step(i).action, StepAction::Gate(_)) {
        choices.push(ResumeChoice::Skip);
    }
    state.selected = i;
    state.dialog = Some(Dialog::Interrupted {
        step: i,
        choices,
        selected: 0,
    });
}

/// On reopening a release: ask about the first interrupted step, and let
/// a waiting gate count sign-offs given while nobody watched.
pub fn on_resume(state: &mut AppState) -> Vec<Command> {
    let mut out = Vec::new();
    if !crate::app::team::drives(state) {
        return out;
    }
    processes::restart_services(state, &mut out);
    if let Some(i) = state
        .release
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Interrupted)
    {
        if state.headless {
            let id = state.step(i).id.clone();
            let reason = match processes::still_running(state, i) {
                Some(running) => format!(
                    "interrupted, and its processes are {running}: wait for them or kill them in the TUI before a retry"
                ),
                None if state.processes.retries.contains(&id) => return out,
                None => format!(
                    "interrupted: open it in the TUI to re-check, retry or mark it done, or run again with --retry {id}"
                ),
            };
            state
                .events
                .push(HeadlessEvent::Waiting { step: id, reason });
        } else {
            open_interrupted(state, i);
        }
    } else if let Some(i) = state.release.current(&state.runbook) {
        state.selected = i;
        if state.release.steps[i].status == StepStatus::Waiting {
            gate_changed(state, i, &mut out);
        }
    }
    out
}
