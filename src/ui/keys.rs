//! Which keys do something right now (the status bar shows exactly these).

use crate::app::action::Action;
use crate::app::state::AppState;
use crate::runbook::Action as StepAction;
use crate::runbook::progress::StepStatus;

pub fn keys_now(state: &AppState) -> Vec<Action> {
    if let Some(keys) = super::team_view::watcher_keys(state) {
        return keys;
    }
    let mut keys = Vec::new();
    let i = state.selected;
    let open = !state.release.status.is_final();
    let current = state.release.current(&state.runbook) == Some(i);
    let step = state.step(i);
    let status = &state.release.steps[i].status;
    if open {
        match (status, &step.action) {
            (StepStatus::Pending, StepAction::Manual(_)) if current => keys.push(Action::Tick),
            (StepStatus::Waiting, StepAction::Manual(_)) => keys.push(Action::Tick),
            // The initiator cannot sign; they are not offered it.
            (StepStatus::Pending | StepStatus::Waiting, StepAction::Gate(_))
                if current && state.identity.person != state.release.initiator =>
            {
                keys.push(Action::SignOff);
                keys.push(Action::Reject);
            }
            (StepStatus::Pending, _) if current => keys.push(Action::Run),
            (StepStatus::Running { .. }, _) => keys.push(Action::Cancel),
            (StepStatus::Failed { .. } | StepStatus::Inconclusive { .. }, _) if current => {
                keys.push(Action::Retry)
            }
            (StepStatus::Interrupted, _) => keys.push(Action::Retry),
            _ => {}
        }
        if current
            && !matches!(step.action, StepAction::Gate(_))
            && !matches!(status, StepStatus::Running { .. })
        {
            keys.push(Action::Skip);
        }
        // Nothing to run while the current step waits for a person.
        if !state.auto
            && state
                .release
                .current(&state.runbook)
                .is_some_and(|c| state.release.steps[c].status != StepStatus::Waiting)
        {
            keys.push(Action::RunToGate);
        }
        if !state.release.is_running_anything() {
            keys.push(Action::Abort);
        }
    }
    keys.extend([
        Action::TogglePlan,
        Action::ToggleLogs,
        Action::Help,
        Action::Quit,
    ]);
    keys
}
