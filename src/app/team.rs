//! Team mode in the UI (docs/semantics.md, "Deploy lock"): one terminal drives a
//! release, the others watch it fill up live and may sign off. Pure like
//! `update`: the team task (subcommands/team.rs; its token in backend/team/fence.rs) holds the lease and sends
//! `TeamEvent`s; this decides what they mean on screen.

use super::state::{AppState, Mode};

/// The key that takes over a release whose driver's lease expired.
pub const TAKE_OVER_KEY: char = 'T';

/// May this terminal run steps and decide gates?
pub fn drives(state: &AppState) -> bool {
    state.team.mode != Mode::Watcher
}

pub fn watching(state: &AppState) -> bool {
    state.team.mode == Mode::Watcher
}

pub fn driver_name(state: &AppState) -> String {
    match &state.team.lease {
        Some(l) if !l.released => format!("{}@{}", l.holder, l.host),
        _ => "nobody".into(),
    }
}

/// The lease is free (expired or given back): a watcher may take over.
pub fn take_over_possible(state: &AppState) -> bool {
    watching(state)
        && !state.release.status.is_final()
        && state
            .team
            .lease
            .as_ref()
            .is_none_or(|l| l.free_at(state.now))
}
