//! Live rollouts in the UI state: what the kube backend reports per step
//! (snapshots, connection, pod logs, rollbacks) and what the operator does
//! with it (log scope and search, manual rollback). Synchronous, no IO.

use crate::protocol::kube::{ClusterError, ClusterInfo, ConnState, KubeEvent, LogLine};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::state::{AppState, Confirmable, Dialog, Level};
use crate::protocol::command::Command;
use crate::protocol::output::Stream;
use crate::runbook::CheckSpec;
use crate::runbook::StepAction;
use crate::runbook::kube::{Cluster, KubeCheck};
use crate::runbook::progress::StepStatus;
use crate::runbook::rollout::RolloutSnapshot;
use crate::sanitize;

/// Pod log lines kept per step; older ones are evicted (and counted).
pub const MAX_LOG_LINES: usize = 10_000;
/// And at most this much log text per step.
pub const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;

/// Which pods' logs the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogScope {
    #[default]
    New,
    Old,
    All,
}

impl LogScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LogScope::New => "new pods",
            LogScope::Old => "old pods",
            LogScope::All => "all pods",
        }
    }

    fn next(self) -> Self {
        match self {
            LogScope::New => LogScope::Old,
            LogScope::Old => LogScope::All,
            LogScope::All => LogScope::New,
        }
    }

    pub fn shows(self, line: &LogLine) -> bool {
        match self {
            LogScope::New => line.new,
            LogScope::Old => !line.new,
            LogScope::All => true,
        }
    }
}

/// Sanitized pod logs of a step, bounded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogView {
    pub lines: VecDeque<LogLine>,
    /// Lines the backend dropped because the pods flooded.
    pub dropped: u64,
    /// Older lines pushed out of the buffer.
    pub evicted: u64,
    pub total: u64,
    pub scope: LogScope,
    /// Only lines containing this (case-insensitive) are shown.
    pub filter: String,
    /// The `/` search box has the keys.
    pub editing: bool,
    /// Text bytes held in `lines`.
    pub bytes: usize,
}

impl LogView {
    pub fn push(&mut self, line: LogLine) {
        self.total += 1;
        self.bytes += line.text.len();
        self.lines.push_back(line);
        // Bounded by lines and by bytes (long lines would otherwise hold
        // up to 8 KiB each).
        while self.lines.len() > MAX_LOG_LINES || self.bytes > MAX_LOG_BYTES {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.text.len();
            self.evicted += 1;
        }
    }

    /// The lines the pane shows: in scope and matching the filter.
    pub fn visible(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        let needle = self.filter.to_lowercase();
        self.lines.iter().filter(move |l| {
            self.scope.shows(l)
                && (needle.is_empty()
                    || l.text.to_lowercase().contains(&needle)
                    || l.source.to_lowercase().contains(&needle))
        })
    }
}

/// A step's live rollout as the pane shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RolloutView {
    pub namespace: String,
    pub deployment: String,
    /// "rollout" or "undo".
    pub phase: String,
    pub snapshot: Arc<RolloutSnapshot>,
    /// Verdict, why stuck and counts of `snapshot`, computed on arrival.
    pub derived: crate::runbook::rollout::Derived,
    pub conn: ConnState,
    pub logs: LogView,
    /// Why the step rolled back (a trigger or a person): the release stops.
    pub rollback: Option<String>,
    /// A manual rollback is running outside the step.
    pub rolling_back: bool,
    /// When the last snapshot arrived.
    pub updated_at: i64,
}

/// Kubernetes in the UI state: one field of `AppState`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KubeState {
    /// `None`: no kubeconfig could be read (`cluster_error` says why).
    pub cluster: Option<ClusterInfo>,
    pub cluster_error: Option<String>,
    pub rollouts: BTreeMap<usize, RolloutView>,
}

// ---------------------------------------------------------------- launch

/// The namespace and context the environment pins, if any.
fn pin(state: &AppState) -> Option<crate::runbook::kube::KubePin> {
    state
        .runbook
        .environment(&state.release.environment)
        .and_then(|e| e.kube.clone())
}

/// Why kube steps may not run here, if they may not: the environment pins
/// another context than the one in use.
pub fn refusal(state: &AppState) -> Option<ClusterError> {
    let pinned = pin(state)?.context?;
    let environment = state.release.environment.clone();
    match &state.kube.cluster {
        Some(c) if c.context == pinned => None,
        Some(c) => Some(ClusterError::OtherContext {
            environment,
            pinned,
            current: c.context.clone(),
        }),
        None => Some(ClusterError::PinnedButNone {
            environment,
            pinned,
            reason: state.kube.cluster_error.clone(),
        }),
    }
}

pub(crate) fn cluster(state: &AppState) -> Result<Cluster, ClusterError> {
    if let Some(r) = refusal(state) {
        return Err(r);
    }
    let Some(c) = &state.kube.cluster else {
        return Err(ClusterError::NoCluster {
            reason: state.kube.cluster_error.clone(),
        });
    };
    let namespace = pin(state)
        .and_then(|p| p.namespace)
        .unwrap_or_else(|| c.namespace.clone());
    Ok(Cluster {
        kubeconfig: c.kubeconfig.clone(),
        context: Some(c.context.clone()),
        namespace,
    })
}

