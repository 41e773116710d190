//! Which keys do something right now (the status bar shows exactly these):
//! `app::allowed` decides, for the driver and for a watcher.

use crate::app::action::Action;
use crate::app::state::AppState;

pub fn keys_now(state: &AppState) -> Vec<Action> {
    crate::app::allowed::offered(state)
}
