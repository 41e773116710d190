//! Backend events: output, outcomes, journal acknowledgements; and what
//! happens once an outcome is durable (retry, move on, stop).

use super::*;

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
            let id = state.step(step).id.clone();
            for (stream, raw) in lines {
                let line = state.secrets.mask(&sanitize::sanitize_line(&raw));
                if state.headless {
                    state.events.push(HeadlessEvent::Output {
                        step: id.clone(),
                        stream: stream_name(stream),
                        line: line.clone(),
                    });
                }
                state.outputs[step].push(stream, line);
            }
            if dropped > 0 {
                state.outputs[step].add_dropped(dropped);
                state.events.push(HeadlessEvent::OutputDropped {
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
            if super::processes::step_ended(state, step, out) {
                return;
            }
            // Masked here, once: the outcome goes on to the journal, the
            // audit log, the status line and the headless stream.
            let outcome = mask_outcome(&state.secrets, outcome);
            let said = match &outcome {
                Outcome::Failure { reason, .. } => Some(format!("failed: {reason}")),
                Outcome::Inconclusive { reason } => {
                    Some(format!("inconclusive: {reason} (a person decides)"))
                }
                Outcome::Success { .. } => None,
            };
            if let Some(text) = said {
                let text = sanitize::sanitize_line(&text);
                state.outputs[step].push(Stream::Info, text);
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
        BackendEvent::Content { step, manifest } => {
            crate::app::content::on_content(state, step, manifest, out)
        }
        BackendEvent::Notified {
            event,
            url,
            error,
            required,
        } => crate::app::data_hooks::notified(state, &event, &url, error, required),
        BackendEvent::Team(ev) => crate::app::team::on_event(state, ev, out),
        BackendEvent::Kube { step, event } => {
            crate::app::rollout::on_event(state, step, event, out)
        }
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

/// An outcome's texts, sanitized and with every secret masked.
pub(crate) fn mask_outcome(
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
                let attempt = state.release.steps[step].attempts;
                record_end(state, step, attempt, "succeeded", None, Some(note), out);
            }
            ResumeChoice::Skip => {
                state.dialog = Some(Dialog::Skip {
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
    let step = state.step(i).clone();
    match &step.action {
        StepAction::Manual(_) => {
            if state.headless && state.acks.contains(&step.id) {
                let note = format!("acknowledged by {} with --ack", state.identity.person);
                // --ack STEP ticks every item at once.
                let times = vec![state.now; super::checklist_len(state, i)];
                super::dialogs::journal_ticks(state, i, &times, None, out);
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
            crate::app::data_hooks::gate_waiting(state, i, out);
        }
        StepAction::Command(_)
        | StepAction::Check(_)
        | StepAction::Data(_)
        | StepAction::Kube(_) => {
            match resolve(state, &step.action)
                .and_then(|a| crate::app::rollout::prepare(state, i, a))
            {
                Ok(mut action) => {
                    // A notify step posts text flightdeck built from values:
                    // the webhook gets it masked like every other sink.
                    if let StepAction::Data(crate::runbook::data::DataAction::Notify(n)) =
                        &mut action
                    {
                        n.message = state.secrets.mask(&n.message);
                    }
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
    state.events.push(HeadlessEvent::Waiting {
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
    action.render(&scope(state)).map_err(|e| e.to_string())
}

pub(super) fn scope(state: &AppState) -> Scope {
    state.scope(state.release.inputs.clone(), true)
}

/// An outcome is durable: retry, move on, or stop.
pub(super) fn step_settled(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
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
            if crate::app::rollout::rolled_back(state, i) {
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

pub(crate) fn advance(state: &mut AppState, out: &mut Vec<Command>) {
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
    // Not for this environment: settled without anyone pressing run.
    if state.release.steps[next].status == StepStatus::Pending
        && !state.runbook.applies(next, &state.release.environment)
    {
        super::conditions::skip_if_not_for_env(state, next, out);
        return;
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
    crate::app::data_hooks::release_ended(state, out);
    let status = state.release.status.as_str().to_string();
    let level = if state.release.status == ReleaseStatus::Succeeded {
        Level::Info
    } else {
        Level::Warn
    };
    state.notify(level, format!("release {status}"));
    state.events.push(HeadlessEvent::ReleaseEnded {
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