/// Fill in the cluster of a kube step (or check) about to run, and its
/// undo; refuse when the environment pins another context. Other actions
/// pass through.
pub fn prepare(state: &AppState, i: usize, action: StepAction) -> Result<StepAction, String> {
    match action {
        StepAction::Kube(mut k) => {
            k.cluster = cluster(state).map_err(|e| e.to_string())?;
            let undo = match &state.step(i).undo {
                Some(u) => Some(super::update::resolve(state, u)?),
                None => None,
            };
            k.undo = match undo {
                Some(StepAction::Kube(mut u)) => {
                    u.cluster = k.cluster.clone();
                    Some(Box::new(StepAction::Kube(u)))
                }
                other => other.map(Box::new),
            };
            Ok(StepAction::Kube(k))
        }
        StepAction::Check(CheckSpec::Kube(KubeCheck::Access { namespace, .. })) => {
            let cluster = cluster(state).map_err(|e| e.to_string())?;
            let mut needs = Vec::new();
            for step in state.runbook.steps() {
                for a in [Some(&step.action), step.undo.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    if let StepAction::Kube(k) = a {
                        let ns = k.namespace.as_deref().unwrap_or(&cluster.namespace);
                        needs.extend(k.permissions(ns));
                    }
                }
            }
            needs.sort();
            needs.dedup();
            Ok(StepAction::Check(CheckSpec::Kube(KubeCheck::Access {
                namespace,
                cluster,
                needs,
            })))
        }
        other => Ok(other),
    }
}

// ---------------------------------------------------------------- events

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
            if snapshot_holds_secret(&state.secrets, &s) {
                mask_snapshot(&state.secrets, std::sync::Arc::make_mut(&mut s));
            }
            view.derived = crate::runbook::rollout::Derived::of(&s, Arc::as_ptr(&s) as usize, now);
            view.snapshot = s;
            view.updated_at = now;
        }
        KubeEvent::Connection(c) => view.conn = c,
        KubeEvent::PodLogs { lines, dropped } => {
            for mut l in lines {
                l.text = state.secrets.mask(&sanitize::sanitize_line(&l.text));
                view.logs.push(l);
            }
            view.logs.dropped += dropped;
            view.logs.total += dropped;
        }
        KubeEvent::RollbackStarted { trigger, reason } => {
            let reason = state.secrets.mask(&reason);
            let text = format!("rolling back ({trigger}): {reason}");
            view.rollback = Some(reason);
            let text = sanitize::sanitize_line(&text);
            state.outputs[step].push(Stream::Info, text.clone());
            state.notify(Level::Error, text);
        }
        KubeEvent::RollbackDone { ok, detail } => {
            view.rolling_back = false;
            let detail = state.secrets.mask(&sanitize::sanitize_line(&detail));
            state.outputs[step].push(Stream::Info, detail.clone());
            state.notify(if ok { Level::Warn } else { Level::Error }, detail);
        }
    }
}

/// The step rolled back (a trigger fired or a person asked): the release
/// stops as failed rather than waiting for a retry.
pub fn rolled_back(state: &AppState, i: usize) -> bool {
    state
        .kube
        .rollouts
        .get(&i)
        .is_some_and(|v| v.rollback.is_some())
}

/// Does the pane of step `i` show a rollout?
pub fn has_rollout(state: &AppState, i: usize) -> bool {
    state.kube.rollouts.contains_key(&i)
        || matches!(&state.step(i).action, StepAction::Kube(k) if k.watched_deployment().is_some())
}

// ---------------------------------------------------------------- keys

/// Keys for the log search box, while it is open. True when handled.
pub fn key(state: &mut AppState, key: &KeyEvent, _out: &mut Vec<Command>) -> bool {
    let i = state.selected;
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
    let i = state.selected;
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
    let StepAction::Kube(k) = &state.step(i).action else {
        state.notify(Level::Warn, "only kube steps roll back");
        return;
    };
    let has_undo = state.step(i).undo.is_some();
    let Some(deployment) = k.deployment().or(has_undo.then_some("")) else {
        state.notify(
            Level::Warn,
            "this step has no undo and changes no Deployment",
        );
        return;
    };
    let deployment = state.render_text(deployment);
    if state.release.steps[i].status == StepStatus::Pending {
        state.notify(Level::Warn, "this step has not run: nothing to roll back");
        return;
    }
    if state.kube.rollouts.get(&i).is_some_and(|v| v.rolling_back) {
        state.notify(Level::Warn, "a rollback of this step is already running");
        return;
    }
    let undo = match &state.step(i).undo {
        Some(u) => format!("its undo ({})", u.kind_name()),
        None => format!("kube.undo of deployment {deployment}"),
    };
    state.dialog = Some(Dialog::Confirm {
        what: Confirmable::Rollback(i),
        message: format!(
            "Roll back step {:?} in {}? This runs {undo} and stops the release as failed.",
            state.step(i).id,
            state.release.environment
        ),
        expect: state.confirm_by_typing(),
        typed: String::new(),
    });
}

/// The person confirmed a manual rollback of step `i`.
pub fn confirmed_rollback(state: &mut AppState, i: usize, out: &mut Vec<Command>) {
    let StepAction::Kube(k) = state.step(i).action.clone() else {
        return;
    };
    let undo = match state.step(i).undo.clone() {
        Some(u) => u,
        None => match k.default_undo() {
            Some(u) => StepAction::Kube(u),
            None => return,
        },
    };
    let action = match super::update::resolve(state, &undo).and_then(|a| prepare(state, i, a)) {
        Ok(a) => a,
        Err(e) => {
            state.notify(Level::Error, format!("cannot roll back: {e}"));
            return;
        }
    };
    let reason = format!("rolled back by {}", state.identity.person);
    state.outputs[i].push(Stream::Info, format!("{reason}: running the undo"));
    let view = state.kube.rollouts.entry(i).or_default();
    view.rollback = Some(reason.clone());
    view.rolling_back = true;
    if matches!(state.release.steps[i].status, StepStatus::Running { .. }) {
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
