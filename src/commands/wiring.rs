//! Starting the backend tasks and connecting them to the event loop.

use tokio::sync::mpsc::unbounded_channel;
use tokio::task::JoinHandle;

use crate::app::msg::BackendEvent;
use crate::backend::{
    runner,
    store::{self, Store},
};
use crate::event_loop::Channels;
use crate::settings::Settings;

pub struct Backends {
    pub channels: Channels,
    tasks: Vec<JoinHandle<()>>,
}

pub fn spawn(store: &Store, settings: &Settings) -> Backends {
    let (ev_tx, ev_rx) = unbounded_channel::<BackendEvent>();
    let (journal_tx, journal_rx) = unbounded_channel();
    let (runner_tx, runner_rx) = unbounded_channel();
    let (refresh_tx, mut refresh_rx) = unbounded_channel::<String>();
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(store::run(
        store.clone(),
        settings.person.clone(),
        settings.host.clone(),
        journal_rx,
        ev_tx.clone(),
    )));
    tasks.push(tokio::spawn(runner::run(runner_rx, ev_tx.clone())));
    let reader = store.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(id) = refresh_rx.recv().await {
            match reader.load_release(&id).await {
                Ok(Some(stored)) => {
                    let _ = ev_tx.send(BackendEvent::Signoffs(stored.signoffs));
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
