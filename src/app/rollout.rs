//! Live rollouts in the UI state: what the kube backend reports per step
//! (snapshots, connection, pod logs, rollbacks) and what the operator does
//! with it (log scope and search, manual rollback). Synchronous, no IO.

use super::state::AppState;
use crate::protocol::kube::ClusterError;
use crate::runbook::CheckSpec;
use crate::runbook::RenderError;
use crate::runbook::StepAction;
use crate::runbook::kube::{Cluster, KubeCheck};

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

/// Why a step cannot be handed to its backend: its cluster, or a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Value(#[from] RenderError),
}

/// `${...}` resolved in a step's action, and its cluster filled in
/// (`prepare`): the action as it will run.
pub fn resolved(
    state: &AppState,
    i: usize,
    action: &StepAction,
) -> Result<StepAction, PrepareError> {
    prepare(state, i, state.resolve(action)?)
}

/// Fill in the cluster of a kube step (or check) about to run, and its
/// undo; refuse when the environment pins another context. Other actions
/// pass through.
pub fn prepare(state: &AppState, i: usize, action: StepAction) -> Result<StepAction, PrepareError> {
    match action {
        StepAction::Kube(mut k) => {
            k.cluster = cluster(state)?;
            let undo = match state.step(i).and_then(|s| s.undo.as_ref()) {
                Some(u) => Some(state.resolve(u)?),
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
            let cluster = cluster(state)?;
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
        || matches!(state.action(i), Some(StepAction::Kube(k)) if k.watched_deployment().is_some())
}

// ---------------------------------------------------------------- keys
