//! Dialogs: sign-off, skip, tick, confirm, interrupted step.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme;
use crate::app::state::{AppState, Dialog};
use crate::runbook::StepAction;
use crate::runbook::gates::Decision;

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn field(label: &str, value: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label}: "), theme::title()),
        Span::raw(value.to_string()),
        Span::styled("▏", Style::default().fg(Color::Cyan)),
    ])
}

pub fn render(state: &AppState, dialog: &Dialog, frame: &mut Frame, area: Rect) {
    let (title, lines): (String, Vec<Line>) = match dialog {
        Dialog::Help => return,
        Dialog::Skip { step, reason } => (
            format!(" Skip {} ", state.step_id(*step)),
            vec![
                Line::raw("Skipping is journaled with your name and the reason."),
                Line::raw(""),
                field("Reason", reason),
                Line::raw(""),
                Line::styled("Enter skip · Esc cancel", theme::dim()),
            ],
        ),
        Dialog::Tick {
            step,
            note,
            ticked,
            cursor,
        } => {
            let action = state.action(*step);
            let mut l = vec![Line::from(Span::styled(
                state.title(*step).to_string(),
                theme::title(),
            ))];
            if let Some(StepAction::Manual(m)) = action {
                l.extend(m.items.iter().enumerate().map(|(i, item)| {
                    let mark = if ticked.get(i).copied().flatten().is_some() {
                        "☑"
                    } else {
                        "☐"
                    };
                    let here = if i == *cursor { "›" } else { " " };
                    let line = Line::raw(format!("{here} {mark} {}", state.render_text(item)));
                    if i == *cursor {
                        line.style(theme::selected())
                    } else {
                        line
                    }
                }));
            }
            l.push(Line::raw(""));
            let required = matches!(action, Some(StepAction::Manual(m)) if m.note_required);
            let label = if required {
                "Note (required)"
            } else {
                "Note (optional)"
            };
            let note_line = field(label, note);
            l.push(if *cursor == ticked.len() {
                note_line.style(theme::selected())
            } else {
                note_line
            });
            l.push(Line::raw(""));
            let left = ticked.iter().filter(|t| t.is_none()).count();
            l.push(Line::styled(
                if left == 0 {
                    "every item ticked: Enter confirms · ↑↓ move · Esc cancel".to_string()
                } else {
                    format!(
                        "{left} left · space ticks · ↑↓ move · s skip with a reason · Esc cancel"
                    )
                },
                theme::dim(),
            ));
            (" Checklist ".into(), l)
        }
        Dialog::Signoff {
            step,
            role,
            decision,
            comment,
            error,
        } => {
            let s = state.action(*step);
            let mut l = vec![Line::from(Span::styled(
                state.title(*step).to_string(),
                theme::title(),
            ))];
            l.push(Line::raw(format!(
                "as {}@{}",
                state.identity.person, state.identity.host
            )));
            if let Some(StepAction::Gate(g)) = &s {
                let roles: Vec<Span> = g
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(k, (r, n))| {
                        let text = format!(" {r} ×{n} ");
                        if k == *role {
                            Span::styled(text, theme::key())
                        } else {
                            Span::raw(text)
                        }
                    })
                    .collect();
                let mut line = vec![Span::styled("Role:", theme::title())];
                line.extend(roles);
                l.push(Line::from(line));
            }
            let label = if *decision == Decision::Reject {
                "Reason (required)"
            } else {
                "Comment"
            };
            l.push(field(label, comment));
            l.push(Line::styled(
                format!(
                    "approves {}… (runbook, files, env, cluster, inputs)",
                    &state.approval_hash[..12]
                ),
                theme::dim(),
            ));
            if let Some(e) = error {
                l.push(Line::raw(""));
                l.push(Line::styled(
                    format!("✘ {e}"),
                    Style::default().fg(Color::Red),
                ));
            }
            l.push(Line::raw(""));
            let verb = if *decision == Decision::Reject {
                "reject"
            } else {
                "sign off"
            };
            let many_roles = matches!(s, Some(StepAction::Gate(g)) if g.roles.len() > 1);
            let hint = match (error.is_some(), many_roles) {
                (true, _) => "Esc close".to_string(),
                (false, true) => format!("Enter {verb} · Tab next role · Esc cancel"),
                (false, false) => format!("Enter {verb} · Esc cancel"),
            };
            l.push(Line::styled(hint, theme::dim()));
            let t = if *decision == Decision::Reject {
                " Reject gate "
            } else {
                " Sign off "
            };
            (t.into(), l)
        }
        Dialog::Confirm {
            message,
            expect,
            typed,
            ..
        } => {
            let mut l = vec![Line::raw(message.clone()), Line::raw("")];
            match expect {
                Some(name) => {
                    l.push(Line::raw(format!(
                        "Type the environment name ({name}) to confirm:"
                    )));
                    l.push(field(">", typed));
                    l.push(Line::styled("Enter confirm · Esc cancel", theme::dim()));
                }
                None => l.push(Line::styled(
                    "y / Enter confirm · n / Esc cancel",
                    theme::dim(),
                )),
            }
            (" Confirm ".into(), l)
        }
        Dialog::Interrupted {
            step,
            choices,
            selected,
        } => {
            let mut l = vec![
                Line::from(Span::styled(
                    format!("{} was interrupted", state.title(*step)),
                    theme::title(),
                )),
                Line::raw("flightdeck stopped while this step ran; it is never re-run silently."),
            ];
            if let Some(running) = crate::app::update::still_running(state, *step) {
                l.push(Line::styled(
                    format!(
                        "Its processes are {running}: wait for them or kill them before a retry."
                    ),
                    ratatui::style::Style::default().fg(ratatui::style::Color::Yellow),
                ));
            }
            l.push(Line::raw(""));
            for (k, c) in choices.iter().enumerate() {
                let text = format!(" {} ", c.as_str());
                l.push(if k == *selected {
                    Line::styled(format!("›{text}"), theme::key())
                } else {
                    Line::raw(format!(" {text}"))
                });
            }
            l.push(Line::raw(""));
            l.push(Line::styled(
                "↑/↓ choose · Enter confirm (journaled) · Esc decide later",
                theme::dim(),
            ));
            (" Interrupted step ".into(), l)
        }
    };
    let rect = centered(area, 72, lines.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Span::styled(title, theme::title()))),
        rect,
    );
}
