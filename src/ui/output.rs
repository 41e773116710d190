//! The step pane: what the selected step does, where it stands, its output.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme;
use crate::app::state::AppState;
use crate::protocol::output::Stream;
use crate::runbook::progress::StepStatus;
use crate::runbook::{CheckSpec, Program, StepAction};

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let i = state
        .view
        .selected
        .min(state.step_count().saturating_sub(1));
    let (Some(step), Some(run)) = (state.step(i), state.run(i)) else {
        return;
    };
    let mut detail: Vec<Line> = Vec::new();
    detail.push(Line::from(vec![
        Span::styled(
            theme::status_icon(&run.status),
            theme::status_style(&run.status),
        ),
        Span::raw(" "),
        Span::styled(state.title(i).to_string(), theme::title()),
        Span::styled(
            format!("  [{}] {}", step.id, step.action.kind_name()),
            theme::dim(),
        ),
    ]));
    let mut status = run.status.as_str().to_string();
    if run.attempts > 0 {
        status.push_str(&format!(" · attempt {}", run.attempts));
        if step.retries > 0 {
            status.push_str(&format!(" of {}", step.retries + 1));
        }
    }
    if let (Some(code), false) = (
        run.exit_code,
        matches!(run.status, StepStatus::Failed { .. }),
    ) {
        status.push_str(&format!(" · exit {code}"));
    }
    match &run.status {
        StepStatus::Failed { reason } => status.push_str(&format!(" · {reason}")),
        StepStatus::Skipped { reason } => status.push_str(&format!(" · {reason}")),
        StepStatus::Inconclusive { reason } => status.push_str(&format!(
            " · {reason} · never counts as a pass: retry or skip"
        )),
        StepStatus::Interrupted => {
            status.push_str(" · flightdeck stopped while it ran: choose what to do")
        }
        _ => {}
    }
    detail.push(Line::from(Span::styled(
        status,
        theme::status_style(&run.status),
    )));
    if !step.description.is_empty() {
        detail.push(Line::from(Span::styled(
            step.description.clone(),
            theme::dim(),
        )));
    }
    detail.extend(super::data_view::banner(state));
    describe(state, i, &mut detail);
    // Lines wrap: count the rows they take at this width.
    let width = area.width.saturating_sub(2).max(1) as usize;
    let rows: usize = detail
        .iter()
        .map(|l| l.width().max(1).div_ceil(width))
        .sum();
    let detail_height = (rows as u16 + 2).min(area.height / 2).max(4);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(detail_height), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(detail)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Span::styled(" Step ", theme::title()))),
        top,
    );
    if !super::rollout::render(state, i, frame, bottom) {
        render_output(state, i, frame, bottom);
    }
}

