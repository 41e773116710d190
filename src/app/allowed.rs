//! What may happen now in the release view, decided in one place: for each
//! key action, whether it does something and, if not, why. `update` refuses
//! with these words (driver and watcher alike), the key bar offers exactly
//! the actions without a refusal, and the help overlay marks the others.

use super::action::Action;
use super::state::AppState;
use super::team;
use crate::runbook::StepAction;
use crate::runbook::progress::StepStatus;

/// The actions the key bar can name, in its order.
pub const BAR: [Action; 13] = [
    Action::Tick,
    Action::Approve,
    Action::Reject,
    Action::Run,
    Action::Cancel,
    Action::Retry,
    Action::Skip,
    Action::RunToGate,
    Action::Abort,
    Action::TogglePlan,
    Action::ToggleLogs,
    Action::Help,
    Action::Quit,
];

/// The key bar: every action of `BAR` that does something now.
pub fn offered(state: &AppState) -> Vec<Action> {
    BAR.into_iter()
        .filter(|a| refusal(state, *a).is_none())
        .collect()
}

/// Why `action` does nothing now, in the words the person reads; `None`
/// when it does something.
pub fn refusal(state: &AppState, action: Action) -> Option<String> {
    if always(action) {
        return None;
    }
    if team::watching(state) {
        return watcher(state, action);
    }
    driver(state, action)
}

/// Moving around and looking: never refused.
fn always(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::ScrollUp
            | Action::ScrollDown
            | Action::ToggleLogs
            | Action::TogglePlan
            | Action::Help
            | Action::Quit
            // The rollout pane's keys answer for themselves (app::rollout).
            | Action::Rollback
            | Action::LogScope
            | Action::LogSearch
    )
}

fn watcher(state: &AppState, action: Action) -> Option<String> {
    match action {
        Action::Approve | Action::Reject => {
            let i = state.view.selected;
            let waiting_gate = matches!(state.action(i), Some(StepAction::Gate(_)))
                && state.status(i) == Some(&StepStatus::Waiting);
            if !waiting_gate || state.release.status.is_final() {
                Some("you are watching: sign off once the driver has reached this gate".into())
            } else {
                initiator(state)
            }
        }
        _ => Some(format!(
            "you are watching: {} drives this release; only the driver runs steps{}",
            team::driver_name(state),
            if team::take_over_possible(state) {
                format!(" (press {} to take over)", team::TAKE_OVER_KEY)
            } else {
                String::new()
            }
        )),
    }
}

fn driver(state: &AppState, action: Action) -> Option<String> {
    let i = state.view.selected;
    let (Some(status), Some(step)) = (state.status(i), state.action(i)) else {
        return Some("there is no such step".into());
    };
    let current = state.release.current(&state.runbook) == Some(i);
    if state.release.status.is_final() && action != Action::Cancel {
        return Some("the release has already ended".into());
    }
    let journal_failed = state
        .journal_error
        .is_some()
        .then(|| "the journal failed; nothing more runs until it is fixed".to_string());
    match action {
        Action::Run => {
            if !current {
                Some("steps run in order: this is not the current step".into())
            } else {
                match (status, step) {
                    (StepStatus::Running { .. }, _) => Some("this step is running".into()),
                    // Running a gate opens it for sign-offs; a checklist, for ticks.
                    (StepStatus::Waiting, StepAction::Manual(_)) => {
                        Some("this checklist waits for its ticks: press t".into())
                    }
                    (StepStatus::Waiting, _) => Some("this gate waits for its sign-offs".into()),
                    (StepStatus::Failed { .. } | StepStatus::Inconclusive { .. }, _) => {
                        Some("this step failed: press r to retry it".into())
                    }
                    (StepStatus::Interrupted, _) => {
                        Some("this step was interrupted: press r to choose what to do".into())
                    }
                    _ => journal_failed,
                }
            }
        }
        Action::RunToGate => {
            let cur = state.release.current(&state.runbook)?;
            if state.auto {
                Some("already running to the next gate".into())
            } else if state.status(cur) == Some(&StepStatus::Pending) {
                journal_failed
            } else {
                None
            }
        }
        Action::Retry => match status {
            StepStatus::Failed { .. } | StepStatus::Inconclusive { .. } if !current => {
                Some("steps run in order: this is not the current step".into())
            }
            StepStatus::Failed { .. } | StepStatus::Inconclusive { .. } => journal_failed,
            StepStatus::Interrupted => None,
            _ => Some("only a failed or interrupted step can be retried".into()),
        },
        Action::Skip => {
            if !current {
                Some("only the current step can be skipped".into())
            } else if matches!(step, StepAction::Gate(_)) {
                Some("a gate cannot be skipped; it needs its sign-offs".into())
            } else if matches!(status, StepStatus::Running { .. }) {
                Some("cancel the step before skipping it".into())
            } else {
                None
            }
        }
        Action::Tick => {
            if !matches!(step, StepAction::Manual(_)) {
                Some("only checklist (manual) steps are ticked".into())
            } else if *status == StepStatus::Waiting {
                None
            } else if matches!(status, StepStatus::Running { .. }) {
                Some("the step is already running".into())
            } else if !current {
                Some("this checklist is not the current step".into())
            } else {
                journal_failed
            }
        }
        Action::Approve | Action::Reject => {
            if !matches!(step, StepAction::Gate(_)) {
                Some("select a gate to sign off".into())
            } else if !matches!(status, StepStatus::Pending | StepStatus::Waiting) {
                Some("this gate is already decided".into())
            } else if !current {
                Some("this gate is not the current step".into())
            } else {
                initiator(state)
            }
        }
        Action::Cancel => (!matches!(status, StepStatus::Running { .. }))
            .then(|| "this step is not running".to_string()),
        Action::Abort => state
            .release
            .is_running_anything()
            .then(|| "a step is running; cancel it first".to_string()),
        _ => None,
    }
}

/// The person who started a release never signs it: who does, and how.
fn initiator(state: &AppState) -> Option<String> {
    if state.identity.person != state.release.initiator {
        return None;
    }
    // Short enough for the status line.
    Some(format!(
        "you started this release: another person signs it (flightdeck approve {} --gate {})",
        state.release.id,
        state.step_id(state.view.selected)
    ))
}
