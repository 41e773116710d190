//! What the watch backends report (`flightdeck watch`), and what they are asked.

use super::kube::{ConnState, KubeEvent};
use crate::runbook::touching::TouchingRelease;
use crate::runbook::watch::DeploymentRow;

/// What the backends report.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The whole list, sorted, problems first.
    Rows(Vec<DeploymentRow>),
    ListConn(ConnState),
    /// The unfinished releases from the journal, one row per Deployment
    /// they touch, and one line on what the journal said.
    Releases {
        rows: Vec<TouchingRelease>,
        note: String,
    },
    /// About the opened Deployment `open` (older ones are ignored).
    Kube {
        open: u64,
        event: KubeEvent,
    },
}

/// What the loop asks the backends to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchCommand {
    /// Follow this Deployment's rollout; its events carry `open`.
    Open {
        open: u64,
        namespace: String,
        deployment: String,
    },
    Close,
    /// Follow a pod's logs (or read its previous containers' once),
    /// replacing the logs followed before.
    Logs {
        open: u64,
        namespace: String,
        pod: String,
        containers: Vec<String>,
        previous: bool,
    },
}
