//! Backend events: output, outcomes, journal acknowledgements; and what
//! happens once an outcome is durable (retry, move on, stop).

use super::journal::*;
use super::signoff::*;
use super::steps::*;
use super::{content, rollout, team};
use crate::app::state::*;
use crate::protocol::command::Command;
use crate::protocol::event::BackendEvent;
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::progress::Outcome;
use crate::sanitize;

pub(super) fn backend(state: &mut AppState, ev: BackendEvent, out: &mut Vec<Command>) {
    match ev {
        BackendEvent::StepOutput {
            step,
            lines,
            dropped,
        } => {
            if step >= state.outputs.len() {
                return;
            }
            let id = state.step_id(step);
            for (stream, raw) in lines {
                let line = state.values.secrets.mask(&sanitize::sanitize_line(&raw));
                state.plumbing.events.push(HeadlessEvent::Output {
                    step: id.clone(),
                    stream: stream_name(stream),
                    line: line.clone(),
                });
                state.say(step, stream, line);
            }
            if dropped > 0 {
                if let Some(o) = state.outputs.get_mut(step) {
                    o.add_dropped(dropped);
                }
                state.plumbing.events.push(HeadlessEvent::OutputDropped {
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
            if step >= state.release.steps.len() || state.attempts(step) != attempt {
                return; // a late report from an attempt that was already settled
            }
            if super::processes::step_ended(state, step, out) {
                return;
            }
            // Masked here, once: the outcome goes on to the journal, the
            // audit log, the status line and the headless stream.
            let outcome = mask_outcome(&state.values.secrets, outcome);
            let said = match &outcome {
                Outcome::Failure { reason, .. } => Some(format!("failed: {reason}")),
                Outcome::Inconclusive { reason } => {
                    Some(format!("inconclusive: {reason} (a person decides)"))
                }
                Outcome::Success { .. } => None,
            };
            if let Some(text) = said {
                let text = sanitize::sanitize_line(&text);
                state.say(step, Stream::Info, text);
            }
            finish_step(state, step, outcome, out);
        }
        BackendEvent::StepSpawned { step, attempt, pid } => {
            super::processes::step_spawned(state, step, attempt, pid, out)
        }
        BackendEvent::ServiceStarted { step, pid, error } => {
            super::processes::service_started(state, step, pid, error, out)
        }
        BackendEvent::ProcessGone { step } => super::processes::process_gone(state, step),
        BackendEvent::Signoffs(all) => merge_signoffs(state, all, out),
        BackendEvent::Plan(slots) => crate::app::plan::answered(state, slots),
        BackendEvent::Content { step, manifest } => content::on_content(state, step, manifest, out),
        BackendEvent::Notified {
            event,
            url,
            error,
            required,
        } => crate::app::data_hooks::notified(state, &event, &url, error, required),
        BackendEvent::Team(ev) => team::on_event(state, ev, out),
        BackendEvent::Kube { step, event } => rollout::on_event(state, step, event, out),
        BackendEvent::Journaled { op, error } => {
            let Some(then) = state.plumbing.pending.remove(&op) else {
                return;
            };
            if let Some(e) = error {
                state.auto = false;
                state.journal_error = Some(e.clone());
                state.notify(
                    Level::Error,
                    format!("journal write failed: {e}; stopping here"),
                );
                return;
            }
            after_journaled(state, then, out);
        }
    }
}

pub(super) fn after_journaled(state: &mut AppState, then: After, out: &mut Vec<Command>) {
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
                let attempt = state.attempts(step);
                record_end(state, step, attempt, "succeeded", None, Some(note), out);
            }
            ResumeChoice::Skip => {
                state.view.dialog = Some(Dialog::Skip {
                    step,
                    reason: String::new(),
                })
            }
            ResumeChoice::Wait => super::processes::end_lingering(state, step, false, out),
            ResumeChoice::Kill => super::processes::end_lingering(state, step, true, out),
        },
    }
}

/// The intent is durable: hand the step to its backend, or wait for people.
pub(super) fn launch(state: &mut AppState, i: usize, attempt: u32, out: &mut Vec<Command>) {
    let Some(step) = state.step(i).cloned() else {
        return;
    };
    match &step.action {
        StepAction::Manual(_) => {
            if state.acks.contains(&step.id) {
                acknowledge(state, i, out);
            } else {
                waiting(state, i, "checklist to tick");
            }
        }
        StepAction::Gate(_) => {
            gate_changed(state, i, out);
            crate::app::data_hooks::gate_waiting(state, i, out);
        }
        StepAction::Command(_)
        | StepAction::Check(_)
        | StepAction::Data(_)
        | StepAction::Kube(_) => {
            match crate::app::rollout::resolved(state, i, &step.action) {
                Ok(mut action) => {
                    // A notify step posts text flightdeck built from values:
                    // the webhook gets it masked like every other sink.
                    if let StepAction::Data(crate::runbook::data::DataAction::Notify(n)) =
                        &mut action
                    {
                        n.message = state.values.secrets.mask(&n.message);
                    }
                    let env = state.values.env_vars.clone();
                    out.push(Command::RunStep {
                        step: i,
                        attempt,
                        action,
                        timeout: step.timeout,
                        env,
                    });
                }
                Err(e) => {
                    let reason = e.to_string();
                    state.say(i, Stream::Info, reason.clone());
                    finish_step(state, i, Outcome::failed(reason), out);
                }
            }
        }
    }
}
