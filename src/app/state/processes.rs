//! What the UI knows about processes around its steps: steps a signal
//! stopped, groups an interrupted step left running, background services
//! a resumed release starts again (issue 11, "no orphans, no double runs").

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessState {
    /// Steps cancelled because flightdeck got a signal: their end is
    /// journaled as interrupted, never as failed.
    pub interrupting: BTreeSet<usize>,
    /// Interrupted steps whose process group still runs on this host
    /// (pgid = pid of its leader): nothing re-runs them until it is gone.
    pub lingering: BTreeMap<usize, i32>,
    /// Lingering groups being waited for or killed.
    pub ending: BTreeSet<usize>,
    /// Background services being started again; no step starts before
    /// they run.
    pub restarting: BTreeSet<usize>,
    /// Background services that did not start again, and why: a person
    /// decides what now (a headless run stops).
    pub not_restarted: BTreeMap<usize, String>,
}
