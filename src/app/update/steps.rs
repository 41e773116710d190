//! The release flow: starting a step (in order, after its checks),
//! settling it, counting a gate, moving on. Every reducer above calls down
//! into this; it calls nothing above it.

use super::journal::*;
use super::select::*;
use crate::app::action::Action;
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::gates::{self, GateTally, GateTiming};
use crate::runbook::progress::{Outcome, ReleaseStatus, StepStatus};
use crate::runbook::when::NOT_FOR_ENV;

/// Steps not for this release's environment (`when:`) are settled as
/// skipped with the reason "not for this environment" instead of running,
/// and journaled like any skip, so a resume and the record agree.
/// Skip step `i` if it is not for this environment; `true` when it was
/// (or could not be, and so must not run either).
pub(super) fn skip_if_not_for_env(state: &mut AppState, i: usize, out: &mut Vec<Command>) -> bool {
    if state.runbook.applies(i, &state.release.environment) {
        return false;
    }
    if let Err(e) = state.release.skip_not_for_env(&state.runbook, i, state.now) {
        state.notify(Level::Warn, e.0);
        return true;
    }
    let attempt = state.attempts(i);
    state.say(i, Stream::Info, format!("skipped: {NOT_FOR_ENV}"));
    record_end(
        state,
        i,
        attempt,
        "skipped",
        None,
        Some(NOT_FOR_ENV.to_string()),
        out,
    );
    true
}

/// Run a step, asking first when it is risky.
pub(super) fn request_run(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
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
    if state.status(i) == Some(&StepStatus::Interrupted) {
        open_interrupted(state, i);
        return;
    }
    if skip_if_not_for_env(state, i, out) {
        return;
    }
    if let Some(step) = state.step(i).filter(|s| s.risky) {
        let msg = format!(
            "Run risky step {:?} in {}?",
            step.title, state.release.environment
        );
        confirm(state, Confirmable::RunStep(i), msg, true);
        return;
    }
    start_step(state, i, out);
}