fn describe(state: &AppState, i: usize, out: &mut Vec<Line<'static>>) {
    let Some(step) = state.step(i) else {
        return;
    };
    match &step.action {
        StepAction::Command(c) => {
            // Inputs filled in; ${env.*} stays as written (it may be secret).
            let shown = match &c.program {
                Program::Shell(s) => state.render_script(s.trim_end()),
                Program::Argv(a) => a
                    .iter()
                    .map(|x| state.render_text(x))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            for (k, line) in shown.lines().enumerate() {
                let prompt = if k == 0 { "$ " } else { "  " };
                out.push(Line::from(vec![
                    Span::styled(prompt, theme::dim()),
                    Span::raw(line.to_string()),
                ]));
            }
            if c.background {
                out.push(Line::from(Span::styled(
                    "runs in the background until flightdeck exits",
                    theme::dim(),
                )));
            }
        }
        StepAction::Check(CheckSpec::Env { vars }) => {
            out.push(Line::from(format!("variables: {}", vars.join(", "))));
        }
        StepAction::Check(CheckSpec::Tcp(t)) => {
            out.push(Line::from(format!("connect to {}", t.address)))
        }
        StepAction::Check(CheckSpec::Http(h)) => {
            out.push(Line::from(format!(
                "{} {} → expect {}",
                h.method, h.url, h.expect_status
            )));
            for (path, v) in &h.expect_json {
                out.push(Line::from(Span::styled(
                    format!("  {path} = {v}"),
                    theme::dim(),
                )));
            }
        }
        StepAction::Manual(m) => {
            for item in &m.items {
                out.push(Line::from(format!("☐ {}", state.render_text(item))));
            }
        }
        StepAction::Check(CheckSpec::Data(d)) => super::data_view::describe_check(state, d, out),
        StepAction::Check(CheckSpec::Kube(k)) => super::rollout::describe_check(state, k, out),
        StepAction::Data(d) => super::data_view::describe_action(state, i, d, out),
        StepAction::Kube(k) => super::rollout::describe(state, i, k, out),
        StepAction::Gate(spec) => {
            let Some((_, tally)) = state.gate_tally(i) else {
                return;
            };
            for r in &tally.roles {
                let mark = if r.missing() == 0 { "✔" } else { "…" };
                let who = if r.signed.is_empty() {
                    "nobody yet".to_string()
                } else {
                    r.signed.join(", ")
                };
                out.push(Line::from(format!(
                    "{mark} {}: {}/{} ({who})",
                    r.role,
                    r.signed.len(),
                    r.needed
                )));
            }
            if let Some(rej) = &tally.rejection {
                out.push(Line::from(Span::styled(
                    format!("✘ rejected by {}: {}", rej.person, rej.comment),
                    Style::default().fg(Color::Red),
                )));
            }
            if !tally.stale.is_empty() {
                out.push(Line::from(Span::styled(
                    format!(
                        "{} earlier sign-off(s) no longer count: the runbook or inputs changed",
                        tally.stale.len()
                    ),
                    Style::default().fg(Color::Yellow),
                )));
            }
            out.push(Line::from(Span::styled(
                format!(
                    "approves {}… (runbook, files, env, cluster, inputs)",
                    &state.approval_hash[..12]
                ),
                theme::dim(),
            )));
            if state.identity.person == state.release.initiator
                && state.status(i) == Some(&StepStatus::Waiting)
            {
                let role = if spec.roles.len() == 1 {
                    spec.roles[0].0.as_str()
                } else {
                    "ROLE"
                };
                let warn = Style::default().fg(Color::Yellow);
                out.push(Line::from(Span::styled(
                    "you started this release; another person signs off, e.g.:",
                    warn,
                )));
                out.push(Line::from(Span::styled(
                    format!(
                        "flightdeck approve {} --gate {} --role {role}",
                        state.release.id, step.id
                    ),
                    warn,
                )));
            }
            out.extend(super::team_view::gate_details(state, i, spec, &tally));
        }
    }
    if let Some(t) = step.timeout {
        out.push(Line::from(Span::styled(
            format!("timeout {}", crate::runbook::duration::format_duration(t)),
            theme::dim(),
        )));
    }
}

fn render_output(state: &AppState, i: usize, frame: &mut Frame, area: Rect) {
    let Some(buf) = state.output(i) else {
        return;
    };
    let mut title = format!(" Output · {} lines ", buf.total);
    if buf.dropped > 0 {
        title.push_str(&format!("· {} dropped in a flood ", buf.dropped));
    }
    if buf.evicted > 0 {
        title.push_str(&format!("· showing the last {} ", buf.lines.len()));
    }
    if state.view.scroll > 0 {
        title.push_str(&format!("· scrolled ↑{} ", state.view.scroll));
    }
    let block = Block::bordered().title(Span::styled(title, theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let end = buf.lines.len().saturating_sub(state.view.scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = buf
        .lines
        .range(start..end)
        .map(|(stream, text)| match stream {
            Stream::Stdout => Line::raw(text.as_str()),
            Stream::Stderr => Line::styled(text.as_str(), Style::default().fg(Color::LightRed)),
            Stream::Info => Line::styled(format!("» {text}"), Style::default().fg(Color::Cyan)),
        })
        .collect();
    let placeholder = lines.is_empty();
    let p = if placeholder {
        Paragraph::new(Line::styled("no output yet", theme::dim()))
    } else {
        Paragraph::new(lines)
    };
    frame.render_widget(p, inner);
}
