//! What the screen points at, and asking before an action happens.

use crate::app::state::*;

pub(super) fn select(state: &mut AppState, i: usize) {
    if state.view.selected != i {
        state.view.selected = i;
        state.view.scroll = 0;
    }
    state.view.follow = state.release.current(&state.runbook) == Some(i);
}

pub(super) fn confirm(state: &mut AppState, what: Confirmable, message: String, risky: bool) {
    let expect = if risky {
        state.confirm_by_typing()
    } else {
        None
    };
    state.view.dialog = Some(Dialog::Confirm {
        what,
        message,
        expect,
        typed: String::new(),
    });
}