/// Begin a step and journal the intent; it runs once that is durable.
/// After a passed gate the content is read again first (`app::content`).
pub(super) fn start_step(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.status(i) == Some(&StepStatus::Pending) && skip_if_not_for_env(state, i, out) {
        return;
    }
    if let Some(why) = crate::app::processes::held_back(state) {
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
            crate::app::data_hooks::step_began(state, i, attempt, out);
            let step_id = state.step_id(i);
            if state.view.follow || state.auto {
                state.view.selected = i;
                state.view.scroll = 0;
            }
            if attempt > 1 {
                state.say(i, Stream::Info, format!("attempt {attempt}"));
            }
            state.plumbing.events.push(HeadlessEvent::StepStarted {
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

pub(super) fn open_interrupted(state: &mut AppState, i: usize) {
    if let Some(choices) = crate::app::processes::lingering_choices(state, i) {
        state.view.selected = i;
        state.view.dialog = Some(Dialog::Interrupted {
            step: i,
            choices,
            selected: 0,
        });
        return;
    }
    let mut choices = Vec::new();
    if matches!(state.action(i), Some(StepAction::Check(_))) {
        choices.push(ResumeChoice::Recheck);
    } else {
        choices.push(ResumeChoice::Retry);
    }
    choices.push(ResumeChoice::MarkDone);
    if !matches!(state.action(i), Some(StepAction::Gate(_))) {
        choices.push(ResumeChoice::Skip);
    }
    state.view.selected = i;
    state.view.dialog = Some(Dialog::Interrupted {
        step: i,
        choices,
        selected: 0,
    });
}

/// An outcome is durable: retry, move on, or stop.
pub(super) fn step_settled(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.release.status.is_final() {
        // The last step settled the release (or a rejection ended it).
        end_release(state, state.release.status, out);
        return;
    }
    if state.plumbing.quitting {
        // Stopping: leave the release open to be resumed, move nothing on.
        return;
    }
    let (Some(status), Some(step)) = (state.status(i), state.step(i)) else {
        return;
    };
    let (retries, continue_on_failure) = (step.retries, step.continue_on_failure);
    match status {
        StepStatus::Failed { reason } => {
            let reason = reason.clone();
            if crate::app::rollout::rolled_back(state, i) {
                // Rolled back (a trigger fired or a person asked): stop here.
                end_release(state, ReleaseStatus::Failed, out);
            } else if state.release.retry_left(&state.runbook, i) {
                let next = state.attempts(i) + 1;
                state.say(
                    i,
                    Stream::Info,
                    format!("retrying automatically (attempt {next} of {})", retries + 1),
                );
                start_step(state, i, out);
            } else if continue_on_failure {
                state.notify(
                    Level::Warn,
                    format!(
                        "step {:?} failed; continuing as the runbook allows",
                        state.step_id(i)
                    ),
                );
                advance(state, out);
            } else {
                state.auto = false;
                let id = state.step_id(i);
                state.notify(Level::Error, format!("{id} failed: {reason}"));
                // What a person may do now, on the status line only.
                let first_try = state.attempts(i) <= 1 && retries == 0;
                if first_try && let Some(n) = &mut state.view.notice {
                    n.text.push_str(&format!(
                        "  ({} retry, {} skip, {} abort)",
                        state.view.keymap.key_for(Action::Retry),
                        state.view.keymap.key_for(Action::Skip),
                        state.view.keymap.key_for(Action::Abort)
                    ));
                }
            }
        }
        StepStatus::Succeeded | StepStatus::Skipped { .. } => advance(state, out),
        StepStatus::Inconclusive { reason } => {
            let why = format!(
                "{} is inconclusive ({reason}): retry or skip with a reason",
                state.step_id(i)
            );
            state.auto = false;
            state.notify(Level::Warn, why);
            // Never a pass: headless runs stop here for a person (exit 3).
            waiting(state, i, "an inconclusive result needs a person");
        }
        _ => {}
    }
}

pub(super) fn advance(state: &mut AppState, out: &mut Vec<Command>) {
    if state.release.status == ReleaseStatus::Succeeded {
        end_release(state, ReleaseStatus::Succeeded, out);
        return;
    }
    let Some(next) = state.release.current(&state.runbook) else {
        return;
    };
    if state.view.follow {
        select(state, next);
    }
    // Not for this environment: settled without anyone pressing run.
    if state.status(next) == Some(&StepStatus::Pending)
        && !state.runbook.applies(next, &state.release.environment)
    {
        skip_if_not_for_env(state, next, out);
        return;
    }
    if state.auto && state.status(next) == Some(&StepStatus::Pending) {
        // Through request_run, so a risky step still asks first.
        request_run(state, next, out);
    }
}

/// Sign-offs for gate `i` changed (or it just started): pass, fail, or wait.
pub(super) fn gate_changed(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    if state.status(i) != Some(&StepStatus::Waiting) || !crate::app::team::drives(state) {
        return;
    }
    let Some((_, tally)) = state.gate_tally(i) else {
        return;
    };
    if let Some(r) = &tally.rejection {
        let reason = format!("rejected by {} ({}): {}", r.person, r.role, r.comment);
        // A rejection stops the release.
        fail_release(state, i, reason, out);
    } else if gate_held(state, i, &tally, out) {
        // Soaking, or expired (failed there).
    } else if tally.satisfied() {
        let who: Vec<String> = tally
            .roles
            .iter()
            .flat_map(|r| r.signed.iter().map(move |p| format!("{p} ({})", r.role)))
            .collect();
        let note = format!("signed off by {}", who.join(", "));
        decide(state, i, Outcome::passed(note), out);
    } else {
        let missing = tally.still_needed();
        waiting(
            state,
            i,
            &format!("sign-off needed: {}", missing.join(", ")),
        );
    }
}

/// Called by `gate_changed` once no rejection stops gate `i`: true when
/// soak or expiry decide (soaking: wait; expired: fail the release).
pub(super) fn gate_held(
    state: &mut AppState,
    i: usize,
    t: &GateTally,
    out: &mut Vec<Command>,
) -> bool {
    let Some(StepAction::Gate(spec)) = state.action(i) else {
        return false;
    };
    match gates::timing(spec, t, state.run(i).and_then(|r| r.started_at), state.now) {
        GateTiming::Soaking { until } => {
            let left = crate::runbook::duration::format_duration(std::time::Duration::from_millis(
                (until - state.now).max(0) as u64,
            ));
            waiting(
                state,
                i,
                &format!("sign-offs complete; soaking, opens in {left}"),
            );
            true
        }
        GateTiming::Expired { .. } => {
            let after = spec
                .expires
                .map(crate::runbook::duration::format_duration)
                .unwrap_or_default();
            let missing = t.still_needed();
            let reason = format!(
                "gate expired: still missing {} after {after} of waiting",
                missing.join(", ")
            );
            fail_release(state, i, reason, out);
            true
        }
        _ => false,
    }
}
