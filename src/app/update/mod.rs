//! `update(state, msg) -> commands`: the whole release logic of the UI,
//! synchronous and free of IO, so it can be tested message by message.

mod backend;
mod content;
mod dialogs;
mod drive;
mod journal;
mod mouse;
mod processes;
mod resume;
mod rollout;
mod select;
mod signoff;
mod steps;
mod team;

pub use self::journal::JOURNAL_OUTPUT_LINES;
pub use self::resume::on_resume;
pub use self::team::on_event as on_team_event;
pub use super::processes::still_running;

use self::backend::backend;
use self::dialogs::dialog_key;
use self::drive::drive;
use self::journal::{checklist_len, quit};
use self::processes::cancel_for_signal;
use self::select::{confirm, select};
use self::signoff::open_signoff;
use self::steps::{open_interrupted, request_run};
use super::action::Action;
use super::msg::Msg;
use super::state::*;
use crate::protocol::command::Command;
use crate::runbook::StepAction;
use crate::runbook::gates::Decision;
use crate::runbook::progress::StepStatus;

/// How often a waiting gate re-reads sign-offs given from other terminals.
pub const SIGNOFF_REFRESH_MS: i64 = 1000;

fn gate_waiting(state: &AppState) -> bool {
    !state.release.status.is_final()
        && state.release.steps.iter().enumerate().any(|(i, s)| {
            s.status == StepStatus::Waiting && matches!(state.action(i), Some(StepAction::Gate(_)))
        })
}

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Command> {
    let mut out = Vec::new();
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            if gate_waiting(state)
                && now - state.plumbing.signoffs_refreshed_at >= SIGNOFF_REFRESH_MS
            {
                state.plumbing.signoffs_refreshed_at = now;
                out.push(Command::RefreshSignoffs {
                    release_id: state.release.id.clone(),
                });
            }
            // Durations of running steps move on screen.
            let busy = state
                .release
                .steps
                .iter()
                .any(|s| matches!(s.status, StepStatus::Running { .. } | StepStatus::Waiting));
            if busy && !state.release.status.is_final() {
                state.plumbing.dirty = true;
            }
            team::tick(state, &mut out);
            super::plan::tick(state, &mut out);
        }
        Msg::Resize => state.plumbing.dirty = true,
        Msg::Mouse { event, screen } => mouse::mouse(state, event, screen),
        Msg::Shutdown => shutdown(state, &mut out),
        Msg::Key(key) => {
            state.plumbing.dirty = true;
            // A notice answers the last action; the next key starts afresh.
            state.view.notice = None;
            if state.view.dialog.is_some() {
                dialog_key(state, key, &mut out);
            } else if rollout::key(state, &key, &mut out) {
                // The pod log search box has the keys.
            } else if team::watcher_key(state, &key, &mut out) {
                // A watcher's key, handled (or refused) by team mode.
            } else if let Some(action) = state.view.keymap.action_for(&key) {
                act(state, action, &mut out);
            }
        }
        Msg::Backend(ev) => {
            state.plumbing.dirty = true;
            backend(state, ev, &mut out);
        }
        Msg::Drive(d) => {
            state.plumbing.dirty = true;
            drive(state, d, &mut out);
        }
    }
    out
}

/// Quitting waits for running steps to end and journal writes to land.
pub fn ready_to_exit(state: &AppState) -> bool {
    state.plumbing.quitting
        && state.plumbing.pending.is_empty()
        && (!state.release.is_running_anything() || !crate::app::team::drives(state))
}

// ---------------------------------------------------------------- actions

