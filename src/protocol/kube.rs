//! What the kube backend reports about a rollout it watches.

use std::sync::Arc;

use crate::runbook::rollout::RolloutSnapshot;

/// The cluster this session talks to, resolved at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    pub kubeconfig: Option<String>,
    pub context: String,
    pub namespace: String,
}

/// Why kube steps have no cluster to run on (`Command::ReadPlan`, and a
/// kube step about to start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The environment pins a context other than the one in use.
    #[error(
        "environment {environment} expects kube context {pinned:?}, but the current context is {current:?}: run with --context {pinned}"
    )]
    OtherContext {
        environment: String,
        pinned: String,
        current: String,
    },
    /// The environment pins a context, and no kubeconfig was read.
    #[error(
        "environment {environment} expects kube context {pinned:?}, but no kubeconfig was found{}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    PinnedButNone {
        environment: String,
        pinned: String,
        reason: Option<String>,
    },
    /// No kubeconfig was read (`reason`: why, when known).
    #[error("no Kubernetes cluster: {}", reason.as_deref().unwrap_or("no kubeconfig"))]
    NoCluster { reason: Option<String> },
}

/// How the watches of a step stand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Connecting,
    Live,
    /// A watch broke; it is being re-established (relist on 410 Gone).
    Reconnecting {
        error: String,
    },
    /// The step's watches ended.
    Stopped,
}

/// One line of a pod's log, raw (update sanitizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// "pod" or "pod/container".
    pub source: Arc<str>,
    /// Of the new ReplicaSet.
    pub new: bool,
    pub text: String,
}

/// What the kube backend reports about a step.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeEvent {
    /// The step watches this Deployment now (`phase`: "rollout", "undo").
    Watching {
        namespace: String,
        deployment: String,
        phase: String,
    },
    Snapshot(Arc<RolloutSnapshot>),
    Connection(ConnState),
    PodLogs {
        lines: Vec<LogLine>,
        dropped: u64,
    },
    /// A rollback trigger fired (or a person asked): the undo runs now.
    RollbackStarted {
        trigger: String,
        reason: String,
    },
    /// A manual rollback (outside the step's run) ended.
    RollbackDone {
        ok: bool,
        detail: String,
    },
}
