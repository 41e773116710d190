//! Live rollouts in the UI state: what the kube backend reports per step
//! (snapshots, connection, pod logs, rollbacks) and what the operator does
//! with it (log scope and search, manual rollback). Synchronous, no IO.

use super::state::AppState;
use crate::runbook::CheckSpec;
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
pub fn refusal(state: &AppState) -> Option<String> {
    let pinned = pin(state)?.context?;
    match &state.kube.cluster {
        Some(c) if c.context == pinned => None,
        Some(c) => Some(format!(
            "environment {} expects kube context {pinned:?}, but the current context is {:?}: run with --context {pinned}",
            state.release.environment, c.context
        )),
        None => Some(format!(
            "environment {} expects kube context {pinned:?}, but no kubeconfig was found{}",
            state.release.environment,
            state
                .kube
                .cluster_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )),
    }
}

pub(crate) fn cluster(state: &AppState) -> Result<Cluster, String> {
    if let Some(r) = refusal(state) {
        return Err(r);
    }
    let Some(c) = &state.kube.cluster else {
        return Err(format!(
            "no Kubernetes cluster: {}",
            state
                .kube
                .cluster_error
                .as_deref()
                .unwrap_or("no kubeconfig")
        ));
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