fn act(state: &mut AppState, action: Action, out: &mut Vec<Command>) {
    // What may happen now is decided once (`app::allowed`), for the key
    // bar and here alike.
    if let Some(why) = crate::app::allowed::refusal(state, action) {
        state.notify(Level::Warn, why);
        return;
    }
    let n = state.step_count();
    match action {
        Action::Up => select(state, state.view.selected.saturating_sub(1)),
        Action::Down => select(state, (state.view.selected + 1).min(n.saturating_sub(1))),
        Action::Top => select(state, 0),
        Action::Bottom => select(state, n.saturating_sub(1)),
        Action::TogglePlan => out.extend(crate::app::plan::toggle(state)),
        Action::ScrollUp if super::plan::scrolls(state) => crate::app::plan::scroll(state, -10),
        Action::ScrollDown if super::plan::scrolls(state) => crate::app::plan::scroll(state, 10),
        Action::ScrollUp => state.view.scroll = state.view.scroll.saturating_add(10),
        Action::ScrollDown => state.view.scroll = state.view.scroll.saturating_sub(10),
        Action::ToggleLogs => state.view.show_logs = !state.view.show_logs,
        Action::Help => state.view.dialog = Some(Dialog::Help),
        Action::Run => {
            state.auto = false;
            request_run(state, state.view.selected, out);
        }
        Action::RunToGate => {
            let Some(cur) = state.release.current(&state.runbook) else {
                return;
            };
            state.auto = true;
            state.view.follow = true;
            select(state, cur);
            if matches!(state.status(cur), Some(StepStatus::Pending)) {
                request_run(state, cur, out);
            } else {
                state.notify(Level::Info, "running until the next gate");
            }
        }
        Action::Retry => {
            let i = state.view.selected;
            match state.status(i) {
                Some(StepStatus::Failed { .. } | StepStatus::Inconclusive { .. }) => {
                    state.auto = false;
                    request_run(state, i, out);
                }
                Some(StepStatus::Interrupted) => open_interrupted(state, i),
                _ => {}
            }
        }
        Action::Skip => {
            state.view.dialog = Some(Dialog::Skip {
                step: state.view.selected,
                reason: String::new(),
            });
        }
        Action::Tick => {
            let i = state.view.selected;
            if state.status(i) != Some(&StepStatus::Waiting) {
                request_run(state, i, out);
                if state.status(i) == Some(&StepStatus::Waiting) {
                    state.view.dialog = Some(Dialog::checklist(i, checklist_len(state, i)));
                } else if crate::app::content::checking(state) {
                    // The dialog opens once the content check lets it start.
                    state.content.tick_after = Some(i);
                }
            } else {
                state.view.dialog = Some(Dialog::checklist(i, checklist_len(state, i)));
            }
        }
        Action::Approve | Action::Reject => {
            let decision = if action == Action::Approve {
                Decision::Approve
            } else {
                Decision::Reject
            };
            open_signoff(state, decision, out);
        }
        Action::Cancel => {
            let i = state.view.selected;
            confirm(
                state,
                Confirmable::CancelStep(i),
                format!(
                    "Cancel step {:?}? Its process gets SIGTERM, then SIGKILL.",
                    state.step_id(i)
                ),
                false,
            );
        }
        Action::Abort => confirm(
            state,
            Confirmable::Abort,
            "Abort this release? It ends as aborted and cannot continue.".into(),
            true,
        ),
        Action::Rollback | Action::LogScope | Action::LogSearch => rollout::act(state, action, out),
        Action::Quit => {
            if state.release.is_running_anything() {
                confirm(
                    state,
                    Confirmable::Quit,
                    "A step is running. Quit anyway? It is cancelled and journaled as failed."
                        .into(),
                    false,
                );
            } else {
                quit(state, out);
            }
        }
    }
}

/// A signal asked flightdeck to stop: cancel what runs (journaled as
/// interrupted, so a resume asks before running it again) and quit once the
/// journal has caught up.
fn shutdown(state: &mut AppState, out: &mut Vec<Command>) {
    state.auto = false;
    cancel_for_signal(state, out);
    state.notify(Level::Warn, "stopping: flightdeck received a signal");
    state.plumbing.quitting = true;
    out.push(Command::Quit);
}
