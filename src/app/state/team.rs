//! Who drives this release, and what this terminal may do (see `app::team`).

use crate::protocol::team::LeaseView;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// No lease in play (tests, tools): this terminal does everything.
    #[default]
    Solo,
    /// This terminal holds the lease.
    Driver,
    /// Another terminal drives; this one watches and may sign off.
    Watcher,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamState {
    pub mode: Mode,
    pub lease: Option<LeaseView>,
    /// Why this terminal stopped driving (kept on screen).
    pub lost: Option<String>,
    /// The lease could not be renewed before its local deadline: this
    /// terminal is not the driver until renewal succeeds again, so it starts
    /// no step (what runs is left alone).
    pub lapsed: Option<String>,
    /// The journal is on PostgreSQL (live via NOTIFY) rather than SQLite.
    pub live: bool,
}
