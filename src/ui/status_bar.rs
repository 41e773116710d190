//! Bottom lines: the latest notice, and the keys valid now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{keys_now, theme};
use crate::app::state::{AppState, Level};

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let notice = match &state.notice {
        Some(n) => {
            let color = match n.level {
                Level::Info => Color::Cyan,
                Level::Warn => Color::Yellow,
                Level::Error => Color::Red,
            };
            Line::from(Span::styled(format!(" {}", n.text), Style::default().fg(color)))
        }
        None => Line::from(Span::styled(" ready", theme::dim())),
    };
    let mut spans = vec![Span::raw(" ")];
    for action in keys_now(state) {
        spans.push(Span::styled(format!(" {} ", state.keymap.key_for(action)), theme::key()));
        spans.push(Span::raw(format!(" {}  ", action.label())));
    }
    frame.render_widget(Paragraph::new(vec![notice, Line::from(spans)]), area);
}
