//! Views: pure functions from `AppState` to a frame. No state changes here.

mod app_log;
mod approver;
mod checklist;
mod data_view;
mod dialogs;
mod header;
mod help;
pub mod home;
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
use ratatui::layout::{Constraint, Layout};

use crate::app::state::{AppState, Dialog};

pub use keys::keys_now;

pub fn render(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let logs_height = if state.show_logs {
        Constraint::Length(10)
    } else {
        Constraint::Length(0)
    };
    let [head, main, logs, status] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        logs_height,
        Constraint::Length(2),
    ])
    .areas(area);
    header::render(state, frame, head);
    let left_width = (area.width * 2 / 5).clamp(30, 64);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(20)]).areas(main);
    checklist::render(state, frame, left);
    if state.plan.open {
        plan::render(state, frame, right);
    } else if let Some(gate) = crate::app::plan::approver_gate(state) {
        approver::render(state, frame, right, gate);
    } else {
        output::render(state, frame, right);
    }
    if state.show_logs {
        app_log::render(frame, logs);
    }
    status_bar::render(state, frame, status);
    match &state.dialog {
        Some(Dialog::Help) => help::render(state, frame, area),
        Some(d) => dialogs::render(state, d, frame, area),
        None => {}
    }
}
