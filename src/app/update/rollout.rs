//! Rollout events and the rollout pane's keys (see `app::rollout`):
//! snapshots, pod logs, log scope and search, manual rollback.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::Action;
use crate::app::state::*;
use crate::protocol::command::Command;
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::progress::StepStatus;
use crate::sanitize;
use std::sync::Arc;

use crate::app::rollout::{has_rollout, resolved};
use crate::protocol::kube::{ConnState, KubeEvent};

pub fn on_event(state: &mut AppState, step: usize, ev: KubeEvent, _out: &mut Vec<Command>) {
    if step >= state.step_count() {
        return;
    }
    let now = state.now;
    let view = state.kube.rollouts.entry(step).or_default();
    match ev {
        KubeEvent::Watching {
            namespace,
            deployment,
            phase,
        } => {
            view.namespace = namespace;
            view.deployment = deployment;
            view.phase = phase;
            view.conn = ConnState::Connecting;
        }
        KubeEvent::Snapshot(mut s) => {
            if snapshot_holds_secret(&state.values.secrets, &s) {
                mask_snapshot(&state.values.secrets, std::sync::Arc::make_mut(&mut s));
            }
            view.derived = crate::runbook::rollout::Derived::of(&s, Arc::as_ptr(&s) as usize, now);
            view.snapshot = s;
            view.updated_at = now;
        }
        KubeEvent::Connection(c) => view.conn = c,
        KubeEvent::PodLogs { lines, dropped } => {
            for mut l in lines {
                l.text = state.values.secrets.mask(&sanitize::sanitize_line(&l.text));
                view.logs.push(l);
            }
            view.logs.dropped += dropped;
            view.logs.total += dropped;
        }
        KubeEvent::RollbackStarted { trigger, reason } => {
            let reason = state.values.secrets.mask(&reason);
            let text = format!("rolling back ({trigger}): {reason}");
            view.rollback = Some(reason);
            let text = sanitize::sanitize_line(&text);
            state.say(step, Stream::Info, text.clone());
            state.notify(Level::Error, text);
        }
        KubeEvent::RollbackDone { ok, detail } => {
            view.rolling_back = false;
            let detail = state.values.secrets.mask(&sanitize::sanitize_line(&detail));
            state.say(step, Stream::Info, detail.clone());
            state.notify(if ok { Level::Warn } else { Level::Error }, detail);
        }
    }
}

/// Keys for the log search box, while it is open. True when handled.
pub fn key(state: &mut AppState, key: &KeyEvent, _out: &mut Vec<Command>) -> bool {
    let i = state.view.selected;
    let Some(view) = state.kube.rollouts.get_mut(&i) else {
        return false;
    };
    if !view.logs.editing {
        return false;
    }
    match key.code {
        KeyCode::Enter => view.logs.editing = false,
        KeyCode::Esc => {
            view.logs.editing = false;
            view.logs.filter.clear();
        }
        KeyCode::Backspace => {
            view.logs.filter.pop();
        }
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            view.logs.editing = false;
            view.logs.filter.clear();
        }
        KeyCode::Char(c) if view.logs.filter.chars().count() < 200 => view.logs.filter.push(c),
        _ => {}
    }
    true
}

/// The rollout actions of the keymap.
pub fn act(state: &mut AppState, action: Action, _out: &mut Vec<Command>) {
    let i = state.view.selected;
    match action {
        Action::LogScope | Action::LogSearch => {
            if !has_rollout(state, i) {
                state.notify(Level::Warn, "pod logs belong to kube rollout steps");
                return;
            }
            let view = state.kube.rollouts.entry(i).or_default();
            if action == Action::LogScope {
                view.logs.scope = view.logs.scope.next();
                let s = view.logs.scope.as_str();
                state.notify(Level::Info, format!("pod logs: {s}"));
            } else {
                view.logs.editing = true;
            }
        }
        Action::Rollback => request_rollback(state, i),
        _ => {}
    }
}

