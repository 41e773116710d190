//! The plan pane (`P`): what the release will do, step by step, with what
//! each step changes in the cluster. Drawn from `state.plan` only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme;
use crate::app::state::AppState;
use crate::runbook::plan::Plan;
use crate::runbook::plan_text::{self, LineKind, PlanLine};

pub fn style(kind: LineKind) -> Style {
    match kind {
        LineKind::Heading => theme::title(),
        LineKind::Stage => Style::default().add_modifier(Modifier::BOLD),
        LineKind::Step => Style::default().fg(Color::White),
        LineKind::Detail | LineKind::Skipped => theme::dim(),
        LineKind::Risk => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        LineKind::Gate => Style::default().fg(Color::Yellow),
        LineKind::Added => Style::default().fg(Color::Green),
        LineKind::Removed => Style::default().fg(Color::Red),
        LineKind::Changed => Style::default().fg(Color::Cyan),
        LineKind::Unavailable => Style::default().fg(Color::Magenta),
    }
}

/// Plan lines as styled lines; a step line with a risk mark is red.
pub fn styled(lines: Vec<PlanLine>) -> Vec<Line<'static>> {
    lines
        .into_iter()
        .map(|l| {
            let s = if l.kind == LineKind::Step && l.text.contains('⚠') {
                style(LineKind::Risk)
            } else {
                style(l.kind)
            };
            Line::from(Span::styled(l.text, s))
        })
        .collect()
}

fn title(plan: &Plan, reading: bool) -> String {
    let hash = plan
        .content_hash
        .as_deref()
        .map(|h| format!(" · approves {}…", h.chars().take(12).collect::<String>()))
        .unwrap_or_default();
    let read = if reading {
        " · reading the cluster…"
    } else {
        ""
    };
    format!(" Plan{hash}{read} ")
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(plan) = &state.plan.plan else {
        frame.render_widget(
            Paragraph::new("no plan yet").block(Block::bordered().title(" Plan ")),
            area,
        );
        return;
    };
    let lines = styled(plan_text::lines(plan, 0));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(title(plan, state.plan.reading)))
            .wrap(Wrap { trim: false })
            .scroll((state.plan.scroll, 0)),
        area,
    );
}
