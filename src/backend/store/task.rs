//! The store's backend task: journal writes in the order `update` issued
//! them, each acknowledged only once committed.

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::Store;
use crate::protocol::command::JournalEntry;
use crate::protocol::event::BackendEvent;

/// Apply entries one at a time, strictly in order, answering each with
/// `BackendEvent::Journaled`. Ends when the sender side is dropped; keeps
/// writing what was queued even if nobody listens any more.
pub async fn run(
    store: Store,
    actor: String,
    host: String,
    mut rx: UnboundedReceiver<(u64, JournalEntry)>,
    tx: UnboundedSender<BackendEvent>,
) {
    while let Some((op, entry)) = rx.recv().await {
        let error = match store.apply(&entry, &actor, &host).await {
            Ok(()) => None,
            Err(e) => {
                tracing::error!(op, "journal write failed: {e}");
                Some(e.to_string())
            }
        };
        let _ = tx.send(BackendEvent::Journaled { op, error });
    }
}
