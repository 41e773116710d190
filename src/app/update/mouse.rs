//! The mouse on the release screen: the wheel scrolls the pane under it
//! (the checklist moves its selection, the step pane its output and pod
//! logs), a click on a step selects it. Geometry comes from `app::layout`,
//! the same the views draw with.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::select;
use crate::app::layout::{release_areas, step_at_row};
use crate::app::state::AppState;

/// Lines one wheel notch scrolls the output (three, as terminals do).
pub const WHEEL_LINES: usize = 3;

pub(super) fn mouse(state: &mut AppState, event: MouseEvent, screen: (u16, u16)) {
    // A dialog (help, a sign-off, a confirmation) has the screen: a click
    // behind it must not change what the dialog is about.
    if state.view.dialog.is_some() || state.step_count() == 0 {
        return;
    }
    let areas = release_areas(Rect::new(0, 0, screen.0, screen.1), state.view.show_logs);
    let at = Position::new(event.column, event.row);
    let last = state.step_count() - 1;
    let before = (state.view.selected, state.view.scroll);
    if areas.checklist.contains(at) {
        match event.kind {
            MouseEventKind::ScrollUp => select(state, state.view.selected.saturating_sub(1)),
            MouseEventKind::ScrollDown => select(state, (state.view.selected + 1).min(last)),
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(i) = step_at_row(state, areas.checklist, event.row) {
                    select(state, i);
                }
            }
            _ => {}
        }
    } else if areas.step.contains(at) {
        // The step's output, or a rollout's pod logs: whichever is longer.
        let output = state
            .outputs
            .get(state.view.selected)
            .map_or(0, |o| o.lines.len());
        let pod_logs = state
            .kube
            .rollouts
            .get(&state.view.selected)
            .map_or(0, |r| r.logs.lines.len());
        let lines = output.max(pod_logs);
        match event.kind {
            MouseEventKind::ScrollUp => {
                state.view.scroll = (state.view.scroll + WHEEL_LINES).min(lines.saturating_sub(1))
            }
            MouseEventKind::ScrollDown => {
                state.view.scroll = state.view.scroll.saturating_sub(WHEEL_LINES)
            }
            _ => {}
        }
    }
    if (state.view.selected, state.view.scroll) != before {
        state.plumbing.dirty = true;
    }
}
