//! What `update` reacts to: keys, time, and events from the backends.

use crossterm::event::{KeyEvent, MouseEvent};

use super::state::ResumeChoice;
use crate::protocol::event::BackendEvent;
use crate::runbook::progress::ReleaseStatus;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// Wall clock, unix milliseconds. Sent on every tick.
    Tick(i64),
    Resize,
    /// A click or wheel turn, with the terminal's size (columns, rows)
    /// when it happened, to find the pane under it.
    Mouse {
        event: MouseEvent,
        screen: (u16, u16),
    },
    /// SIGTERM, SIGHUP or SIGINT reached flightdeck: stop cleanly.
    Shutdown,
    Backend(BackendEvent),
    /// A driver that is not a person at the keys (`run --headless`, see
    /// `app::headless`) moves the release on.
    Drive(Drive),
}

/// What a driver asks of the release flow: the same steps a person's keys
/// take, without the questions a person is asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Drive {
    /// Start step `i`: its turn has come.
    Start(usize),
    /// Decide interrupted step `step` as `--retry` asked.
    Resume { step: usize, choice: ResumeChoice },
    /// Tick every item of manual step `i` at once (`--ack`).
    Ack(usize),
    /// End the release.
    End(ReleaseStatus),
    /// Stop driving: quit once the journal has caught up.
    Quit,
}
