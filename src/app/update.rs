//! `update(state, msg) -> commands`: the whole release logic of the UI,
//! synchronous and free of IO, so it can be tested message by message.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::command::{Command, JournalEntry};
use super::msg::{BackendEvent, Msg, Stream};
use super::state::*;
use crate::runbook::Action as StepAction;
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
        }
        Msg::Resize => state.dirty = true,
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
    let n = state.step_count();
    match action {
        Action::Up => select(state, state.selected.saturating_sub(1)),
        Action::Down => select(state, (state.selected + 1).min(n.saturating_sub(1))),
        Action::Top => select(state, 0),
        Action::Bottom => select(state, n.saturating_sub(1)),
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
                state.notify(Level::Info, "every step is settled");
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
                _ => state.notify(
                    Level::Warn,
                    "only a failed or interrupted step can be retried",
                ),
            }
        }
        Action::Skip => {
            let i = state.selected;
            if state.release.current(&state.runbook) != Some(i) {
                state.notify(Level::Warn, "only the current step can be skipped");
            } else if matches!(state.step(i).action, StepAction::Gate(_)) {
                state.notify(
                    Level::Warn,
                    "a gate cannot be skipped; it needs its sign-offs",
                );
            } else if matches!(state.release.steps[i].status, StepStatus::Running { .. }) {
                state.notify(Level::Warn, "cancel the step before skipping it");
            } else {
                state.dialog = Some(Dialog::Skip {
                    step: i,
                    reason: String::new(),
                });
            }
        }
        Action::Tick => {
            let i = state.selected;
            if !matches!(state.step(i).action, StepAction::Manual(_)) {
                state.notify(Level::Warn, "only checklist (manual) steps are ticked");
            } else if state.release.steps[i].status != StepStatus::Waiting {
                if state.release.current(&state.runbook) == Some(i) {
                    request_run(state, i, out);
                    if state.release.steps[i].status == StepStatus::Waiting {
                        state.dialog = Some(Dialog::Tick {
                            step: i,
                            note: String::new(),
                        });
                    }
                } else {
                    state.notify(Level::Warn, "this checklist is not the current step");
                }
            } else {
                state.dialog = Some(Dialog::Tick {
                    step: i,
                    note: String::new(),
                });
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
            if matches!(state.release.steps[i].status, StepStatus::Running { .. }) {
                confirm(
                    state,
                    Confirmable::CancelStep(i),
                    format!(
                        "Cancel step {:?}? Its process gets SIGTERM, then SIGKILL.",
                        state.step(i).id
                    ),
                    false,
                );
            } else {
                state.notify(Level::Warn, "this step is not running");
            }
        }
        Action::Abort => {
            if state.release.status.is_final() {
                state.notify(Level::Warn, "the release has already ended");
            } else if state.release.is_running_anything() {
                state.notify(Level::Warn, "a step is running; cancel it first");
            } else {
                confirm(
                    state,
                    Confirmable::Abort,
                    "Abort this release? It ends as aborted and cannot continue.".into(),
                    true,
                );
            }
        }
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
fn start_step(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    let now = state.now;
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
            state.events.push(Event::StepStarted {
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

fn journal(state: &mut AppState, entry: JournalEntry, then: After, out: &mut Vec<Command>) {
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
    state.events.push(Event::StepFinished {
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

// ---------------------------------------------------------------- backend events

fn backend(state: &mut AppState, ev: BackendEvent, out: &mut Vec<Command>) {
    match ev {
        BackendEvent::StepOutput {
            step,
            lines,
            dropped,
        } => {
            if step >= state.outputs.len() {
                return;
            }
            let id = state.step(step).id.clone();
            for (stream, raw) in lines {
                let line = sanitize::mask(&sanitize::sanitize_line(&raw), &state.secrets);
                if state.headless {
                    state.events.push(Event::Output {
                        step: id.clone(),
                        stream: stream_name(stream),
                        line: line.clone(),
                    });
                }
                state.outputs[step].push(stream, line);
            }
            if dropped > 0 {
                state.outputs[step].add_dropped(dropped);
                state.events.push(Event::OutputDropped {
                    step: id,
                    count: dropped,
                });
            }
        }
        BackendEvent::StepFinished {
            step,
            attempt,
            outcome,
        } => {
            if step >= state.release.steps.len() || state.release.steps[step].attempts != attempt {
                return; // a late report from an attempt that was already settled
            }
            let said = match &outcome {
                Outcome::Failure { reason, .. } => Some(format!("failed: {reason}")),
                Outcome::Inconclusive { reason } => {
                    Some(format!("inconclusive: {reason} (a person decides)"))
                }
                Outcome::Success { .. } => None,
            };
            if let Some(text) = said {
                let text = sanitize::mask(&sanitize::sanitize_line(&text), &state.secrets);
                state.outputs[step].push(Stream::Info, text);
            }
            finish_step(state, step, outcome, out);
        }
        BackendEvent::Signoffs(all) => merge_signoffs(state, all, out),
        BackendEvent::Notified {
            event,
            url,
            error,
            required,
        } => super::data_hooks::notified(state, &event, &url, error, required),
        BackendEvent::Team(ev) => super::team::on_event(state, ev, out),
        BackendEvent::Kube { step, event } => super::rollout::on_event(state, step, event, out),
        BackendEvent::Journaled { op, error } => {
            let Some(then) = state.pending.remove(&op) else {
                return;
            };
            if let Some(e) = error {
                state.auto = false;
                state.journal_error = Some(e.clone());
                state.notify(
                    Level::Error,
                    format!("journal write failed: {e}; stopping here"),
                );
                if state.headless {
                    quit(state, out);
                }
                return;
            }
            after_journaled(state, then, out);
        }
    }
}

fn stream_name(s: Stream) -> &'static str {
    match s {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Info => "info",
    }
}

fn after_journaled(state: &mut AppState, then: After, out: &mut Vec<Command>) {
    match then {
        After::Nothing => {}
        After::Start { step, attempt } => launch(state, step, attempt, out),
        After::Finished { step } => step_settled(state, step, out),
        After::Signed(s) => signoff_durable(state, s, out),
        After::Resumed { step, choice } => match choice {
            ResumeChoice::Recheck | ResumeChoice::Retry => start_step(state, step, out),
            ResumeChoice::MarkDone => {
                let note = format!(
                    "marked done by {} after an interruption",
                    state.identity.person
                );
                if let Err(e) = state
                    .release
                    .mark_done(&state.runbook, step, &note, state.now)
                {
                    state.notify(Level::Warn, e.0);
                    return;
                }
                let attempt = state.release.steps[step].attempts;
                record_end(state, step, attempt, "succeeded", None, Some(note), out);
            }
            ResumeChoice::Skip => {
                state.dialog = Some(Dialog::Skip {
                    step,
                    reason: String::new(),
                })
            }
        },
    }
}

/// The intent is durable: hand the step to its backend, or wait for people.
fn launch(state: &mut AppState, i: usize, attempt: u32, out: &mut Vec<Command>) {
    let step = state.step(i).clone();
    match &step.action {
        StepAction::Manual(_) => {
            if state.headless && state.acks.contains(&step.id) {
                let note = format!("acknowledged by {} with --ack", state.identity.person);
                decide(
                    state,
                    i,
                    Outcome::Success {
                        exit_code: None,
                        note: Some(note),
                    },
                    out,
                );
            } else {
                waiting(state, i, "checklist to tick");
            }
        }
        StepAction::Gate(_) => {
            gate_changed(state, i, out);
            super::data_hooks::gate_waiting(state, i, out);
        }
        StepAction::Command(_)
        | StepAction::Check(_)
        | StepAction::Data(_)
        | StepAction::Kube(_) => {
            match resolve(state, &step.action).and_then(|a| super::rollout::prepare(state, i, a)) {
                Ok(action) => {
                    let env = state.env_vars.clone();
                    out.push(Command::RunStep {
                        step: i,
                        attempt,
                        action,
                        timeout: step.timeout,
                        env,
                    });
                }
                Err(e) => {
                    state.outputs[i].push(Stream::Info, e.clone());
                    finish_step(
                        state,
                        i,
                        Outcome::Failure {
                            reason: e,
                            exit_code: None,
                        },
                        out,
                    );
                }
            }
        }
    }
}

pub(crate) fn waiting(state: &mut AppState, i: usize, why: &str) {
    let id = state.step(i).id.clone();
    state.events.push(Event::Waiting {
        step: id,
        reason: why.to_string(),
    });
    if state.auto {
        state.notify(Level::Info, format!("waiting: {why}"));
    }
    // Headless runs stop here by themselves; keep their drive for after.
    if !state.headless {
        state.auto = false;
    }
}

/// Resolve `${...}` in a command or check.
pub fn resolve(state: &AppState, action: &StepAction) -> Result<StepAction, String> {
    action.render(&scope(state))
}

fn scope(state: &AppState) -> Scope {
    state.scope(state.release.inputs.clone(), true)
}

/// An outcome is durable: retry, move on, or stop.
fn step_settled(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.release.status.is_final() {
        // The last step settled the release (or a rejection ended it).
        end_release(state, state.release.status, out);
        return;
    }
    if state.quitting {
        // Stopping: leave the release open to be resumed, move nothing on.
        return;
    }
    match &state.release.steps[i].status {
        StepStatus::Failed { reason } => {
            let reason = reason.clone();
            if super::rollout::rolled_back(state, i) {
                // Rolled back (a trigger fired or a person asked): stop here.
                end_release(state, ReleaseStatus::Failed, out);
            } else if state.release.retry_left(&state.runbook, i) {
                let retries = state.step(i).retries;
                let next = state.release.steps[i].attempts + 1;
                state.outputs[i].push(
                    Stream::Info,
                    format!("retrying automatically (attempt {next} of {})", retries + 1),
                );
                start_step(state, i, out);
            } else if state.step(i).continue_on_failure {
                state.notify(
                    Level::Warn,
                    format!(
                        "step {:?} failed; continuing as the runbook allows",
                        state.step(i).id
                    ),
                );
                advance(state, out);
            } else {
                state.auto = false;
                let id = state.step(i).id.clone();
                if state.headless
                    || state.release.steps[i].attempts > 1
                    || state.step(i).retries > 0
                {
                    state.notify(Level::Error, format!("{id} failed: {reason}"));
                } else {
                    state.notify(
                        Level::Error,
                        format!(
                            "{id} failed: {reason}  ({} retry, {} skip, {} abort)",
                            state.keymap.key_for(Action::Retry),
                            state.keymap.key_for(Action::Skip),
                            state.keymap.key_for(Action::Abort)
                        ),
                    );
                }
                if state.headless {
                    end_release(state, ReleaseStatus::Failed, out);
                }
            }
        }
        StepStatus::Succeeded | StepStatus::Skipped { .. } => advance(state, out),
        StepStatus::Inconclusive { reason } => {
            let why = format!(
                "{} is inconclusive ({reason}): retry or skip with a reason",
                state.step(i).id
            );
            state.auto = false;
            state.notify(Level::Warn, why);
            // Never a pass: headless runs stop here for a person (exit 3).
            waiting(state, i, "an inconclusive result needs a person");
        }
        _ => {}
    }
}

fn advance(state: &mut AppState, out: &mut Vec<Command>) {
    if state.release.status == ReleaseStatus::Succeeded {
        end_release(state, ReleaseStatus::Succeeded, out);
        return;
    }
    let Some(next) = state.release.current(&state.runbook) else {
        return;
    };
    if state.follow {
        select(state, next);
    }
    if state.auto && state.release.steps[next].status == StepStatus::Pending {
        // Through request_run, so a risky step still asks first.
        request_run(state, next, out);
    }
}

pub(crate) fn end_release(state: &mut AppState, status: ReleaseStatus, out: &mut Vec<Command>) {
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
    super::data_hooks::release_ended(state, out);
    let status = state.release.status.as_str().to_string();
    let level = if state.release.status == ReleaseStatus::Succeeded {
        Level::Info
    } else {
        Level::Warn
    };
    state.notify(level, format!("release {status}"));
    state.events.push(Event::ReleaseEnded {
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

// ---------------------------------------------------------------- gates

fn open_signoff(state: &mut AppState, decision: Decision, out: &mut Vec<Command>) {
    let i = state.selected;
    let StepAction::Gate(_) = &state.step(i).action else {
        state.notify(Level::Warn, "select a gate to sign off");
        return;
    };
    if state.release.steps[i].status == StepStatus::Pending
        && state.release.current(&state.runbook) == Some(i)
    {
        start_step(state, i, out);
    }
    let role = match &state.step(i).action {
        StepAction::Gate(g) if g.roles.len() == 1 => g.roles[0].0.clone(),
        _ => "ROLE".into(),
    };
    let error = (state.identity.person == state.release.initiator).then(|| {
        format!(
            "{} started this release and cannot sign it off. Another person signs here, or from their terminal: flightdeck approve {} --gate {} --role {role}",
            state.identity.person,
            state.release.id,
            state.step(i).id
        )
    });
    state.dialog = Some(Dialog::SignOff {
        step: i,
        role: 0,
        decision,
        comment: String::new(),
        error,
    });
}

fn submit_signoff(state: &mut AppState, out: &mut Vec<Command>) {
    let Some(Dialog::SignOff {
        step,
        role,
        decision,
        comment,
        ..
    }) = state.dialog.clone()
    else {
        return;
    };
    let StepAction::Gate(spec) = &state.step(step).action else {
        return;
    };
    let Some((role_name, _)) = spec.roles.get(role).cloned() else {
        return;
    };
    if state.release.steps[step].status != StepStatus::Waiting {
        set_dialog_error(
            state,
            "this gate is not waiting for sign-offs (run it first)".into(),
        );
        return;
    }
    let signoffs = state.release.signoffs_for(&state.step(step).id);
    if let Err(refusal) = gates::may_sign(
        spec,
        &state.runbook.roles,
        &signoffs,
        &state.approval_hash,
        &state.release.initiator,
        &state.identity.person,
        &role_name,
        decision,
        &comment,
    ) {
        set_dialog_error(state, refusal.to_string());
        return;
    }
    let signoff = Signoff {
        gate: state.step(step).id.clone(),
        person: state.identity.person.clone(),
        host: state.identity.host.clone(),
        role: role_name,
        decision,
        comment: comment.trim().to_string(),
        approved_hash: state.approval_hash.clone(),
        at: state.now,
    };
    state.dialog = None;
    state.notify(Level::Info, "recording sign-off…");
    journal(
        state,
        JournalEntry::Signoff {
            release_id: state.release.id.clone(),
            signoff: signoff.clone(),
        },
        After::Signed(signoff),
        out,
    );
}

fn set_dialog_error(state: &mut AppState, msg: String) {
    if let Some(Dialog::SignOff { error, .. }) = &mut state.dialog {
        *error = Some(msg);
    }
}

/// A sign-off is durable: it counts from now on.
fn signoff_durable(state: &mut AppState, s: Signoff, out: &mut Vec<Command>) {
    state.events.push(Event::Signoff {
        gate: s.gate.clone(),
        person: s.person.clone(),
        role: s.role.clone(),
        decision: s.decision.as_str().into(),
    });
    let verb = if s.decision == Decision::Approve {
        "signed off"
    } else {
        "rejected"
    };
    state.notify(
        Level::Info,
        format!("{} {verb} {} as {}", s.person, s.gate, s.role),
    );
    let gate = s.gate.clone();
    state.release.signoffs.push(s);
    if let Some(i) = state.runbook.step_index(&gate) {
        gate_changed(state, i, out);
    }
}

/// Sign-offs for gate `i` changed (or it just started): pass, fail, or wait.
pub fn gate_changed(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.release.steps[i].status != StepStatus::Waiting || !super::team::drives(state) {
        return;
    }
    let StepAction::Gate(spec) = &state.step(i).action else {
        return;
    };
    let tally = gates::tally(
        spec,
        &state.release.signoffs_for(&state.step(i).id),
        &state.approval_hash,
    );
    if let Some(r) = &tally.rejection {
        let reason = format!("rejected by {} ({}): {}", r.person, r.role, r.comment);
        decide(
            state,
            i,
            Outcome::Failure {
                reason,
                exit_code: None,
            },
            out,
        );
        // A rejection stops the release.
        end_release(state, ReleaseStatus::Failed, out);
    } else if super::team::gate_held(state, i, &tally, out) {
        // Soaking, or expired (failed there).
    } else if tally.satisfied() {
        let who: Vec<String> = tally
            .roles
            .iter()
            .flat_map(|r| r.signed.iter().map(move |p| format!("{p} ({})", r.role)))
            .collect();
        let note = format!("signed off by {}", who.join(", "));
        decide(
            state,
            i,
            Outcome::Success {
                exit_code: None,
                note: Some(note),
            },
            out,
        );
    } else {
        let missing: Vec<String> = tally
            .roles
            .iter()
            .filter(|r| r.missing() > 0)
            .map(|r| format!("{} × {}", r.missing(), r.role))
            .collect();
        waiting(
            state,
            i,
            &format!("sign-off needed: {}", missing.join(", ")),
        );
    }
}

/// Sign-offs written by other processes (e.g. `flightdeck approve`).
pub fn merge_signoffs(state: &mut AppState, signoffs: Vec<Signoff>, out: &mut Vec<Command>) {
    let mut changed = Vec::new();
    for s in signoffs {
        if !state.release.signoffs.contains(&s) {
            let verb = if s.decision == Decision::Approve {
                "signed off"
            } else {
                "rejected"
            };
            state.notify(
                Level::Info,
                format!("{}@{} {verb} {} as {}", s.person, s.host, s.gate, s.role),
            );
            changed.push(s.gate.clone());
            state.release.signoffs.push(s);
        }
    }
    for gate in changed {
        if let Some(i) = state.runbook.step_index(&gate) {
            state.dirty = true;
            gate_changed(state, i, out);
        }
    }
}

// ---------------------------------------------------------------- resume

fn open_interrupted(state: &mut AppState, i: usize) {
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
    if !super::team::drives(state) {
        return out;
    }
    if let Some(i) = state
        .release
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Interrupted)
    {
        if state.headless {
            let id = state.step(i).id.clone();
            state.events.push(Event::Waiting {
                step: id,
                reason:
                    "interrupted by a crash: open it in the TUI to re-check, retry or mark it done"
                        .into(),
            });
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

// ---------------------------------------------------------------- dialogs

fn dialog_key(state: &mut AppState, key: KeyEvent, out: &mut Vec<Command>) {
    let Some(dialog) = state.dialog.as_mut() else {
        return;
    };
    if key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
    {
        state.dialog = None;
        return;
    }
    match dialog {
        Dialog::Help => state.dialog = None,
        Dialog::Skip { step, reason } => {
            if key.code == KeyCode::Enter {
                let (i, reason) = (*step, reason.trim().to_string());
                if reason.is_empty() {
                    return;
                }
                state.dialog = None;
                if let Err(e) = state.release.skip(&state.runbook, i, &reason, state.now) {
                    state.notify(Level::Warn, e.0);
                    return;
                }
                let attempt = state.release.steps[i].attempts;
                state.outputs[i].push(Stream::Info, format!("skipped: {reason}"));
                record_end(state, i, attempt, "skipped", None, Some(reason), out);
            } else {
                edit(reason, key);
            }
        }
        Dialog::Tick { step, note } => {
            if key.code == KeyCode::Enter {
                let (i, note) = (*step, note.trim().to_string());
                let needs_note =
                    matches!(&state.step(i).action, StepAction::Manual(m) if m.note_required);
                if needs_note && note.is_empty() {
                    return;
                }
                state.dialog = None;
                let who = state.identity.person.clone();
                let detail = if note.is_empty() {
                    format!("ticked by {who}")
                } else {
                    format!("ticked by {who}: {note}")
                };
                decide(
                    state,
                    i,
                    Outcome::Success {
                        exit_code: None,
                        note: Some(detail),
                    },
                    out,
                );
            } else {
                edit(note, key);
            }
        }
        Dialog::SignOff {
            step,
            role,
            comment,
            error,
            ..
        } => match key.code {
            KeyCode::Enter => submit_signoff(state, out),
            KeyCode::Tab | KeyCode::Down | KeyCode::Up => {
                if let StepAction::Gate(g) = &state.runbook.steps().nth(*step).expect("gate").action
                {
                    let n = g.roles.len().max(1);
                    *role = if key.code == KeyCode::Up {
                        (*role + n - 1) % n
                    } else {
                        (*role + 1) % n
                    };
                }
                *error = None;
            }
            _ => {
                edit(comment, key);
            }
        },
        Dialog::Confirm {
            what,
            expect,
            typed,
            ..
        } => {
            let what = *what;
            let ok = match expect {
                Some(name) => key.code == KeyCode::Enter && typed == name,
                None => matches!(key.code, KeyCode::Char('y') | KeyCode::Enter),
            };
            if ok {
                state.dialog = None;
                confirmed(state, what, out);
            } else if expect.is_some() {
                edit(typed, key);
            } else if key.code == KeyCode::Char('n') {
                state.dialog = None;
            }
        }
        Dialog::Interrupted {
            step,
            choices,
            selected,
        } => match key.code {
            KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                *selected = (*selected + 1).min(choices.len() - 1)
            }
            KeyCode::Enter => {
                let (i, choice) = (*step, choices[*selected]);
                state.dialog = None;
                let entry = JournalEntry::ResumeChoice {
                    release_id: state.release.id.clone(),
                    step_id: state.step(i).id.clone(),
                    choice: choice.as_str().into(),
                    person: state.identity.person.clone(),
                    at: state.now,
                };
                journal(state, entry, After::Resumed { step: i, choice }, out);
            }
            _ => {}
        },
    }
}

fn confirmed(state: &mut AppState, what: Confirmable, out: &mut Vec<Command>) {
    match what {
        Confirmable::RunStep(i) => start_step(state, i, out),
        Confirmable::CancelStep(i) => {
            state.outputs[i].push(
                Stream::Info,
                format!("cancel requested by {}", state.identity.person),
            );
            out.push(Command::CancelStep { step: i });
        }
        Confirmable::Abort => end_release(state, ReleaseStatus::Aborted, out),
        Confirmable::TakeOver => super::team::take_over(state, out),
        Confirmable::Rollback(i) => super::rollout::confirmed_rollback(state, i, out),
        Confirmable::Quit => {
            for (i, s) in state.release.steps.iter().enumerate() {
                if matches!(s.status, StepStatus::Running { .. }) {
                    out.push(Command::CancelStep { step: i });
                }
            }
            state.quitting = true;
        }
    }
}

fn edit(text: &mut String, key: KeyEvent) {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL) && text.chars().count() < 500 =>
        {
            text.push(c)
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- headless

/// Headless runs drive themselves and stop when a person is needed.
fn headless_next(state: &mut AppState, out: &mut Vec<Command>) {
    if out.iter().any(|c| matches!(c, Command::Quit))
        || !state.pending.is_empty()
        || state.release.is_running_anything()
    {
        return;
    }
    if state.quitting || state.release.status.is_final() || state.journal_error.is_some() {
        if !state.quitting {
            quit(state, out);
        }
        return;
    }
    if !out.is_empty() {
        return;
    }
    let Some(cur) = state.release.current(&state.runbook) else {
        return;
    };
    let is_manual = matches!(state.step(cur).action, StepAction::Manual(_));
    match state.release.steps[cur].status {
        // A failed step of a resumed release is retried: the operator re-ran it.
        StepStatus::Pending | StepStatus::Failed { .. } if state.auto => {
            start_step(state, cur, out)
        }
        StepStatus::Waiting if is_manual && state.acks.contains(&state.step(cur).id) => {
            let note = format!("acknowledged by {} with --ack", state.identity.person);
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
    state.quitting
        && state.pending.is_empty()
        && (!state.release.is_running_anything() || !super::team::drives(state))
}

/// A signal asked flightdeck to stop: cancel what runs (its outcome is
/// journaled as a failure) and quit once the journal has caught up.
fn shutdown(state: &mut AppState, out: &mut Vec<Command>) {
    state.auto = false;
    for (i, s) in state.release.steps.iter().enumerate() {
        if matches!(s.status, StepStatus::Running { .. }) {
            out.push(Command::CancelStep { step: i });
        }
    }
    state.notify(Level::Warn, "stopping: flightdeck received a signal");
    state.quitting = true;
    out.push(Command::Quit);
}

/// Settle step `i` as a person or a rule decided it, saying why in its
/// output first.
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
