//! What the team task (lease, shared release) reports, and what it is asked.

use super::output::OutputBuffer;
use crate::runbook::progress::Release;

/// The lease as this terminal knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    pub holder: String,
    pub host: String,
    pub token: i64,
    pub released: bool,
    /// Local unix ms at which it expires (the database clock's remaining
    /// time added to the local clock when it was read).
    pub expires_local: i64,
}

impl LeaseView {
    pub fn free_at(&self, now: i64) -> bool {
        self.released || now >= self.expires_local
    }
}

/// A release as the journal holds it now, for watchers.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub release: Release,
    pub outputs: Vec<OutputBuffer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TeamEvent {
    /// The release reloaded from the store (watchers replace theirs).
    Snapshot(Box<Snapshot>),
    /// The lease as now read.
    Lease(Option<LeaseView>),
    /// This terminal's lease was taken over or could not be renewed.
    LeaseLost {
        why: String,
    },
    /// Renewal kept failing until the local deadline passed: stop starting
    /// steps until `LeaseRegained`.
    LeaseLapsed {
        why: String,
    },
    /// Renewal succeeded again after `LeaseLapsed`: drive on.
    LeaseRegained,
    /// The take-over succeeded: drive from this snapshot with this token.
    TookOver {
        token: i64,
        lease: LeaseView,
        snapshot: Box<Snapshot>,
    },
    TakeOverFailed(String),
    /// A journal write (op) was refused without harm to the journal: a
    /// fenced write of a former driver, or a sign-off the rules refused.
    WriteRefused {
        op: u64,
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamCommand {
    /// Take over the expired lease (journaled by the store).
    TakeOver,
}
