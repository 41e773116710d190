//! The home screen: which journal, what waits for me, the releases, the
//! runbooks, and the keys `app::home::allowed` offers. Draws state only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::home::{HomeAction, HomeList, HomeState, allowed};
use crate::runbook::home::{Phase, ReleaseRow, RunbookRow, WaitingKind, WaitingRow, age};
use crate::sanitize::sanitize_line;

fn phase_style(p: Phase) -> Style {
    match p {
        Phase::Waiting => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        Phase::Running => Style::default().fg(Color::Cyan),
        Phase::Failed | Phase::Aborted => {
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
        Phase::Succeeded => Style::default().fg(Color::Green),
    }
}

fn phase_icon(p: Phase) -> &'static str {
    match p {
        Phase::Waiting => "⏸",
        Phase::Running => "▶",
        Phase::Failed => "✘",
        Phase::Aborted => "■",
        Phase::Succeeded => "✔",
    }
}

/// `s` cut to `n` characters (with … when cut) and padded to `n`.
fn col(s: &str, n: usize) -> String {
    let s = sanitize_line(s);
    if s.chars().count() > n {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    } else {
        format!("{s:<n$}")
    }
}

pub fn render(state: &HomeState, frame: &mut Frame) {
    let area = frame.area();
    let waiting_rows = state.shown(HomeList::Waiting).len().clamp(1, 8) as u16;
    let [head, notice, waiting, lower, filter, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(waiting_rows + 2),
        Constraint::Min(4),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(state, frame, head);
    render_notice(state, frame, notice);
    // Side by side when there is room for both lists' columns.
    let [releases, runbooks] = if area.width >= 160 {
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(lower)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(lower)
    };
    list(state, frame, waiting, HomeList::Waiting);
    list(state, frame, releases, HomeList::Releases);
    list(state, frame, runbooks, HomeList::Runbooks);
    let filter_line = if state.filtering {
        Line::from(vec![
            Span::styled(" filter: ", theme::title()),
            Span::raw(sanitize_line(&state.filter)),
            Span::styled("▏", Style::default().fg(Color::Cyan)),
        ])
    } else if !state.filter.is_empty() {
        Line::from(Span::styled(
            format!(" filter: {}", sanitize_line(&state.filter)),
            theme::dim(),
        ))
    } else {
        Line::default()
    };
    frame.render_widget(Paragraph::new(filter_line), filter);
    render_keys(state, frame, keys);
}

fn render_header(state: &HomeState, frame: &mut Frame, area: Rect) {
    let s = &state.snapshot;
    let open = s.releases.iter().filter(|r| r.open).count();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" flightdeck ", theme::title()),
            Span::styled(
                format!(
                    " journal {} · you are {} · {open} open release(s), {} waiting for you",
                    sanitize_line(&s.journal),
                    sanitize_line(&state.person),
                    s.waiting.len()
                ),
                theme::dim(),
            ),
        ])),
        area,
    );
}

