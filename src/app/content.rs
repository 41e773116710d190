//! What was approved is what runs: before a step after a passed gate (or a
//! gate) starts, the content is read again (`Command::CheckContent`); if a
//! passed gate's sign-offs do not cover it, the step does not start, a
//! `content_changed` entry is journaled and the gate waits for fresh
//! sign-offs. Pure: the reading is the runner's.

use super::state::{After, AppState, HeadlessEvent, Level};
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::content::{self, ClusterSource, ContentManifest, ContentRequest};
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

fn is_gate(state: &AppState, i: usize) -> bool {
    matches!(state.step(i).action, StepAction::Gate(_))
}

/// Must the content be read before step `i` starts?
fn needs_check(state: &AppState, i: usize) -> bool {
    state.content.current.is_some()
        && (is_gate(state, i)
            || (0..i).any(|g| {
                is_gate(state, g) && state.release.steps[g].status == StepStatus::Succeeded
            }))
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
fn stale_gate(state: &AppState, step: usize, hash: &str) -> Option<usize> {
    (0..step).find(|&g| {
        let StepAction::Gate(spec) = &state.step(g).action else {
            return false;
        };
        state.release.steps[g].status == StepStatus::Succeeded
            && !gates::tally(spec, &state.release.signoffs_for(&state.step(g).id), hash).satisfied()
    })
}

fn manifest_of<'a>(state: &'a AppState, hash: &str) -> Option<&'a ContentManifest> {
    state
        .content
        .history
        .iter()
        .rev()
        .chain(state.content.current.iter())
        .find(|m| m.hash() == hash)
}

/// The content as read for step `step`.
pub(crate) fn on_content(
    state: &mut AppState,
    step: usize,
    manifest: ContentManifest,
    out: &mut Vec<Command>,
) {
    if state.content.asked != Some(step) {
        return; // not asked (any more)
    }
    state.content.asked = None;
    if manifest.runbook != state.release.runbook_hash {
        // Approving the file's new content must not let this session run
        // the steps it loaded before: it stops, and a new session checks.
        state.content.runbook_moved = true;
        state.auto = false;
        let text = format!(
            "the runbook file changed since flightdeck loaded it: {} does not run here; quit and reopen the release to load it (its gates then need sign-offs on the new content)",
            state.step(step).id
        );
        state.outputs[step].push(Stream::Info, text.clone());
        state.notify(Level::Warn, text);
        if state.headless {
            super::update::quit(state, out);
        }
        return;
    }
    let new_hash = manifest.hash();
    let stale = stale_gate(state, step, &new_hash);
    let old_hash = match stale {
        Some(g) => match &state.step(g).action {
            StepAction::Gate(spec) => {
                content::approved_under(spec, &state.release.signoffs_for(&state.step(g).id))
                    .unwrap_or_else(|| state.approval_hash.clone())
            }
            _ => state.approval_hash.clone(),
        },
        None => state.approval_hash.clone(),
    };
    if old_hash != new_hash {
        let changed = match manifest_of(state, &old_hash) {
            Some(old) => content::changed(old, &manifest),
            None => vec!["content (the approved content is not on record)".to_string()],
        };
        record(state, step, stale, old_hash, &manifest, changed, out);
    }
    state.approval_hash = new_hash.clone();
    if !state.content.history.iter().any(|m| m.hash() == new_hash) {
        state.content.history.push(manifest.clone());
    }
    state.content.current = Some(manifest);
    match stale {
        Some(g) => reopen(state, g, out),
        None => {
            state.content.cleared = Some(step);
            super::update::start_step(state, step, out);
            if state.content.tick_after.take() == Some(step)
                && state.release.steps[step].status == StepStatus::Waiting
                && state.dialog.is_none()
            {
                let items = super::update::checklist_len(state, step);
                state.dialog = Some(super::state::Dialog::checklist(step, items));
            }
        }
    }
}

fn record(
    state: &mut AppState,
    step: usize,
    stale: Option<usize>,
    old_hash: String,
    manifest: &ContentManifest,
    changed: Vec<String>,
    out: &mut Vec<Command>,
) {
    let new_hash = manifest.hash();
    if let Some(g) = stale {
        let gate = state.step(g).id.clone();
        // Paths come from the runbook: shown only as plain text.
        let text = crate::sanitize::sanitize_line(&format!(
            "content changed since gate {gate} was approved ({}): {} does not run; the gate needs fresh sign-offs on {}…",
            changed.join(", "),
            state.step(step).id,
            &new_hash[..12]
        ));
        state.outputs[g].push(Stream::Info, text.clone());
        state.notify(Level::Warn, text);
        state.events.push(HeadlessEvent::ContentChanged {
            step: state.step(step).id.clone(),
            gate,
            old_hash: old_hash.clone(),
            new_hash: new_hash.clone(),
            changed: changed.clone(),
        });
    }
    let entry = JournalEntry::ContentChanged {
        release_id: state.release.id.clone(),
        old_hash: Some(old_hash),
        new_hash,
        changed,
        manifest: manifest.clone(),
        at: state.now,
    };
    super::update::journal(state, entry, After::Nothing, out);
}

/// Gate `g` waits again; its new attempt is journaled before it counts.
fn reopen(state: &mut AppState, g: usize, out: &mut Vec<Command>) {
    let now = state.now;
    match state.release.reopen_gate(&state.runbook, g, now) {
        Ok(attempt) => {
            state.selected = g;
            state.scroll = 0;
            let step_id = state.step(g).id.clone();
            state.events.push(HeadlessEvent::StepStarted {
                step: step_id.clone(),
                attempt,
            });
            let entry = JournalEntry::StepStarted {
                release_id: state.release.id.clone(),
                step_id,
                attempt,
                at: now,
            };
            super::update::journal(state, entry, After::Start { step: g, attempt }, out);
        }
        Err(e) => state.notify(Level::Warn, e.0),
    }
}
