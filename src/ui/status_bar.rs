//! Bottom lines: the latest notice, and the keys valid now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{keys_now, theme};
use crate::app::state::{AppState, Level};

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let notice = match &state.view.notice {
        Some(n) => {
            let color = match n.level {
                Level::Info => Color::Cyan,
                Level::Warn => Color::Yellow,
                Level::Error => Color::Red,
            };
            Line::from(Span::styled(
                format!(" {}", n.text),
                Style::default().fg(color),
            ))
        }
        None => Line::from(Span::styled(format!(" {}", situation(state)), theme::dim())),
    };
    let mut spans = vec![Span::raw(" ")];
    for action in keys_now(state) {
        spans.push(Span::styled(
            format!(" {} ", state.view.keymap.key_for(action)),
            theme::key(),
        ));
        spans.push(Span::raw(format!(" {}  ", action.label())));
    }
    spans.extend(super::team_view::key_spans(state));
    frame.render_widget(Paragraph::new(vec![notice, Line::from(spans)]), area);
}

/// What is going on, when no notice says otherwise.
fn situation(state: &AppState) -> String {
    use crate::runbook::progress::StepStatus;
    let r = &state.release;
    if r.status.is_final() {
        return format!("release {}", r.status.as_str());
    }
    if let Some(i) = r
        .steps
        .iter()
        .position(|s| matches!(s.status, StepStatus::Running { .. }))
    {
        return format!("running {}…", state.title(i));
    }
    match r.current(&state.runbook) {
        Some(i) => match &r.steps[i].status {
            StepStatus::Waiting => format!("waiting for a person: {}", state.title(i)),
            StepStatus::Failed { .. } => {
                format!("{} failed: retry, skip or abort", state.title(i))
            }
            StepStatus::Inconclusive { .. } => {
                format!("{} is inconclusive: retry or skip", state.title(i))
            }
            StepStatus::Interrupted => {
                format!("{} was interrupted: choose what to do", state.title(i))
            }
            _ => format!("next: {}", state.title(i)),
        },
        None => "every step is settled".into(),
    }
}
