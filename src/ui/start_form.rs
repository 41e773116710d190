//! The start form: environment and its policy, one field per input with
//! its description, default, pattern, type and current verdict, secret
//! values masked, the break-glass reason when needed. Draws state only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme;
use crate::app::start_form::{FormFocus, StartForm, allowed};
use crate::runbook::InputType;
use crate::sanitize::sanitize_line;

fn good() -> Style {
    Style::default().fg(Color::Green)
}

fn bad() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}

fn cursor(on: bool) -> Span<'static> {
    if on {
        Span::styled("▏", Style::default().fg(Color::Cyan))
    } else {
        Span::raw("")
    }
}

pub fn render(form: &StartForm, frame: &mut Frame) {
    let area = frame.area();
    let [head, body, notice, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" flightdeck ", theme::title()),
            Span::styled(
                format!(
                    " start a release of {} · {}",
                    sanitize_line(&form.runbook),
                    sanitize_line(&form.path.display().to_string())
                ),
                theme::dim(),
            ),
        ])),
        head,
    );
    let mut lines: Vec<Line> = Vec::new();
    environment_lines(form, &mut lines);
    lines.push(Line::default());
    if form.fields.is_empty() {
        lines.push(Line::from(Span::styled(
            "  this runbook takes no inputs",
            theme::dim(),
        )));
    }
    for (i, f) in form.fields.iter().enumerate() {
        let here = form.focus == FormFocus::Field(i);
        let kind = match f.spec.kind {
            InputType::String => "string",
            InputType::Integer => "integer",
            InputType::Boolean => "true/false",
        };
        let shown = if f.spec.secret {
            "•".repeat(f.value.chars().count())
        } else {
            sanitize_line(&f.value)
        };
        let mut label = vec![
            Span::raw(if here { "› " } else { "  " }),
            Span::styled(
                format!("{:<18}", sanitize_line(&f.spec.name)),
                theme::title(),
            ),
            Span::raw(" "),
        ];
        let field_style = if here {
            theme::selected()
        } else {
            Style::default()
        };
        label.push(Span::styled(format!("[{shown}"), field_style));
        label.push(cursor(here));
        label.push(Span::styled("]", field_style));
        label.push(Span::raw("  "));
        label.push(match &f.error {
            None => Span::styled("✔", good()),
            Some(e) => Span::styled(format!("✘ {}", sanitize_line(e)), bad()),
        });
        lines.push(Line::from(label));
        let mut about = vec![kind.to_string()];
        if f.spec.required {
            about.push("required".into());
        }
        if f.spec.secret {
            about.push("secret (masked, never journaled)".into());
        }
        if let Some(d) = &f.spec.default {
            about.push(if f.spec.secret {
                "has a default".into()
            } else {
                format!("default {d}")
            });
        }
        if let Some(p) = &f.spec.pattern {
            about.push(format!("pattern {p}"));
        }
        let mut text = about.join(" · ");
        if !f.spec.description.is_empty() {
            text = format!("{} — {text}", f.spec.description);
        }
        lines.push(Line::from(Span::styled(
            format!("                     {}", sanitize_line(&text)),
            theme::dim(),
        )));
    }
    if form.stops().contains(&FormFocus::BreakGlass) {
        let here = form.focus == FormFocus::BreakGlass;
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::raw(if here { "› " } else { "  " }),
            Span::styled(
                format!("{:<18}", "break-glass reason"),
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(" "),
            Span::styled(
                format!("[{}", sanitize_line(&form.break_glass)),
                if here {
                    theme::selected()
                } else {
                    Style::default()
                },
            ),
            cursor(here),
            Span::raw("]"),
        ]));
        lines.push(Line::from(Span::styled(
            "                     starting outside the policy needs a reason; it is journaled in the audit log",
            theme::dim(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Start form ", theme::title())),
        ),
        body,
    );
    let (text, style) = match (&form.notice, form.invalid()) {
        (Some(n), _) => (n.clone(), Style::default().fg(Color::Yellow)),
        (None, Some(why)) => (format!("not ready: {why}"), theme::dim()),
        (None, None) => ("ready: Enter starts the release".into(), good()),
    };
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" {}", sanitize_line(&text)), style)),
        notice,
    );
    let mut spans = vec![Span::raw(" ")];
    for o in allowed(form) {
        let (k, t) = if o.refused.is_some() {
            (theme::dim(), theme::dim())
        } else {
            (theme::key(), Style::default())
        };
        spans.push(Span::styled(format!(" {} ", o.action.key()), k));
        spans.push(Span::styled(format!(" {}  ", o.label), t));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), keys);
}

fn environment_lines(form: &StartForm, lines: &mut Vec<Line<'static>>) {
    let here = form.focus == FormFocus::Environment;
    let mut row = vec![
        Span::raw(if here { "› " } else { "  " }),
        Span::styled(format!("{:<18}", "environment"), theme::title()),
        Span::raw(" "),
    ];
    if form.environments.is_empty() {
        row.push(Span::styled(
            "default (the runbook names none)",
            theme::dim(),
        ));
    }
    for (i, e) in form.environments.iter().enumerate() {
        let name = sanitize_line(&e.name);
        if i == form.env {
            row.push(Span::styled(
                format!("‹ {name} ›"),
                if here {
                    theme::selected().fg(Color::Cyan)
                } else {
                    Style::default()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::BOLD)
                },
            ));
        } else {
            row.push(Span::styled(format!("  {name}  "), theme::dim()));
        }
        row.push(Span::raw(" "));
    }
    lines.push(Line::from(row));
    let Some(s) = &form.status else {
        return;
    };
    let pad = "                     ";
    let window = match s.window_open {
        None => Span::styled("change window: any time (none set)", good()),
        Some(true) => Span::styled(
            format!("change window: open ({})", s.windows.join("; ")),
            good(),
        ),
        Some(false) => Span::styled(
            format!("change window: CLOSED ({})", s.windows.join("; ")),
            bad(),
        ),
    };
    lines.push(Line::from(vec![Span::raw(pad), window]));
    lines.push(Line::from(vec![
        Span::raw(pad),
        match &s.frozen {
            None => Span::styled("freeze: none now", good()),
            Some(f) => Span::styled(sanitize_line(f), bad()),
        },
    ]));
    if let Some((env, met)) = &s.requires {
        lines.push(Line::from(vec![
            Span::raw(pad),
            if *met {
                Span::styled(
                    format!("requires: these inputs passed {} ✔", sanitize_line(env)),
                    good(),
                )
            } else {
                Span::styled(
                    format!(
                        "requires: not met — release these inputs in {} first",
                        sanitize_line(env)
                    ),
                    bad(),
                )
            },
        ]));
    }
    lines.push(Line::from(vec![
        Span::raw(pad),
        Span::styled(
            match form.environment() {
                Some(e) if s.confirm => format!(
                    "confirm: risky steps ask you to type {}",
                    sanitize_line(&e.name)
                ),
                _ => "confirm: risky steps ask y/n".to_string(),
            },
            theme::dim(),
        ),
    ]));
}
