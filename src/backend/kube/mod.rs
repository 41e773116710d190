//! The Kubernetes backend: runs kube steps (change, then follow the rollout
//! to its verdict), fires rollback triggers and runs the undo, answers
//! `check: kube`. Owns kube-rs clients; reports to the app as
//! `BackendEvent::Kube` events and the step's output lines.

pub mod access;
pub mod client;
pub mod convert;
pub mod error;
pub mod fleet;
pub mod logs;
pub mod ops;
pub mod report;
pub mod watch;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

pub use self::error::KubeError;
pub use self::report::{Reporter, Sink};
use self::watch::{Ended, Follow};
use crate::backend::outcome::failure;
use crate::backend::process::{CancelSignal, run_command};
use crate::protocol::event::BackendEvent;
use crate::protocol::kube::KubeEvent;
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::kube::{KubeAction, KubeCheck};
use crate::runbook::progress::Outcome;

/// How long an undo's rollout is followed at most.
pub const UNDO_TIMEOUT: Duration = Duration::from_secs(600);

fn namespace(a: &KubeAction) -> String {
    a.namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| a.cluster.namespace.clone())
}

/// Run a kube step: make the change, follow the rollout, roll back when a
/// trigger fires.
pub async fn run_step(
    action: &KubeAction,
    step: usize,
    timeout: Option<Duration>,
    cancel: CancelSignal,
    tx: &UnboundedSender<BackendEvent>,
    mut sink: impl FnMut(Stream, String) + Send,
) -> Outcome {
    let report = Reporter {
        step,
        tx: tx.clone(),
    };
    let deadline = timeout.map(|t| (Instant::now() + t, t));
    let client = match client::client(&action.cluster).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let ns = namespace(action);
    let context = action.cluster.context.as_deref().unwrap_or("(current)");
    sink(Stream::Info, format!("context {context}, namespace {ns}"));
    let mut cancel_change = cancel.clone();
    let applied = tokio::select! {
        r = ops::apply(&client, &ns, &action.op) => r,
        _ = cancel_change.cancelled() => return failure("cancelled"),
    };
    let applied = match applied {
        Ok(a) => a,
        Err(e) => return failure(e),
    };
    sink(Stream::Info, applied.note.clone());
    let Some(deployment) = action.watched_deployment() else {
        return Outcome::Success {
            exit_code: None,
            note: Some(applied.note),
        };
    };
    let ended = watch::follow(
        Follow {
            client: &client,
            namespace: &ns,
            deployment,
            phase: if matches!(action.op, crate::runbook::kube::KubeOp::Undo { .. }) {
                "undo"
            } else {
                "rollout"
            },
            rollback_on: action.rollback_on.as_ref(),
            min_generation: applied.generation,
            deadline,
            cancel: cancel.clone(),
            follow_logs: true,
        },
        &report,
        &mut sink,
    )
    .await;
    match ended {
        Ended::Complete(note) => Outcome::Success {
            exit_code: None,
            note: Some(note),
        },
        Ended::Failed(reason) => failure(reason),
        Ended::Inconclusive(reason) => Outcome::Inconclusive { reason },
        Ended::Fired(fired) => {
            let reason = format!("rollback_on.{}: {}", fired.trigger.as_str(), fired.reason);
            sink(Stream::Info, format!("rollback triggered by {reason}"));
            report.send(KubeEvent::RollbackStarted {
                trigger: fired.trigger.as_str().into(),
                reason: fired.reason.clone(),
            });
            let undo = undo_of(action);
            let result = run_undo(undo.as_ref(), step, &report, &mut sink).await;
            let how = match result {
                Ok(note) => format!("undo done: {note}"),
                Err(e) => format!("undo FAILED: {e}"),
            };
            sink(Stream::Info, how.clone());
            failure(format!("rolled back automatically ({reason}); {how}"))
        }
    }
}

/// The step's undo, or `kube.undo` of its Deployment.
fn undo_of(action: &KubeAction) -> Option<StepAction> {
    match &action.undo {
        Some(u) => Some((**u).clone()),
        None => action.default_undo().map(StepAction::Kube),
    }
}

/// Why an undo did not bring the Deployment back.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The undo's rollout or command ended without success; in its words.
    #[error("{0}")]
    Ended(String),
    #[error("an undo of kind {0} cannot run here")]
    CannotRun(&'static str),
    #[error("this step has no undo")]
    NoUndo,
}

/// Run an undo (kube step or command) and follow its rollout.
async fn run_undo(
    undo: Option<&StepAction>,
    step: usize,
    report: &Reporter,
    sink: &mut Sink<'_>,
) -> Result<String, UndoError> {
    let deadline = Some((Instant::now() + UNDO_TIMEOUT, UNDO_TIMEOUT));
    match undo {
        Some(StepAction::Kube(u)) => {
            let client = client::client(&u.cluster).await?;
            let ns = namespace(u);
            let applied = ops::apply(&client, &ns, &u.op).await?;
            sink(Stream::Info, applied.note.clone());
            let Some(deployment) = u.watched_deployment() else {
                return Ok(applied.note);
            };
            let _ = step;
            match watch::follow(
                Follow {
                    client: &client,
                    namespace: &ns,
                    deployment,
                    phase: "undo",
                    rollback_on: None,
                    min_generation: applied.generation,
                    deadline,
                    cancel: CancelSignal::never(),
                    follow_logs: true,
                },
                report,
                sink,
            )
            .await
            {
                Ended::Complete(note) => Ok(note),
                Ended::Failed(e) | Ended::Inconclusive(e) => Err(UndoError::Ended(e)),
                Ended::Fired(f) => Err(UndoError::Ended(f.reason)),
            }
        }
        Some(StepAction::Command(c)) => {
            let ran = run_command(
                c,
                &BTreeMap::new(),
                Some(UNDO_TIMEOUT),
                CancelSignal::never(),
                &mut *sink,
            )
            .await;
            match ran.outcome {
                Outcome::Success { .. } => Ok("undo command succeeded".into()),
                Outcome::Failure { reason, .. } | Outcome::Inconclusive { reason } => {
                    Err(UndoError::Ended(reason))
                }
            }
        }
        Some(other) => Err(UndoError::CannotRun(other.kind_name())),
        None => Err(UndoError::NoUndo),
    }
}

/// A manual rollback: run `undo` for `step`, outside the step's own run.
pub async fn rollback(
    step: usize,
    undo: StepAction,
    reason: String,
    tx: UnboundedSender<BackendEvent>,
) {
    let report = Reporter {
        step,
        tx: tx.clone(),
    };
    let out_tx = tx.clone();
    let mut sink = move |stream: Stream, line: String| {
        let _ = out_tx.send(BackendEvent::StepOutput {
            step,
            lines: vec![(stream, line)],
            dropped: 0,
        });
    };
    report.send(KubeEvent::RollbackStarted {
        trigger: "manual".into(),
        reason: reason.clone(),
    });
    let result = run_undo(Some(&undo), step, &report, &mut sink).await;
    let (ok, detail) = match result {
        Ok(note) => (true, format!("{reason}: undo done: {note}")),
        Err(e) => (false, format!("{reason}: undo FAILED: {e}")),
    };
    report.send(KubeEvent::RollbackDone { ok, detail });
}

/// `check: kube`.
pub async fn check(k: &KubeCheck, sink: &mut impl FnMut(Stream, String)) -> Outcome {
    match k {
        KubeCheck::Access {
            namespace,
            cluster,
            needs,
        } => {
            let ns = namespace
                .clone()
                .unwrap_or_else(|| cluster.namespace.clone());
            access::check(cluster, &ns, needs, sink).await
        }
    }
}
