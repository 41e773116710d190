//! What `update` reacts to: keys, time, and events from the backends.

use crate::protocol::event::BackendEvent;
use crossterm::event::KeyEvent;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// Wall clock, unix milliseconds. Sent on every tick.
    Tick(i64),
    Resize,
    /// SIGTERM, SIGHUP or SIGINT reached flightdeck: stop cleanly.
    Shutdown,
    Backend(BackendEvent),
}
