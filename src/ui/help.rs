//! The help overlay, generated from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{dialogs::centered, theme};
use crate::app::action::Action;
use crate::app::state::AppState;

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(Span::styled("Keys (from keybindings.toml)", theme::title())),
        Line::raw(""),
    ];
    for action in Action::ALL {
        let keys = state
            .keymap
            .bindings
            .get(&action)
            .map(|k| k.join(", "))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{keys:>14}"), theme::title()),
            Span::raw(format!("  {}", action.label())),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "In dialogs: Enter confirms, Esc closes, Tab changes role.",
        theme::dim(),
    )));
    let rect = centered(area, 60, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Help · any key closes ")),
        rect,
    );
}
