//! The TUI's prompt for a secret input when a release is resumed: shown
//! before the release opens, so nothing runs until the value checks out.
//! What is typed is never drawn, only counted.

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::terminal::TerminalGuard;

/// Ask for `name` on the terminal. None when the person pressed Esc or
/// Ctrl-C, or the terminal cannot be used.
pub fn ask(release: &str, name: &str, why: Option<&str>) -> Option<String> {
    // Reading keys blocks: keep the runtime's other tasks going meanwhile.
    tokio::task::block_in_place(|| {
        let mut guard = TerminalGuard::enter().ok()?;
        let mut typed = String::new();
        loop {
            let lines = vec![
                Line::from(format!(
                    "Release {release} was started with the secret input {name:?}."
                )),
                Line::from("Type it again to resume; nothing runs until it matches."),
                Line::from(""),
                Line::from(format!("{name}: {}", "•".repeat(typed.chars().count()))),
                Line::from(""),
                Line::from(why.map_or(String::new(), |w| format!("✗ {w}"))),
                Line::from("Enter to check · Esc to leave"),
            ];
            guard
                .terminal
                .draw(|f| {
                    let [row] = Layout::vertical([Constraint::Length(9)])
                        .flex(Flex::Center)
                        .areas(f.area());
                    let [area] = Layout::horizontal([Constraint::Max(80)])
                        .flex(Flex::Center)
                        .areas(row);
                    f.render_widget(Clear, area);
                    f.render_widget(
                        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                            Block::default()
                                .borders(Borders::ALL)
                                .title(" Secret input "),
                        ),
                        area,
                    );
                })
                .ok()?;
            let Event::Key(k) = event::read().ok()? else {
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            match k.code {
                KeyCode::Esc => return None,
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => return None,
                KeyCode::Enter if !typed.is_empty() => return Some(typed),
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
        }
    })
}