fn request_rollback(state: &mut AppState, i: usize) {
    let Some(StepAction::Kube(k)) = state.action(i) else {
        state.notify(Level::Warn, "only kube steps roll back");
        return;
    };
    let has_undo = state.step(i).is_some_and(|s| s.undo.is_some());
    let Some(deployment) = k.deployment().or(has_undo.then_some("")) else {
        state.notify(
            Level::Warn,
            "this step has no undo and changes no Deployment",
        );
        return;
    };
    let deployment = state.render_text(deployment);
    if state.status(i) == Some(&StepStatus::Pending) {
        state.notify(Level::Warn, "this step has not run: nothing to roll back");
        return;
    }
    if state.kube.rollouts.get(&i).is_some_and(|v| v.rolling_back) {
        state.notify(Level::Warn, "a rollback of this step is already running");
        return;
    }
    let undo = match state.step(i).and_then(|s| s.undo.as_ref()) {
        Some(u) => format!("its undo ({})", u.kind_name()),
        None => format!("kube.undo of deployment {deployment}"),
    };
    state.view.dialog = Some(Dialog::Confirm {
        what: Confirmable::Rollback(i),
        message: format!(
            "Roll back step {:?} in {}? This runs {undo} and stops the release as failed.",
            state.step_id(i),
            state.release.environment
        ),
        expect: state.confirm_by_typing(),
        typed: String::new(),
    });
}

/// The person confirmed a manual rollback of step `i`.
pub fn confirmed_rollback(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    let Some(StepAction::Kube(k)) = state.action(i).cloned() else {
        return;
    };
    let undo = match state.step(i).and_then(|s| s.undo.clone()) {
        Some(u) => u,
        None => match k.default_undo() {
            Some(u) => StepAction::Kube(u),
            None => return,
        },
    };
    let action = match resolved(state, i, &undo) {
        Ok(a) => a,
        Err(e) => {
            state.notify(Level::Error, format!("cannot roll back: {e}"));
            return;
        }
    };
    let reason = format!("rolled back by {}", state.identity.person);
    state.say(i, Stream::Info, format!("{reason}: running the undo"));
    let view = state.kube.rollouts.entry(i).or_default();
    view.rollback = Some(reason.clone());
    view.rolling_back = true;
    if matches!(state.status(i), Some(StepStatus::Running { .. })) {
        out.push(Command::CancelStep { step: i });
    }
    out.push(Command::KubeRollback {
        step: i,
        action,
        reason,
    });
}

/// Whether any cluster text in `s` would change when masked (the snapshot
/// is shared: copy it only then).
fn snapshot_holds_secret(
    secrets: &crate::runbook::secrets::SecretSet,
    s: &crate::runbook::rollout::RolloutSnapshot,
) -> bool {
    let changes = |t: &str| secrets.mask(t) != t;
    s.deployment
        .iter()
        .flat_map(|d| d.conditions.iter())
        .chain(s.pods.iter().flat_map(|p| p.conditions.iter()))
        .any(|c| changes(&c.message))
        || s.pods
            .iter()
            .flat_map(|p| p.containers.iter())
            .filter_map(|c| c.waiting_message.as_deref())
            .any(changes)
        || s.events.iter().any(|e| changes(&e.message))
}

/// Cluster text (event and condition messages, a container's waiting
/// message) enters here: mask secrets before the screen or a verdict sees it.
fn mask_snapshot(
    secrets: &crate::runbook::secrets::SecretSet,
    s: &mut crate::runbook::rollout::RolloutSnapshot,
) {
    let mut conditions: Vec<&mut crate::runbook::rollout::Condition> = Vec::new();
    if let Some(d) = s.deployment.as_mut() {
        conditions.extend(d.conditions.iter_mut());
    }
    for p in s.pods.iter_mut() {
        conditions.extend(p.conditions.iter_mut());
        for c in p.containers.iter_mut() {
            if let Some(m) = c.waiting_message.as_mut() {
                *m = secrets.mask(m);
            }
        }
    }
    for c in conditions {
        c.message = secrets.mask(&c.message);
    }
    for e in s.events.iter_mut() {
        e.message = secrets.mask(&e.message);
    }
}
