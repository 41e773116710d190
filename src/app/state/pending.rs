//! What waits on a journal write.

use super::dialog::ResumeChoice;
use crate::runbook::gates::Signoff;

/// What to do once a journal write is acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// The intent is durable: now run it.
    Start {
        step: usize,
        attempt: u32,
    },
    /// The outcome is durable: move on.
    Finished {
        step: usize,
    },
    /// The sign-off is durable: count it.
    Signed(Signoff),
    /// A resume choice is durable: act on it.
    Resumed {
        step: usize,
        choice: ResumeChoice,
    },
    Nothing,
}
