//! The checklist pane: stages, steps, status icons, durations.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::theme;
use crate::app::state::AppState;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::StepRun;

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" Checklist ", theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let mut index = 0;
    for stage in &state.runbook.stages {
        lines.push(Line::from(Span::styled(
            stage.title.to_uppercase(),
            theme::dim(),
        )));
        for step in &stage.steps {
            let run = &state.release.steps[index];
            if index == state.selected {
                selected_line = lines.len();
            }
            lines.push(step_line(
                state,
                index,
                &state.titles[index],
                step.action.kind_name(),
                run,
                width,
            ));
            index += 1;
        }
    }
    // Keep the selection in view.
    let height = inner.height as usize;
    let offset = selected_line.saturating_sub(height.saturating_sub(3));
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
    let marker = if i == state.selected { "›" } else { " " };
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
    if i == state.selected {
        line = line.style(theme::selected());
    }
    line
}
