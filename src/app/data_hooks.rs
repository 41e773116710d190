//! The data step kinds' part of `update`: the point of no return after an
//! irreversible migration, and the release events posted to `notify:`
//! hooks. Pure: commands out, no IO.

use serde_json::json;

use super::state::{AppState, Level};
use crate::protocol::command::Command;
use crate::runbook::data::{DataAction, notify_payload};
use crate::runbook::progress::{Release, ReleaseStatus, StepStatus};
use crate::runbook::{Runbook, StepAction};

/// Marker the migrate step puts in its outcome note (and so the journal).
pub const NO_RETURN_MARK: &str = "point of no return";

/// The first migrate step that applied an irreversible migration, if any:
/// from then on an image rollback alone will not undo the release.
pub fn point_of_no_return(rb: &Runbook, release: &Release) -> Option<String> {
    rb.steps().zip(&release.steps).find_map(|(step, run)| {
        let StepAction::Data(DataAction::Migrate(m)) = &step.action else {
            return None;
        };
        let applied = run.status == StepStatus::Succeeded;
        let marked = run
            .note
            .as_deref()
            .is_some_and(|n| n.contains(NO_RETURN_MARK));
        // A step declared irreversible marks its note too when it applied
        // anything, so the note alone decides (and survives a resume).
        let _ = m;
        (applied && marked).then(|| step.id.clone())
    })
}

/// After a step's outcome is recorded in the release (from `finish_step`).
pub fn step_finished(state: &mut AppState, i: usize) {
    if state.point_of_no_return.is_none()
        && let Some(id) = point_of_no_return(&state.runbook, &state.release)
    {
        let _ = i;
        state.notify(
            Level::Warn,
            format!(
                "point of no return: {id} applied an irreversible migration; an image rollback alone will not undo it"
            ),
        );
        state.point_of_no_return = Some(id);
    }
}

/// Post `event` to every hook that follows it; `more` adds fields to the
/// JSON format's body (the step, its reason, the approve command).
pub fn release_event(
    state: &AppState,
    event: &str,
    text: &str,
    more: serde_json::Value,
    out: &mut Vec<Command>,
) {
    for hook in &state.runbook.notify {
        if !hook.on.iter().any(|e| e == event) {
            continue;
        }
        let mut extra = json!({
            "release": state.release.id,
            "runbook": state.runbook.name,
            "environment": state.release.environment,
            "initiator": state.release.initiator,
            "status": state.release.status.as_str(),
        });
        if let (Some(obj), Some(more)) = (extra.as_object_mut(), more.as_object()) {
            obj.extend(more.clone());
        }
        // The URL may name `${env.X}` or `${inputs.x}` (a webhook secret).
        let mut hook = hook.clone();
        match scope(state).render(&hook.url) {
            Ok(url) => hook.url = url,
            Err(e) => {
                tracing::warn!("notify hook for {event} not sent: {e}");
                continue;
            }
        }
        // What a webhook receives is a sink like any other.
        let payload = notify_payload(hook.format, event, &state.values.secrets.mask(text), extra);
        out.push(Command::Notify {
            hook,
            event: event.to_string(),
            payload,
        });
    }
}

fn scope(state: &AppState) -> crate::runbook::interpolate::Scope {
    state.scope(state.release.inputs.clone(), true)
}

fn headline(state: &AppState) -> String {
    format!(
        "{} release {} to {}",
        state.runbook.name, state.release.id, state.release.environment
    )
}

/// A step has just begun (its intent is being journaled): the very first
/// step run of a release is its start.
pub fn step_began(state: &AppState, i: usize, attempt: u32, out: &mut Vec<Command>) {
    let started = state
        .release
        .steps
        .iter()
        .enumerate()
        .all(|(j, s)| j == i || (s.attempts == 0 && s.finished_at.is_none()));
    if attempt == 1 && started {
        let text = format!("{} started by {}", headline(state), state.release.initiator);
        release_event(state, "started", &text, json!({}), out);
    }
}

/// A gate has begun to wait for sign-offs.
pub fn gate_waiting(state: &AppState, i: usize, out: &mut Vec<Command>) {
    if state.status(i) != Some(&StepStatus::Waiting) {
        return;
    }
    let gate = state.step_id(i);
    // What an approver types: one command per role the gate needs.
    let approve: Vec<String> = match state.action(i) {
        Some(StepAction::Gate(g)) => g
            .roles
            .iter()
            .map(|(role, _)| {
                format!(
                    "flightdeck approve {} --gate {gate} --role {role}",
                    state.release.id
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let text = format!(
        "{} is waiting for sign-off at {gate} ({}); approve with: {}",
        headline(state),
        state.view.titles.get(i).cloned().unwrap_or_default(),
        approve.join(" / ")
    );
    let more = json!({ "step": gate, "approve": approve });
    release_event(state, "waiting", &text, more, out);
}

/// The step that stopped the release and why: the last failed one.
fn failing_step(state: &AppState) -> Option<(usize, String)> {
    state
        .release
        .steps
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, s)| match &s.status {
            StepStatus::Failed { reason } => Some((i, reason.clone())),
            _ => None,
        })
}

/// The release has ended.
pub fn release_ended(state: &AppState, out: &mut Vec<Command>) {
    let rolled_back = (0..state.step_count()).any(|i| super::rollout::rolled_back(state, i));
    let (event, word) = match state.release.status {
        ReleaseStatus::Succeeded => ("succeeded", "succeeded"),
        ReleaseStatus::Failed if rolled_back => ("rolled_back", "was rolled back"),
        ReleaseStatus::Failed => ("failed", "failed"),
        ReleaseStatus::Aborted => ("failed", "was aborted"),
        ReleaseStatus::Running => return,
    };
    let mut text = format!("{} {word}", headline(state));
    let mut more = json!({});
    if event != "succeeded"
        && let Some((i, reason)) = failing_step(state)
    {
        let id = state.step_id(i);
        text.push_str(&format!(
            " at {id} ({}): {reason}",
            state.view.titles.get(i).cloned().unwrap_or_default()
        ));
        more = json!({ "step": id, "reason": reason });
    }
    if let Some(id) = &state.point_of_no_return {
        text.push_str(&format!(
            " (past the point of no return at {id}: the schema change stays)"
        ));
    }
    release_event(state, event, &text, more, out);
}

/// A hook was posted: show a failure (it never fails the release).
pub fn notified(
    state: &mut AppState,
    event: &str,
    url: &str,
    error: Option<String>,
    required: bool,
) {
    // Text from a backend: masked here, before the status line or the log.
    let url = state
        .values
        .secrets
        .mask(&crate::sanitize::sanitize_line(url));
    let Some(e) = error else {
        tracing::info!("notified {url} of {event}");
        return;
    };
    let e = state
        .values
        .secrets
        .mask(&crate::sanitize::sanitize_line(&e));
    let level = if required { Level::Error } else { Level::Warn };
    state.notify(level, format!("could not notify {url} of {event}: {e}"));
}
