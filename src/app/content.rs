//! What was approved is what runs: before a step after a passed gate (or a
//! gate) starts, the content is read again (`Command::CheckContent`); if a
//! passed gate's sign-offs do not cover it, the step does not start, a
//! `content_changed` entry is journaled and the gate waits for fresh
//! sign-offs. Pure: the reading is the runner's.

use super::state::AppState;
use crate::protocol::command::Command;
use crate::runbook::StepAction;
use crate::runbook::content::{ClusterSource, ContentManifest, ContentRequest};
use crate::runbook::gates;
use crate::runbook::progress::StepStatus;

/// The request for the release's content as this session sees it.
pub fn request(state: &AppState) -> ContentRequest {
    let cluster = state.kube.cluster.as_ref().map(|c| {
        let namespace = state
            .runbook
            .environment(&state.release.environment)
            .and_then(|e| e.kube.as_ref())
            .and_then(|p| p.namespace.clone())
            .unwrap_or_else(|| c.namespace.clone());
        ClusterSource::Resolve {
            kubeconfig: c.kubeconfig.clone(),
            context: c.context.clone(),
            namespace,
        }
    });
    ContentRequest::new(
        &state.runbook,
        &state.runbook_path,
        &state.release.environment,
        cluster,
        &state.journaled_inputs(),
    )
}

/// Session start: the content as read now becomes the approval hash.
pub fn set_current(state: &mut AppState, manifest: ContentManifest, history: Vec<ContentManifest>) {
    state.approval_hash = manifest.hash();
    state.content.current = Some(manifest);
    state.content.history = history;
}

pub(crate) fn is_gate(state: &AppState, i: usize) -> bool {
    matches!(state.action(i), Some(StepAction::Gate(_)))
}

/// Must the content be read before step `i` starts?
pub(crate) fn needs_check(state: &AppState, i: usize) -> bool {
    state.content.current.is_some()
        && (is_gate(state, i)
            || (0..i).any(|g| is_gate(state, g) && state.status(g) == Some(&StepStatus::Succeeded)))
}

/// Called as step `i` is about to start: `true` holds the start back until
/// the content check answers.
pub(crate) fn hold(state: &mut AppState, i: usize, out: &mut Vec<Command>) -> bool {
    if state.content.runbook_moved {
        return true;
    }
    if !needs_check(state, i) {
        return false;
    }
    if state.content.cleared == Some(i) {
        state.content.cleared = None;
        return false;
    }
    if state.content.asked.is_none() {
        state.content.asked = Some(i);
        out.push(Command::CheckContent {
            step: i,
            request: request(state),
        });
    }
    true
}

/// Is a check outstanding (nothing else may start meanwhile)?
pub fn checking(state: &AppState) -> bool {
    state.content.asked.is_some()
}

/// This session may not start anything more (see `runbook_moved`).
pub fn stopped(state: &AppState) -> bool {
    state.content.runbook_moved
}

/// The first passed gate before `step` whose sign-offs do not cover `hash`.
pub(crate) fn stale_gate(state: &AppState, step: usize, hash: &str) -> Option<usize> {
    (0..step).find(|&g| {
        let Some(StepAction::Gate(spec)) = state.action(g) else {
            return false;
        };
        state.status(g) == Some(&StepStatus::Succeeded)
            && !gates::tally(spec, &state.release.signoffs_for(&state.step_id(g)), hash).satisfied()
    })
}

pub(crate) fn manifest_of<'a>(state: &'a AppState, hash: &str) -> Option<&'a ContentManifest> {
    state
        .content
        .history
        .iter()
        .rev()
        .chain(state.content.current.iter())
        .find(|m| m.hash() == hash)
}
