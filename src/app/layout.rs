//! Where the release screen's panes sit for a terminal size, and which
//! checklist row shows which step: pure geometry that the views draw with
//! and `update` hit-tests the mouse with, so the two always agree.

use ratatui::layout::{Constraint, Layout, Rect};

use super::state::AppState;

/// The panes of the release screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseAreas {
    pub head: Rect,
    pub checklist: Rect,
    /// The step pane: details, output, or a rollout with its pod logs.
    pub step: Rect,
    /// The app log (zero height when hidden).
    pub logs: Rect,
    pub status: Rect,
}

pub fn release_areas(area: Rect, show_logs: bool) -> ReleaseAreas {
    let logs_height = if show_logs {
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
    let left_width = (area.width * 2 / 5).clamp(30, 64);
    let [checklist, step] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(20)]).areas(main);
    ReleaseAreas {
        head,
        checklist,
        step,
        logs,
        status,
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecklistRow {
    /// A stage's title (index into the runbook's stages).
    Stage(usize),
    /// A step (index into the release's steps).
    Step(usize),
}

pub fn checklist_rows(state: &AppState) -> Vec<ChecklistRow> {
    let mut rows = Vec::new();
    let mut index = 0;
    for (s, stage) in state.runbook.stages.iter().enumerate() {
        rows.push(ChecklistRow::Stage(s));
        for _ in &stage.steps {
            rows.push(ChecklistRow::Step(index));
            index += 1;
        }
    }
    rows
}

/// The first row shown in `height` rows so the selected step stays in view.
pub fn checklist_offset(rows: &[ChecklistRow], selected: usize, height: u16) -> usize {
    let at = rows
        .iter()
        .position(|r| *r == ChecklistRow::Step(selected))
        .unwrap_or(0);
    at.saturating_sub((height as usize).saturating_sub(3))
}

/// The step shown at screen row `y` of a checklist drawn in `area` (with
/// its border), if any.
pub fn step_at_row(state: &AppState, area: Rect, y: u16) -> Option<usize> {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    if y < inner.y || y >= inner.y + inner.height {
        return None;
    }
    let rows = checklist_rows(state);
    let offset = checklist_offset(&rows, state.view.selected, inner.height);
    match rows.get(offset + (y - inner.y) as usize) {
        Some(ChecklistRow::Step(i)) => Some(*i),
        _ => None,
    }
}
