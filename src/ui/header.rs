//! Top lines: which release this is, where, by whom, and how it stands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme;
use crate::app::state::AppState;
use crate::runbook::duration::format_duration;

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let r = &state.release;
    let elapsed = r.finished_at.unwrap_or(state.now) - r.started_at;
    let done = r
        .steps
        .iter()
        .filter(|s| {
            s.finished_at.is_some()
                && matches!(
                    s.status,
                    crate::runbook::progress::StepStatus::Succeeded
                        | crate::runbook::progress::StepStatus::Skipped { .. }
                )
        })
        .count();
    let line1 = Line::from(vec![
        Span::styled(" flightdeck ", theme::key()),
        Span::raw(" "),
        Span::styled(state.runbook.name.clone(), theme::title()),
        Span::raw(" · "),
        Span::styled(r.environment.clone(), theme::title()),
        Span::raw(" · release "),
        Span::raw(r.id.clone()),
        Span::raw(" · "),
        Span::styled(
            r.status.as_str().to_uppercase(),
            theme::release_style(r.status),
        ),
        Span::styled(
            format!(
                "  {done}/{} steps · {}",
                r.steps.len(),
                format_duration(std::time::Duration::from_millis(elapsed.max(0) as u64))
            ),
            theme::dim(),
        ),
    ]);
    let inputs = super::inputs::shown(state);
    let mut spans = vec![Span::styled(
        format!(
            " started by {} · you are {}@{}",
            r.initiator, state.identity.person, state.identity.host
        ),
        theme::dim(),
    )];
    if !inputs.is_empty() {
        spans.push(Span::styled(
            format!(" · {}", inputs.join(" ")),
            theme::dim(),
        ));
    }
    spans.extend(super::team_view::header_spans(state));
    if state.auto {
        spans.push(Span::styled(
            "  ⏵ running to next gate",
            ratatui::style::Style::default().fg(ratatui::style::Color::Cyan),
        ));
    }
    frame.render_widget(Paragraph::new(vec![line1, Line::from(spans)]), area);
}
