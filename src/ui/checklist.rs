//! The checklist pane: stages, steps, status icons, durations.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::theme;
use crate::app::layout::{ChecklistRow, checklist_offset, checklist_rows};
use crate::app::state::AppState;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::StepRun;

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" Checklist ", theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let rows = checklist_rows(state);
    let lines: Vec<Line> = rows
        .iter()
        .map(|row| match *row {
            ChecklistRow::Stage(s) => Line::from(Span::styled(
                state.runbook.stages[s].title.to_uppercase(),
                theme::dim(),
            )),
            ChecklistRow::Step(i) => match (state.action(i), state.run(i)) {
                (Some(action), Some(run)) => {
                    step_line(state, i, state.title(i), action.kind_name(), run, width)
                }
                _ => Line::raw(""),
            },
        })
        .collect();
    // Keep the selection in view (the mouse hit-tests with the same offset).
    let offset = checklist_offset(&rows, state.view.selected, inner.height);
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), inner);
}

fn step_line<'a>(
    state: &AppState,
    i: usize,
    title: &str,
    kind: &str,
    run: &StepRun,
    width: usize,
) -> Line<'a> {
    let icon = theme::status_icon(&run.status);
    // A step `when:` keeps out of this environment says so from the start.
    let not_here = !state.runbook.applies(i, &state.release.environment);
    let time = match (run.started_at, run.finished_at) {
        _ if not_here => crate::runbook::when::NOT_FOR_ENV.to_string(),
        (Some(s), Some(f)) => format_duration(Duration::from_millis((f - s).max(0) as u64)),
        (Some(s), None)
            if matches!(
                run.status,
                crate::runbook::progress::StepStatus::Running { .. }
                    | crate::runbook::progress::StepStatus::Waiting
            ) =>
        {
            format_duration(Duration::from_millis((state.now - s).max(0) as u64))
        }
        _ => String::new(),
    };
    let kind = match kind {
        "manual" => "☐",
        "gate" => "⚑",
        _ => " ",
    };
    let marker = if i == state.view.selected { "›" } else { " " };
    let fixed = 6 + time.chars().count() + 1;
    let room = width.saturating_sub(fixed);
    let mut t: String = title.chars().take(room).collect();
    if title.chars().count() > room && room > 1 {
        t.pop();
        t.push('…');
    }
    let pad = room.saturating_sub(t.chars().count());
    let mut line = Line::from(vec![
        Span::raw(format!("{marker} ")),
        Span::styled(icon, theme::status_style(&run.status)),
        Span::raw(format!(" {kind} ")),
        Span::raw(t),
        Span::raw(" ".repeat(pad)),
        Span::styled(format!(" {time}"), theme::dim()),
    ]);
    if i == state.view.selected {
        line = line.style(theme::selected());
    }
    line
}
