//! Starting the backend tasks and connecting them to the event loop.

use tokio::sync::mpsc::unbounded_channel;
use tokio::task::JoinHandle;

use crate::app::state::AppState;
use crate::backend::{runner, store::Store};
use crate::event_loop::Channels;
use crate::protocol::event::BackendEvent;
use crate::settings::Settings;

pub struct Backends {
    pub channels: Channels,
    tasks: Vec<JoinHandle<()>>,
}

pub fn spawn(store: &Store, settings: &Settings, state: &AppState) -> Backends {
    let (ev_tx, ev_rx) = unbounded_channel::<BackendEvent>();
    let (journal_tx, journal_rx) = unbounded_channel();
    let (runner_tx, runner_rx) = unbounded_channel();
    let (refresh_tx, mut refresh_rx) = unbounded_channel::<String>();
    // Team mode wraps the journal writer (lease fencing, sign-off rules) and
    // the runner (team commands, live output tail); see commands/team.rs.
    let team = super::team::spawn(store, settings, state, ev_tx.clone(), journal_rx, runner_rx);
    let mut tasks = team.tasks;
    tasks.push(tokio::spawn(runner::run(team.runner_rx, team.runner_ev)));
    let reader = store.clone();
    let notified = team.live;
    // Signed and database gates count only sign-offs with their evidence.
    let runbook = state.runbook.clone();
    let allowed = super::identity::allowed_signers(settings);
    tasks.push(tokio::spawn(async move {
        while let Some(id) = refresh_rx.recv().await {
            if notified {
                continue; // PostgreSQL: sign-offs arrive by NOTIFY, no polling
            }
            match reader.load_release(&id).await {
                Ok(Some(stored)) => {
                    let signoffs = super::identity::admissible(
                        &reader,
                        &allowed,
                        &runbook,
                        &stored.opened.environment,
                        &stored.id,
                        stored.signoffs,
                    )
                    .await;
                    let _ = ev_tx.send(BackendEvent::Signoffs(signoffs));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("re-reading sign-offs failed: {e}"),
            }
        }
    }));
    Backends {
        channels: Channels {
            journal: journal_tx,
            runner: runner_tx,
            refresh: Some(refresh_tx),
            events: ev_rx,
        },
        tasks,
    }
}

impl Backends {
    /// Wait for the backends to finish what they were given (the channels
    /// were closed by the event loop's end).
    pub async fn join(self) {
        let Backends { channels, tasks } = self;
        drop(channels);
        for t in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
    }
}

/// Resolve the session's cluster into the app state (steps refuse later if
/// there is none, or the environment pins another context).
pub fn attach_cluster(state: &mut crate::app::state::AppState, args: &crate::cli::KubeArgs) {
    let uses_kube = state.runbook.steps().any(|s| {
        matches!(
            s.action,
            crate::runbook::StepAction::Kube(_)
                | crate::runbook::StepAction::Check(crate::runbook::CheckSpec::Kube(_))
        )
    });
    match crate::backend::kube::client::resolve(
        None,
        args.context.as_deref(),
        args.namespace.as_deref(),
    ) {
        Ok(r) => {
            state.kube.cluster = Some(crate::protocol::kube::ClusterInfo {
                kubeconfig: r.kubeconfig,
                context: r.context,
                namespace: r.namespace,
            })
        }
        Err(e) => {
            if uses_kube {
                tracing::warn!("kube: {e}");
            }
            state.kube.cluster_error = Some(e.to_string());
        }
    }
}
