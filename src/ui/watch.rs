//! `flightdeck watch`'s screens: the Deployments list, and an opened
//! Deployment as the release view's rollout pane with a pod table between
//! its summary and its logs. Draws what state holds; derives nothing but
//! the countdown (a subtraction).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::rollout::{Pane, render_logs, render_rollout};
use super::theme;
use crate::app::watch::{Opened, WatchState};
use crate::protocol::kube::ConnState;
use crate::runbook::rollout::clock;
use crate::runbook::watch::{DeploymentRow, Health, Trouble};
use crate::sanitize::sanitize_line;

fn health_style(h: Health) -> Style {
    match h {
        Health::Failed => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        Health::Stuck => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        Health::Progressing => Style::default().fg(Color::Cyan),
        Health::Complete => Style::default().fg(Color::Green),
    }
}

fn conn_words(c: &ConnState) -> Span<'static> {
    match c {
        ConnState::Connecting => Span::styled("connecting…", Style::default().fg(Color::Yellow)),
        ConnState::Live => Span::styled("● live", Style::default().fg(Color::Green)),
        ConnState::Reconnecting { error } => Span::styled(
            format!("⟳ reconnecting ({})", cut(&sanitize_line(error), 60)),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ),
        ConnState::Stopped => Span::styled("watch ended", theme::dim()),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
}

pub fn render(state: &WatchState, frame: &mut Frame) {
    let area = frame.area();
    let journal_h = u16::from(!state.journal.is_empty());
    let [head, main, journal, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(journal_h),
        Constraint::Length(1),
    ])
    .areas(area);
    if journal_h > 0 {
        frame.render_widget(
            Paragraph::new(Span::styled(sanitize_line(&state.journal), theme::dim())),
            journal,
        );
    }
    let problems = state
        .rows
        .iter()
        .filter(|r| matches!(r.health, Health::Failed | Health::Stuck))
        .count();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" flightdeck watch ", theme::title()),
            Span::styled(format!("· {} · ", state.scope), theme::dim()),
            conn_words(&state.conn),
            Span::styled(
                format!(
                    " · {} deployments, {problems} with problems · read-only",
                    state.rows.len()
                ),
                theme::dim(),
            ),
        ])),
        head,
    );
    let keys = match &state.open {
        Some(o) if o.pods.editing => "type to filter · Enter keep · Esc clear",
        Some(_) => {
            "↑↓/jk · PgUp/PgDn · g/G · / filter · Enter follow logs · p previous logs · Esc back · q quit"
        }
        None => "↑↓/jk · PgUp/PgDn · g/G · Enter open · q quit",
    };
    frame.render_widget(Paragraph::new(Span::styled(keys, theme::dim())), foot);
    match &state.open {
        Some(o) => render_opened(state, o, frame, main),
        None => render_list(state, frame, main),
    }
}

