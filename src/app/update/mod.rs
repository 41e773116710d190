//! `update(state, msg) -> commands`: the whole release logic of the UI,
//! synchronous and free of IO, so it can be tested message by message.

mod backend;
mod conditions;
mod dialogs;
mod headless;
mod mouse;
mod processes;
mod resume;
mod signoff;

pub use self::backend::*;
use self::dialogs::*;
pub use self::headless::*;
pub use self::processes::still_running;
pub use self::resume::*;
pub use self::signoff::*;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::msg::Msg;
use super::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::event::BackendEvent;
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::gates::{self, Decision, Signoff};
use crate::runbook::interpolate::Scope;
use crate::runbook::progress::{Outcome, ReleaseStatus, StepStatus};
use crate::runbook::template::Templated;
use crate::sanitize;

/// How often a waiting gate re-reads sign-offs given from other terminals.
pub const SIGNOFF_REFRESH_MS: i64 = 1000;

fn gate_waiting(state: &AppState) -> bool {
    !state.release.status.is_final()
        && state.release.steps.iter().enumerate().any(|(i, s)| {
            s.status == StepStatus::Waiting && matches!(state.step(i).action, StepAction::Gate(_))
        })
}

/// Lines of output kept in the journal per step run.
pub const JOURNAL_OUTPUT_LINES: usize = 200;

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Command> {
    let mut out = Vec::new();
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            if gate_waiting(state) && now - state.signoffs_refreshed_at >= SIGNOFF_REFRESH_MS {
                state.signoffs_refreshed_at = now;
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
                state.dirty = true;
            }
            super::team::tick(state, &mut out);
            super::plan::tick(state, &mut out);
        }
        Msg::Resize => state.dirty = true,
        Msg::Mouse { event, screen } => mouse::mouse(state, event, screen),
        Msg::Shutdown => shutdown(state, &mut out),
        Msg::Key(key) => {
            state.dirty = true;
            // A notice answers the last action; the next key starts afresh.
            state.notice = None;
            if state.dialog.is_some() {
                dialog_key(state, key, &mut out);
            } else if super::rollout::key(state, &key, &mut out) {
                // The pod log search box has the keys.
            } else if super::team::watcher_key(state, &key, &mut out) {
                // A watcher's key, handled (or refused) by team mode.
            } else if let Some(action) = state.keymap.action_for(&key) {
                act(state, action, &mut out);
            }
        }
        Msg::Backend(ev) => {
            state.dirty = true;
            backend(state, ev, &mut out);
        }
    }
    if state.headless {
        headless_next(state, &mut out);
    }
    out
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
        Action::Up => select(state, state.selected.saturating_sub(1)),
        Action::Down => select(state, (state.selected + 1).min(n.saturating_sub(1))),
        Action::Top => select(state, 0),
        Action::Bottom => select(state, n.saturating_sub(1)),
        Action::TogglePlan => out.extend(crate::app::plan::toggle(state)),
        Action::ScrollUp if super::plan::scrolls(state) => crate::app::plan::scroll(state, -10),
        Action::ScrollDown if super::plan::scrolls(state) => crate::app::plan::scroll(state, 10),
        Action::ScrollUp => state.scroll = state.scroll.saturating_add(10),
        Action::ScrollDown => state.scroll = state.scroll.saturating_sub(10),
        Action::ToggleLogs => state.show_logs = !state.show_logs,
        Action::Help => state.dialog = Some(Dialog::Help),
        Action::Run => {
            state.auto = false;
            request_run(state, state.selected, out);
        }
        Action::RunToGate => {
            let Some(cur) = state.release.current(&state.runbook) else {
                return;
            };
            state.auto = true;
            state.follow = true;
            select(state, cur);
            if matches!(state.release.steps[cur].status, StepStatus::Pending) {
                request_run(state, cur, out);
            } else {
                state.notify(Level::Info, "running until the next gate");
            }
        }
        Action::Retry => {
            let i = state.selected;
            match state.release.steps[i].status {
                StepStatus::Failed { .. } | StepStatus::Inconclusive { .. } => {
                    state.auto = false;
                    request_run(state, i, out);
                }
                StepStatus::Interrupted => open_interrupted(state, i),
                _ => {}
            }
        }
        Action::Skip => {
            state.dialog = Some(Dialog::Skip {
                step: state.selected,
                reason: String::new(),
            });
        }
        Action::Tick => {
            let i = state.selected;
            if state.release.steps[i].status != StepStatus::Waiting {
                request_run(state, i, out);
                if state.release.steps[i].status == StepStatus::Waiting {
                    state.dialog = Some(Dialog::checklist(i, checklist_len(state, i)));
                } else if crate::app::content::checking(state) {
                    // The dialog opens once the content check lets it start.
                    state.content.tick_after = Some(i);
                }
            } else {
                state.dialog = Some(Dialog::checklist(i, checklist_len(state, i)));
            }
        }
        Action::SignOff | Action::Reject => {
            let decision = if action == Action::SignOff {
                Decision::Approve
            } else {
                Decision::Reject
            };
            open_signoff(state, decision, out);
        }
        Action::Cancel => {
            let i = state.selected;
            confirm(
                state,
                Confirmable::CancelStep(i),
                format!(
                    "Cancel step {:?}? Its process gets SIGTERM, then SIGKILL.",
                    state.step(i).id
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
        Action::Rollback | Action::LogScope | Action::LogSearch => {
            super::rollout::act(state, action, out)
        }
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

pub(crate) fn select(state: &mut AppState, i: usize) {
    if state.selected != i {
        state.selected = i;
        state.scroll = 0;
    }
    state.follow = state.release.current(&state.runbook) == Some(i);
}

fn confirm(state: &mut AppState, what: Confirmable, message: String, risky: bool) {
    let expect = if risky {
        state.confirm_by_typing()
    } else {
        None
    };
    state.dialog = Some(Dialog::Confirm {
        what,
        message,
        expect,
        typed: String::new(),
    });
}

pub(crate) fn quit(state: &mut AppState, out: &mut Vec<Command>) {
    state.quitting = true;
    out.push(Command::Quit);
}

/// Run a step, asking first when it is risky.
fn request_run(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.journal_error.is_some() {
        state.notify(
            Level::Error,
            "the journal failed; nothing more runs until it is fixed",
        );
        return;
    }
    if state.release.current(&state.runbook) != Some(i) {
        state.notify(
            Level::Warn,
            "steps run in order: this is not the current step",
        );
        return;
    }
    if state.release.steps[i].status == StepStatus::Interrupted {
        open_interrupted(state, i);
        return;
    }
    if conditions::skip_if_not_for_env(state, i, out) {
        return;
    }
    if state.step(i).risky && !state.headless {
        let msg = format!(
            "Run risky step {:?} in {}?",
            state.step(i).title,
            state.release.environment
        );
        confirm(state, Confirmable::RunStep(i), msg, true);
        return;
    }
    start_step(state, i, out);
}

/// Begin a step and journal the intent; it runs once that is durable.
/// After a passed gate the content is read again first (`app::content`).
pub(crate) fn start_step(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.release.steps[i].status == StepStatus::Pending
        && conditions::skip_if_not_for_env(state, i, out)
    {
        return;
    }
    if let Some(why) = processes::held_back(state) {
        state.notify(Level::Warn, why);
        return;
    }
    if crate::app::content::hold(state, i, out) {
        return;
    }
    let now = state.now;
    // A sealed value (the journal's form of a secret input) is never run
    // with: it means this terminal was not given the secret.
    if let Some(name) = state
        .release
        .inputs
        .iter()
        .find(|(_, v)| crate::runbook::secrets::is_sealed(v))
        .map(|(k, _)| k.clone())
    {
        state.auto = false;
        state.notify(
            Level::Error,
            format!("the secret input {name:?} was not given to this terminal: reopen the release to give it; nothing was run"),
        );
        return;
    }
    match state.release.begin(&state.runbook, i, now) {
        Ok(attempt) => {
            super::data_hooks::step_began(state, i, attempt, out);
            let step_id = state.step(i).id.clone();
            if state.follow || state.auto {
                state.selected = i;
                state.scroll = 0;
            }
            if attempt > 1 {
                state.outputs[i].push(Stream::Info, format!("attempt {attempt}"));
            }
            state.events.push(HeadlessEvent::StepStarted {
                step: step_id.clone(),
                attempt,
            });
            journal(
                state,
                JournalEntry::StepStarted {
                    release_id: state.release.id.clone(),
                    step_id,
                    attempt,
                    at: now,
                },
                After::Start { step: i, attempt },
                out,
            );
        }
        Err(e) => state.notify(Level::Warn, e.0),
    }
}

pub(crate) fn journal(
    state: &mut AppState,
    entry: JournalEntry,
    then: After,
    out: &mut Vec<Command>,
) {
    let op = state.next_op;
    state.next_op += 1;
    state.pending.insert(op, then);
    out.push(Command::Journal { op, entry });
}

/// Record a step's end (the UI moves on once the journal confirms it).
pub(crate) fn finish_step(
    state: &mut AppState,
    i: usize,
    outcome: Outcome,
    out: &mut Vec<Command>,
) {
    let now = state.now;
    let attempt = state.release.steps[i].attempts;
    if let Err(e) = state
        .release
        .finish(&state.runbook, i, outcome.clone(), now)
    {
        state.notify(Level::Warn, e.0);
        return;
    }
    super::data_hooks::step_finished(state, i);
    let (status, exit_code, detail) = match &outcome {
        Outcome::Success { exit_code, note } => ("succeeded", *exit_code, note.clone()),
        Outcome::Failure { reason, exit_code } => ("failed", *exit_code, Some(reason.clone())),
        Outcome::Inconclusive { reason } => ("inconclusive", None, Some(reason.clone())),
    };
    record_end(state, i, attempt, status, exit_code, detail, out);
}

fn record_end(
    state: &mut AppState,
    i: usize,
    attempt: u32,
    status: &str,
    exit_code: Option<i32>,
    detail: Option<String>,
    out: &mut Vec<Command>,
) {
    let run = &state.release.steps[i];
    let duration_ms = run.started_at.map(|s| state.now - s);
    let step_id = state.step(i).id.clone();
    state.events.push(HeadlessEvent::StepFinished {
        step: step_id.clone(),
        status: status.to_string(),
        exit_code,
        detail: detail.clone(),
        duration_ms,
    });
    let entry = JournalEntry::StepFinished {
        release_id: state.release.id.clone(),
        step_id,
        attempt,
        status: status.to_string(),
        exit_code,
        detail,
        at: state.now,
        output: state.outputs[i].tail(JOURNAL_OUTPUT_LINES),
    };
    journal(state, entry, After::Finished { step: i }, out);
}

/// A signal asked flightdeck to stop: cancel what runs (journaled as
/// interrupted, so a resume asks before running it again) and quit once the
/// journal has caught up.
fn shutdown(state: &mut AppState, out: &mut Vec<Command>) {
    state.auto = false;
    processes::cancel_for_signal(state, out);
    state.notify(Level::Warn, "stopping: flightdeck received a signal");
    state.quitting = true;
    out.push(Command::Quit);
}

/// Settle step `i` as a person or a rule decided it, saying why in its
/// output first.
/// How many items step `i`'s checklist has (0 for other steps).
pub(crate) fn checklist_len(state: &AppState, i: usize) -> usize {
    match &state.step(i).action {
        StepAction::Manual(m) => m.items.len(),
        _ => 0,
    }
}

pub(crate) fn decide(state: &mut AppState, i: usize, outcome: Outcome, out: &mut Vec<Command>) {
    let why = match &outcome {
        Outcome::Success { note, .. } => note.clone(),
        Outcome::Failure { reason, .. } | Outcome::Inconclusive { reason } => Some(reason.clone()),
    };
    if let Some(why) = why {
        state.outputs[i].push(Stream::Info, why);
    }
    finish_step(state, i, outcome, out);
}
