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
        open_interrupted(state, i);
    } else if let Some(i) = state.release.current(&state.runbook) {
        state.view.selected = i;
        if state.status(i) == Some(&StepStatus::Waiting) {
            gate_changed(state, i, &mut out);
        }
    }
    out
}
