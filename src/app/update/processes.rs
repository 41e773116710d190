//! Steps stopped by a signal, processes an interrupted step left running,
//! and background services a resumed release starts again.

use super::journal::*;
use super::steps::*;
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::progress::StepStatus;
use crate::runbook::{CommandSpec, StepAction};
use crate::sanitize;

/// A line of flightdeck's own in step `i`'s output (and the headless stream).
fn info(state: &mut AppState, i: usize, text: String) {
    state.plumbing.events.push(HeadlessEvent::Output {
        step: state.step_id(i),
        stream: stream_name(Stream::Info),
        line: text.clone(),
    });
    state.say(i, Stream::Info, text);
}

/// A signal stopped flightdeck: cancel what runs; each end is journaled as
/// interrupted (see `step_ended`).
pub(super) fn cancel_for_signal(state: &mut AppState, out: &mut Vec<Command>) {
    for (i, s) in state.release.steps.iter().enumerate() {
        if matches!(s.status, StepStatus::Running { .. }) {
            state.processes.interrupting.insert(i);
            out.push(Command::CancelStep { step: i });
        }
    }
}

/// A step that a signal cancelled ended: record it as interrupted (no
/// outcome), so a resume asks before running it again. Returns false when
/// the step was not cancelled by a signal.
pub(super) fn step_ended(state: &mut AppState, i: usize, out: &mut Vec<Command>) -> bool {
    if !state.processes.interrupting.remove(&i) {
        return false;
    }
    let attempt = state.attempts(i);
    state.release.mark_interrupted(i);
    crate::app::data_hooks::step_finished(state, i);
    let reason = "interrupted: flightdeck received a signal and stopped it".to_string();
    info(state, i, reason.clone());
    let step_id = state.step_id(i);
    let duration_ms = state
        .run(i)
        .and_then(|r| r.started_at)
        .map(|s| state.now - s);
    state.plumbing.events.push(HeadlessEvent::StepFinished {
        step: step_id.clone(),
        status: "interrupted".into(),
        exit_code: None,
        detail: Some(reason.clone()),
        duration_ms,
    });
    let entry = JournalEntry::StepInterrupted {
        release_id: state.release.id.clone(),
        step_id,
        attempt,
        reason,
        at: state.now,
        output: state
            .output(i)
            .map(|o| o.tail(JOURNAL_OUTPUT_LINES))
            .unwrap_or_default(),
    };
    journal(state, entry, After::Nothing, out);
    true
}

/// A command step's process group exists: journal its pid and pgid.
pub(super) fn step_spawned(
    state: &mut AppState,
    i: usize,
    attempt: u32,
    pid: i32,
    out: &mut Vec<Command>,
) {
    if i >= state.release.steps.len() || state.status(i) != Some(&(StepStatus::Running { attempt }))
    {
        return;
    }
    let entry = JournalEntry::StepProcess {
        release_id: state.release.id.clone(),
        step_id: state.step_id(i),
        attempt,
        pid,
        // Every step runs as the leader of its own process group.
        pgid: pid,
        at: state.now,
    };
    journal(state, entry, After::Nothing, out);
}

/// The person chose to wait for, or kill, the processes an interrupted
/// step left running.
pub(super) fn end_lingering(state: &mut AppState, i: usize, kill: bool, out: &mut Vec<Command>) {
    let Some(&pgid) = state.processes.lingering.get(&i) else {
        open_interrupted(state, i);
        return;
    };
    if !state.processes.ending.insert(i) && !kill {
        state.notify(Level::Info, format!("still waiting for pid {pgid} to end"));
        return;
    }
    let grace = match state.action(i) {
        Some(StepAction::Command(CommandSpec { grace, .. })) => *grace,
        _ => std::time::Duration::from_secs(10),
    };
    let what = if kill {
        format!("stopping pid {pgid} (SIGTERM, then SIGKILL)")
    } else {
        format!("waiting for pid {pgid} to end")
    };
    info(state, i, what.clone());
    state.notify(Level::Info, what);
    out.push(Command::EndProcess {
        step: i,
        pgid,
        kill,
        grace,
    });
}

/// The processes of interrupted step `i` are gone: it may be decided now.
pub(super) fn process_gone(state: &mut AppState, i: usize) {
    state.processes.ending.remove(&i);
    let Some(pid) = state.processes.lingering.remove(&i) else {
        return;
    };
    if i >= state.release.steps.len() {
        return;
    }
    info(state, i, format!("pid {pid} has ended"));
    if state.view.dialog.is_none() && crate::app::team::drives(state) {
        open_interrupted(state, i);
    }
}

/// On resume: start the release's background services again (they stopped
/// with the driver that started them) before any next step runs.
pub(super) fn restart_services(state: &mut AppState, out: &mut Vec<Command>) {
    if state.release.status.is_final() {
        return;
    }
    for i in 0..state.release.steps.len() {
        let Some(step) = state.step(i).cloned() else {
            continue;
        };
        let StepAction::Command(spec) = &step.action else {
            continue;
        };
        if !spec.background || state.status(i) != Some(&StepStatus::Succeeded) {
            continue;
        }
        match state.resolve(&step.action) {
            Ok(action) => {
                state.processes.restarting.insert(i);
                info(state, i, "starting the service again".into());
                out.push(Command::StartService {
                    step: i,
                    action,
                    env: state.values.env_vars.clone(),
                });
            }
            Err(e) => service_failed(state, i, e.to_string(), out),
        }
    }
}

/// A background service runs again (or could not be started).
pub(super) fn service_started(
    state: &mut AppState,
    i: usize,
    pid: Option<i32>,
    error: Option<String>,
    out: &mut Vec<Command>,
) {
    if !state.processes.restarting.remove(&i) || i >= state.release.steps.len() {
        return;
    }
    match (pid, error) {
        (Some(pid), None) => {
            info(
                state,
                i,
                format!("running in the background again (pid {pid})"),
            );
            let entry = JournalEntry::ServiceStarted {
                release_id: state.release.id.clone(),
                step_id: state.step_id(i),
                pid: Some(pid),
                error: None,
                at: state.now,
            };
            journal(state, entry, After::Nothing, out);
            if state.processes.restarting.is_empty() && state.auto {
                advance(state, out);
            }
        }
        (_, error) => {
            let e = error.unwrap_or_else(|| "it did not keep running".into());
            service_failed(state, i, e, out)
        }
    }
}

fn service_failed(state: &mut AppState, i: usize, error: String, out: &mut Vec<Command>) {
    let error = state.values.secrets.mask(&sanitize::sanitize_line(&error));
    let id = state.step_id(i);
    info(state, i, format!("could not start again: {error}"));
    let entry = JournalEntry::ServiceStarted {
        release_id: state.release.id.clone(),
        step_id: id.clone(),
        pid: None,
        error: Some(error.clone()),
        at: state.now,
    };
    journal(state, entry, After::Nothing, out);
    state.auto = false;
    state.notify(
        Level::Error,
        format!("the background service of {id} did not start again: {error}"),
    );
    state.processes.not_restarted.insert(i, error);
}