fn render_list(state: &WatchState, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" Deployments ", theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    if !state.listed {
        lines.push(Line::styled("listing deployments…", theme::dim()));
    } else if state.rows.is_empty() {
        lines.push(Line::styled("no deployments in scope", theme::dim()));
    }
    let height = inner.height.saturating_sub(1) as usize;
    let top = state.selected.saturating_sub(height.saturating_sub(1));
    let name_w = state
        .rows
        .iter()
        .map(|r| {
            r.name.chars().count()
                + if state.all_namespaces {
                    r.namespace.chars().count() + 1
                } else {
                    0
                }
        })
        .max()
        .unwrap_or(4)
        .clamp(4, 50);
    // The RELEASE column only when the journal has any release here.
    let rel_w = state
        .rows
        .iter()
        .map(|r| release_label(state, r).chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let rel_w = if rel_w > 0 { rel_w.max(7) } else { 0 };
    if !state.rows.is_empty() {
        let rel_head = if rel_w > 0 {
            format!("{:<rel_w$} ", "RELEASE")
        } else {
            String::new()
        };
        lines.push(Line::styled(
            format!(
                "  {:<name_w$} {:>7} {:>10} {:>9}  {:<18} {rel_head}WHY",
                "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "VERDICT"
            ),
            theme::dim(),
        ));
    }
    for (i, r) in state.rows.iter().enumerate().skip(top).take(height) {
        lines.push(row_line(state, r, i == state.selected, name_w, rel_w));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The releases touching a Deployment, short: "r1 3/7 alice +1".
fn release_label(state: &WatchState, r: &DeploymentRow) -> String {
    let mut it = state.releases_of(&r.namespace, &r.name);
    let Some(first) = it.next() else {
        return String::new();
    };
    let more = it.count();
    let mut s = format!(
        "{} {}/{} {}",
        first.id, first.step, first.steps, first.driver
    );
    if more > 0 {
        s.push_str(&format!(" +{more}"));
    }
    s
}

fn row_line(
    state: &WatchState,
    r: &DeploymentRow,
    selected: bool,
    name_w: usize,
    rel_w: usize,
) -> Line<'static> {
    let name = if state.all_namespaces {
        format!("{}/{}", r.namespace, r.name)
    } else {
        r.name.clone()
    };
    let mut why = r.why.clone();
    if let Some(at) = r.deadline_at_ms {
        let left = at - state.now;
        why = if left >= 0 {
            format!("{} to deadline · {why}", clock(left))
        } else {
            format!("deadline passed {} ago · {why}", clock(-left))
        };
    }
    let mark = if selected { "▶ " } else { "  " };
    let base = if selected {
        theme::selected()
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(mark.to_string(), base),
        Span::styled(
            format!(
                "{:<name_w$} {:>7} {:>10} {:>9}  ",
                cut(&sanitize_line(&name), name_w),
                format!("{}/{}", r.ready, r.desired),
                r.updated,
                r.available
            ),
            base,
        ),
        Span::styled(format!("{:<18} ", r.verdict), health_style(r.health)),
        Span::styled(
            if rel_w > 0 {
                format!(
                    "{:<rel_w$} ",
                    cut(&sanitize_line(&release_label(state, r)), rel_w)
                )
            } else {
                String::new()
            },
            Style::default().fg(Color::Magenta),
        ),
        Span::styled(sanitize_line(&why), theme::dim()),
    ])
}

fn render_opened(state: &WatchState, o: &Opened, frame: &mut Frame, area: Rect) {
    let releases: Vec<Line> = state
        .releases_of(&o.view.namespace, &o.view.deployment)
        .map(|r| {
            Line::styled(
                sanitize_line(&r.line()),
                Style::default().fg(Color::Magenta),
            )
        })
        .collect();
    let area = if releases.is_empty() {
        area
    } else {
        let h = (releases.len().min(3) + 2) as u16;
        let [rel, rest] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(area);
        let block = Block::bordered().title(Span::styled(
            " Releases touching this Deployment (journal) ",
            theme::title(),
        ));
        let inner = block.inner(rel);
        frame.render_widget(block, rel);
        frame.render_widget(Paragraph::new(releases), inner);
        rest
    };
    let logs_h = (area.height / 3).max(5);
    let table_h = (area.height / 3).max(5);
    let [top, mid, bottom] = Layout::vertical([
        Constraint::Min(6),
        Constraint::Length(table_h),
        Constraint::Length(logs_h),
    ])
    .areas(area);
    let pane = Pane {
        now: state.now,
        name: o.view.deployment.clone(),
        started: true,
        output: Vec::new(),
        scroll: 0,
        empty_logs: match &o.following {
            Some((pod, _)) => format!("no log lines from {pod} yet"),
            None => "pick a pod and press Enter to follow its logs (p: previous container)".into(),
        },
        max_pod_rows: 0,
    };
    render_rollout(&pane, &o.view, frame, top);
    render_table(state, o, frame, mid);
    render_logs(&pane, &o.view, frame, bottom);
}

fn render_table(state: &WatchState, o: &Opened, frame: &mut Frame, area: Rect) {
    let t = &o.pods;
    let (doomed, not_ready, restarted) = t.counts();
    let mut title = format!(
        " Pods · {} · {doomed} doomed · {not_ready} not ready · {restarted} restarted ",
        t.rows.len()
    );
    if !t.filter.is_empty() || t.editing {
        title.push_str(&format!(
            "· /{}{} · {} match ",
            t.filter,
            if t.editing { "▏" } else { "" },
            t.shown.len()
        ));
    }
    if let Some((pod, prev)) = &o.following {
        title.push_str(&format!(
            "· logs of {pod}{} ",
            if *prev { " (previous)" } else { "" }
        ));
    }
    let block = Block::bordered().title(Span::styled(title, theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height.saturating_sub(1) as usize;
    let w = t
        .shown
        .iter()
        .skip(t.top)
        .take(height)
        .map(|&i| t.rows[i].name.chars().count())
        .max()
        .unwrap_or(3)
        .clamp(3, 50);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<w$} {:<9} {:>5} {:>4} {:>5}  STATUS",
            "POD", "PHASE", "READY", "RST", "AGE"
        ),
        theme::dim(),
    )];
    for (pos, &i) in t.shown.iter().enumerate().skip(t.top).take(height) {
        let r = &t.rows[i];
        let selected = pos == t.selected;
        let base = if selected {
            theme::selected()
        } else {
            Style::default()
        };
        let status_style = match r.trouble {
            Trouble::Doomed => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            Trouble::NotReady => Style::default().fg(Color::Yellow),
            Trouble::Restarted => Style::default().fg(Color::LightYellow),
            Trouble::Fine => Style::default().fg(Color::Green),
        };
        let age = match r.created_ms {
            Some(c) => short_age(state.now - c),
            None => "-".into(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                if selected {
                    "▶ "
                } else if r.new {
                    "● "
                } else {
                    "○ "
                },
                base,
            ),
            Span::styled(
                format!(
                    "{:<w$} {:<9} {:>5} {:>4} {:>5}  ",
                    cut(&sanitize_line(&r.name), w),
                    r.phase,
                    r.ready,
                    r.restarts,
                    age
                ),
                base,
            ),
            Span::styled(sanitize_line(&r.reason), status_style),
        ]));
    }
    if t.shown.is_empty() && !t.rows.is_empty() {
        lines.push(Line::styled(
            format!("no pod matches /{}", t.filter),
            theme::dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn short_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
