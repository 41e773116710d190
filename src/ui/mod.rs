//! Views: pure functions from `AppState` to a frame. No state changes here.

mod app_log;
mod approver;
mod checklist;
mod data_view;
mod dialogs;
mod header;
mod help;
pub mod home;
mod inputs;
mod keys;
mod output;
mod plan;
mod rollout;
pub mod start_form;
mod status_bar;
mod team_view;
mod theme;
pub mod watch;

use ratatui::Frame;

use crate::app::layout::{ReleaseAreas, release_areas};
use crate::app::state::{AppState, Dialog};

pub use keys::keys_now;
pub use theme::ColorMode;

/// `render`, then the colour mode applied to the whole frame.
pub fn render_with(mode: ColorMode, state: &AppState, frame: &mut Frame) {
    render(state, frame);
    paint(mode, frame);
}

/// Apply the colour mode to whatever was drawn into `frame`.
pub fn paint(mode: ColorMode, frame: &mut Frame) {
    theme::paint(mode, frame.buffer_mut());
}

pub fn render(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let ReleaseAreas {
        head,
        checklist: left,
        step: right,
        logs,
        status,
    } = release_areas(area, state.view.show_logs);
    header::render(state, frame, head);
    checklist::render(state, frame, left);
    if state.plan.open {
        plan::render(state, frame, right);
    } else if let Some(gate) = crate::app::plan::approver_gate(state) {
        approver::render(state, frame, right, gate);
    } else {
        output::render(state, frame, right);
    }
    if state.view.show_logs {
        app_log::render(frame, logs);
    }
    status_bar::render(state, frame, status);
    match &state.view.dialog {
        Some(Dialog::Help) => help::render(state, frame, area),
        Some(d) => dialogs::render(state, d, frame, area),
        None => {}
    }
}
