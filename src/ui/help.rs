//! The help overlay, generated from the keymap; each key that does
//! nothing now says why (`app::allowed`).

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
            .view
            .keymap
            .bindings
            .get(&action)
            .map(|k| k.join(", "))
            .unwrap_or_default();
        let mut line = vec![
            Span::styled(format!("{keys:>14}"), theme::title()),
            Span::raw(format!("  {}", action.label())),
        ];
        // Why a key does nothing now: the words `update` would answer with.
        if let Some(why) = crate::app::allowed::refusal(state, action) {
            line.push(Span::styled(format!("  · not now: {why}"), theme::dim()));
        }
        lines.push(Line::from(line));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "In dialogs: Enter confirms, Esc closes, Tab changes role.",
        theme::dim(),
    )));
    let rect = centered(area, 110, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Help · any key closes ")),
        rect,
    );
}