fn render_notice(state: &HomeState, frame: &mut Frame, area: Rect) {
    let s = &state.snapshot;
    let line = if let Some(p) = &s.problem {
        Line::from(Span::styled(
            format!(" {}", sanitize_line(p)),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ))
    } else if let Some(n) = &state.notice {
        Line::from(Span::styled(
            format!(" {}", sanitize_line(n)),
            Style::default().fg(Color::Yellow),
        ))
    } else if s.discarded > 0 {
        Line::from(Span::styled(
            format!(
                " {} audit entries not counted (forged or foreign): run flightdeck verify",
                s.discarded
            ),
            Style::default().fg(Color::Yellow),
        ))
    } else if !state.loaded {
        Line::from(Span::styled(" reading the journal…", theme::dim()))
    } else {
        Line::default()
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn list(state: &HomeState, frame: &mut Frame, area: Rect, which: HomeList) {
    let focused = state.focus == which;
    let shown = state.shown(which);
    let total = match which {
        HomeList::Waiting => state.snapshot.waiting.len(),
        HomeList::Releases => state.snapshot.releases.len(),
        HomeList::Runbooks => state.snapshot.runbooks.len(),
    };
    let count = if shown.len() == total {
        format!("{total}")
    } else {
        format!("{} of {total}", shown.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            Style::default().fg(Color::Cyan)
        } else {
            theme::dim()
        })
        .title(Span::styled(
            format!(" {} · {count} ", which.title()),
            theme::title(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let cursor = state.selected[which as usize];
    let top = cursor.saturating_sub(height.saturating_sub(1));
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if shown.is_empty() {
        let empty = match which {
            HomeList::Waiting => "nothing waits for you",
            HomeList::Releases => "no releases in this journal yet",
            HomeList::Runbooks => {
                "no runbooks found (config dir runbooks/, ./config/runbooks/, ./runbooks/, FLIGHTDECK_RUNBOOKS)"
            }
        };
        lines.push(Line::from(Span::styled(format!(" {empty}"), theme::dim())));
    }
    for (pos, &i) in shown.iter().enumerate().skip(top).take(height) {
        let here = focused && pos == cursor;
        let mark = if here { "›" } else { " " };
        let mut line = match which {
            HomeList::Waiting => waiting_line(&state.snapshot.waiting[i], state.now, width),
            HomeList::Releases => release_line(&state.snapshot.releases[i], state, width),
            HomeList::Runbooks => runbook_line(&state.snapshot.runbooks[i], width),
        };
        line.spans.insert(0, Span::raw(mark));
        if here {
            line = line.style(theme::selected());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn waiting_line(w: &WaitingRow, now: i64, width: usize) -> Line<'static> {
    let (what, who, detail) = match &w.kind {
        WaitingKind::Gate { gate, roles, tally } => (
            format!("⚑ sign {}", w.title),
            format!("as {}", roles.join(" or ")),
            format!(
                "{gate}: {}",
                tally.split_once(": ").map_or(tally.as_str(), |(_, t)| t)
            ),
        ),
        WaitingKind::Checklist { step } => (
            format!("☐ tick {}", w.title),
            "you drive it".to_string(),
            format!("checklist {step}"),
        ),
    };
    let since = w.since.map(|t| age(now, t)).unwrap_or_default();
    let fixed = 23 + 23 + 31 + 23 + 7;
    Line::from(vec![
        Span::styled(col(&w.release_id, 22), theme::title()),
        Span::raw(" "),
        Span::raw(col(&format!("{} · {}", w.runbook, w.environment), 22)),
        Span::raw(" "),
        Span::styled(
            col(&what, 30),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::raw(col(&who, 22)),
        Span::raw(" "),
        Span::styled(col(&since, 6), theme::dim()),
        Span::raw(" "),
        Span::styled(
            col(&detail, width.saturating_sub(fixed + 1).max(10)),
            theme::dim(),
        ),
    ])
}

fn release_line(r: &ReleaseRow, state: &HomeState, width: usize) -> Line<'static> {
    let steps = match r.total {
        Some(t) => format!("{}/{t}", r.done),
        None => format!("{}/?", r.done),
    };
    let driver = match (&r.driver, r.open) {
        (Some(d), _) if *d == state.person => "you drive".to_string(),
        (Some(d), _) => format!("{d} drives"),
        (None, true) => "nobody drives".to_string(),
        (None, false) => format!("by {}", r.initiator),
    };
    let age_of = age(state.now, r.finished_at.unwrap_or(r.started_at));
    let at = r.at_step.clone().unwrap_or_default();
    let fixed = 2 + 11 + 23 + 21 + 11 + 7 + 17 + 6;
    Line::from(vec![
        Span::styled(
            format!("{} {}", phase_icon(r.phase), col(r.phase.as_str(), 9)),
            phase_style(r.phase),
        ),
        Span::raw(" "),
        Span::styled(col(&r.id, 22), theme::title()),
        Span::raw(" "),
        Span::raw(col(&format!("{} · {}", r.runbook, r.environment), 20)),
        Span::raw(" "),
        Span::raw(col(&format!("step {steps}"), 10)),
        Span::raw(" "),
        Span::styled(col(&age_of, 6), theme::dim()),
        Span::raw(" "),
        Span::raw(col(&driver, 16)),
        Span::raw(" "),
        Span::styled(col(&at, width.saturating_sub(fixed).max(8)), theme::dim()),
    ])
}

fn runbook_line(r: &RunbookRow, width: usize) -> Line<'static> {
    match &r.error {
        None => Line::from(vec![
            Span::styled(col(&r.name, 20), theme::title()),
            Span::raw(" "),
            Span::styled(
                col(&r.environments.join(", "), 24),
                Style::default().fg(Color::Cyan),
            ),
            Span::raw(" "),
            Span::styled(
                col(
                    &r.path.display().to_string(),
                    width.saturating_sub(47).max(8),
                ),
                theme::dim(),
            ),
        ]),
        Some(e) => Line::from(vec![
            Span::styled(
                col(&format!("✘ {}", r.name), 20),
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            Span::raw(" "),
            Span::styled(
                col(e, width.saturating_sub(23).max(8)),
                Style::default().fg(Color::Red),
            ),
        ]),
    }
}

fn render_keys(state: &HomeState, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for o in allowed(state) {
        if o.action == HomeAction::PrevList {
            continue;
        }
        let (key_style, text_style) = if o.refused.is_some() {
            (theme::dim(), theme::dim())
        } else {
            (theme::key(), Style::default())
        };
        spans.push(Span::styled(format!(" {} ", o.action.key()), key_style));
        spans.push(Span::styled(format!(" {}  ", o.label), text_style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
