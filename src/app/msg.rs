//! What `update` reacts to: keys, time, and events from the backends.

use crate::protocol::event::BackendEvent;
use crossterm::event::{KeyEvent, MouseEvent};

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
}
