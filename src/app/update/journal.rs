//! Journaling what happens to steps and the release: every write goes
//! through `journal`, and the UI moves on when it is acknowledged.

use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::progress::{Outcome, ReleaseStatus};
use crate::runbook::record::Ticks;
use crate::sanitize;

/// Lines of output kept in the journal per step run.
pub const JOURNAL_OUTPUT_LINES: usize = 200;

pub(super) fn journal(
    state: &mut AppState,
    entry: JournalEntry,
    then: After,
    out: &mut Vec<Command>,
) {
    let op = state.plumbing.next_op;
    state.plumbing.next_op += 1;
    state.plumbing.pending.insert(op, then);
    out.push(Command::Journal { op, entry });
}

pub(super) fn quit(state: &mut AppState, out: &mut Vec<Command>) {
    state.plumbing.quitting = true;
    out.push(Command::Quit);
}

/// Record a step's end (the UI moves on once the journal confirms it).
pub(super) fn finish_step(
    state: &mut AppState,
    i: usize,
    outcome: Outcome,
    out: &mut Vec<Command>,
) {
    let now = state.now;
    let attempt = state.attempts(i);
    if let Err(e) = state
        .release
        .finish(&state.runbook, i, outcome.clone(), now)
    {
        state.notify(Level::Warn, e.0);
        return;
    }
    crate::app::data_hooks::step_finished(state, i);
    let (status, exit_code, detail) = match &outcome {
        Outcome::Success { exit_code, note } => ("succeeded", *exit_code, note.clone()),
        Outcome::Failure { reason, exit_code } => ("failed", *exit_code, Some(reason.clone())),
        Outcome::Inconclusive { reason } => ("inconclusive", None, Some(reason.clone())),
    };
    record_end(state, i, attempt, status, exit_code, detail, out);
}

pub(super) fn record_end(
    state: &mut AppState,
    i: usize,
    attempt: u32,
    status: &str,
    exit_code: Option<i32>,
    detail: Option<String>,
    out: &mut Vec<Command>,
) {
    let duration_ms = state
        .run(i)
        .and_then(|r| r.started_at)
        .map(|s| state.now - s);
    let step_id = state.step_id(i);
    state.plumbing.events.push(HeadlessEvent::StepFinished {
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
        output: state
            .output(i)
            .map(|o| o.tail(JOURNAL_OUTPUT_LINES))
            .unwrap_or_default(),
    };
    journal(state, entry, After::Finished { step: i }, out);
}

/// Settle step `i` as a person or a rule decided it, saying why in its
/// output first.
pub(super) fn decide(state: &mut AppState, i: usize, outcome: Outcome, out: &mut Vec<Command>) {
    let why = match &outcome {
        Outcome::Success { note, .. } => note.clone(),
        Outcome::Failure { reason, .. } | Outcome::Inconclusive { reason } => Some(reason.clone()),
    };
    if let Some(why) = why {
        state.say(i, Stream::Info, why);
    }
    finish_step(state, i, outcome, out);
}

/// How many items step `i`'s checklist has (0 for other steps).
pub(super) fn checklist_len(state: &AppState, i: usize) -> usize {
    match state.action(i) {
        Some(StepAction::Manual(m)) => m.items.len(),
        _ => 0,
    }
}

pub(super) fn waiting(state: &mut AppState, i: usize, why: &str) {
    let id = state.step_id(i);
    state.plumbing.events.push(HeadlessEvent::Waiting {
        step: id,
        reason: why.to_string(),
    });
    if state.auto {
        state.notify(Level::Info, format!("waiting: {why}"));
    }
    state.auto = false;
}

pub(super) fn end_release(state: &mut AppState, status: ReleaseStatus, out: &mut Vec<Command>) {
    if state.end_recorded {
        return;
    }
    if state.release.status == ReleaseStatus::Running
        && let Err(e) = state.release.end(status, state.now)
    {
        state.notify(Level::Warn, e.0);
        return;
    }
    state.auto = false;
    state.end_recorded = true;
    crate::app::data_hooks::release_ended(state, out);
    let status = state.release.status.as_str().to_string();
    let level = if state.release.status == ReleaseStatus::Succeeded {
        Level::Info
    } else {
        Level::Warn
    };
    state.notify(level, format!("release {status}"));
    state.plumbing.events.push(HeadlessEvent::ReleaseEnded {
        release: state.release.id.clone(),
        status: status.clone(),
    });
    journal(
        state,
        JournalEntry::ReleaseEnded {
            release_id: state.release.id.clone(),
            status,
            at: state.now,
        },
        After::Nothing,
        out,
    );
}

/// An outcome's texts, sanitized and with every secret masked.
pub(super) fn mask_outcome(
    secrets: &crate::runbook::secrets::SecretSet,
    outcome: Outcome,
) -> Outcome {
    let clean = |t: &str| secrets.mask(&sanitize::sanitize_line(t));
    match outcome {
        Outcome::Success { exit_code, note } => Outcome::Success {
            exit_code,
            note: note.map(|n| clean(&n)),
        },
        Outcome::Failure { reason, exit_code } => Outcome::Failure {
            reason: clean(&reason),
            exit_code,
        },
        Outcome::Inconclusive { reason } => Outcome::Inconclusive {
            reason: clean(&reason),
        },
    }
}

pub(super) fn stream_name(s: Stream) -> &'static str {
    match s {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Info => "info",
    }
}

/// Journal which checklist items of step `i` were ticked, by whom, and
/// when each (`times`, in the runbook's item order), before its outcome.
pub(super) fn journal_ticks(
    state: &mut AppState,
    i: usize,
    times: &[i64],
    note: Option<String>,
    out: &mut Vec<Command>,
) {
    let items: Vec<(String, i64)> = match state.action(i) {
        Some(StepAction::Manual(m)) => m
            .items
            .iter()
            .zip(times)
            .map(|(item, at)| (state.render_text(item), *at))
            .collect(),
        _ => return,
    };
    let entry = JournalEntry::ChecklistTicked {
        release_id: state.release.id.clone(),
        ticks: Ticks {
            step_id: state.step_id(i),
            attempt: state.attempts(i),
            person: state.identity.person.clone(),
            items,
            note,
            at: state.now,
        },
    };
    journal(state, entry, After::Nothing, out);
}

/// `--ack STEP`: every item of manual step `i` ticked at once, and the step
/// settled as acknowledged.
pub(super) fn acknowledge(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    let note = format!("acknowledged by {} with --ack", state.identity.person);
    let times = vec![state.now; checklist_len(state, i)];
    journal_ticks(state, i, &times, None, out);
    decide(state, i, Outcome::passed(note), out);
}

/// Settle step `i` as failed for `reason` and end the release as failed: a
/// rejection or an expired gate stops it.
pub(super) fn fail_release(state: &mut AppState, i: usize, reason: String, out: &mut Vec<Command>) {
    decide(state, i, Outcome::failed(reason), out);
    end_release(state, ReleaseStatus::Failed, out);
}
