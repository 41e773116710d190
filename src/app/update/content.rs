//! Content check answers (see `app::content`): start the step, or stop
//! and reopen the gate whose sign-offs no longer cover what would run.

use super::journal::*;
use super::steps::*;
use crate::app::content::{manifest_of, stale_gate};
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::content::{self, ContentManifest};
use crate::runbook::progress::StepStatus;

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
            state.step_id(step)
        );
        state.say(step, Stream::Info, text.clone());
        state.notify(Level::Warn, text);
        return;
    }
    let new_hash = manifest.hash();
    let stale = stale_gate(state, step, &new_hash);
    let old_hash = match stale {
        Some(g) => match state.action(g) {
            Some(StepAction::Gate(spec)) => {
                content::approved_under(spec, &state.release.signoffs_for(&state.step_id(g)))
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
            start_step(state, step, out);
            if state.content.tick_after.take() == Some(step)
                && state.status(step) == Some(&StepStatus::Waiting)
                && state.view.dialog.is_none()
            {
                let items = checklist_len(state, step);
                state.view.dialog = Some(Dialog::checklist(step, items));
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
        let gate = state.step_id(g);
        // Paths come from the runbook: shown only as plain text.
        let text = crate::sanitize::sanitize_line(&format!(
            "content changed since gate {gate} was approved ({}): {} does not run; the gate needs fresh sign-offs on {}…",
            changed.join(", "),
            state.step_id(step),
            &new_hash[..12]
        ));
        state.say(g, Stream::Info, text.clone());
        state.notify(Level::Warn, text);
        state.plumbing.events.push(HeadlessEvent::ContentChanged {
            step: state.step_id(step),
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
    journal(state, entry, After::Nothing, out);
}

/// Gate `g` waits again; its new attempt is journaled before it counts.
fn reopen(state: &mut AppState, g: usize, out: &mut Vec<Command>) {
    let now = state.now;
    match state.release.reopen_gate(&state.runbook, g, now) {
        Ok(attempt) => {
            state.view.selected = g;
            state.view.scroll = 0;
            let step_id = state.step_id(g);
            state.plumbing.events.push(HeadlessEvent::StepStarted {
                step: step_id.clone(),
                attempt,
            });
            let entry = JournalEntry::StepStarted {
                release_id: state.release.id.clone(),
                step_id,
                attempt,
                at: now,
            };
            journal(state, entry, After::Start { step: g, attempt }, out);
        }
        Err(e) => state.notify(Level::Warn, e.0),
    }
}
