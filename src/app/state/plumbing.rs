//! The plumbing part of `AppState`: journal writes in flight, lines for
//! the headless stream, redraw and quit. Neither the release nor the view.

use std::collections::BTreeMap;

use super::headless_event::HeadlessEvent;
use super::pending::After;

#[derive(Debug, Clone)]
pub struct Plumbing {
    pub pending: BTreeMap<u64, After>,
    pub next_op: u64,
    /// Headless events, drained by the event loop.
    pub events: Vec<HeadlessEvent>,
    /// When sign-offs were last re-read from the journal.
    pub signoffs_refreshed_at: i64,
    /// Something changed since the last frame.
    pub dirty: bool,
    pub quitting: bool,
}

impl Default for Plumbing {
    fn default() -> Plumbing {
        Plumbing {
            pending: BTreeMap::new(),
            next_op: 1,
            events: Vec::new(),
            signoffs_refreshed_at: 0,
            dirty: true,
            quitting: false,
        }
    }
}
