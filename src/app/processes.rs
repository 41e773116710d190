//! What holds processes around steps back (see `app::update::processes`):
//! read-only questions about `state.processes`.

use crate::app::state::{AppState, ResumeChoice};

/// Words for an interrupted step whose processes still run.
pub fn still_running(state: &AppState, i: usize) -> Option<String> {
    state
        .processes
        .lingering
        .get(&i)
        .map(|pid| format!("still running, pid {pid}"))
}

/// The interrupted dialog's choices while the step's processes still run.
pub(crate) fn lingering_choices(state: &AppState, i: usize) -> Option<Vec<ResumeChoice>> {
    state
        .processes
        .lingering
        .contains_key(&i)
        .then(|| vec![ResumeChoice::Wait, ResumeChoice::Kill])
}

/// Why no step may start now, if something holds them back.
pub(crate) fn held_back(state: &AppState) -> Option<String> {
    if let Some(why) = &state.team.lapsed {
        return Some(format!(
            "you are not the driver now ({why}); no step starts"
        ));
    }
    if !state.processes.restarting.is_empty() {
        return Some("background services are starting again; a moment".into());
    }
    None
}
