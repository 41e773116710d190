//! Kubernetes in the UI state: the cluster in use and the live rollouts of
//! kube steps (snapshots, connection, pod logs, rollbacks).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::protocol::kube::{ClusterInfo, ConnState, LogLine};
use crate::runbook::rollout::RolloutSnapshot;

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

    pub fn next(self) -> Self {
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
