//! Termination signals as messages, so a `kill` or a closed terminal stops
//! flightdeck the same clean way `q` does.

use futures::Stream;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::app::msg::Msg;

/// A stream that yields `Msg::Shutdown` on SIGTERM, SIGHUP or SIGINT.
pub fn shutdown_stream() -> impl Stream<Item = Msg> + Unpin {
    let kinds = [
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::interrupt(),
    ];
    let streams: Vec<_> = kinds
        .into_iter()
        .filter_map(|k| signal(k).ok())
        .map(|s| {
            Box::pin(futures::stream::unfold(s, |mut s: Signal| async move {
                s.recv().await.map(|()| (Msg::Shutdown, s))
            }))
        })
        .collect();
    futures::stream::select_all(streams)
}
