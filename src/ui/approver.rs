//! The approver's view: a watcher (not the driver) facing a waiting gate
//! sees it with its evidence: what it approves, who signed and who is
//! still needed, what changed since the last successful release, the steps
//! so far with outcomes and durations, the live rollout if one runs, and
//! the plan of what follows the gate. `a` signs, `x` rejects (the
//! existing sign-off dialog). Drawn from state only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme;
use crate::app::action::Action;
use crate::app::state::AppState;
use crate::runbook::duration::format_duration;
use crate::runbook::gates::{self, Decision};
use crate::runbook::plan_text::{self, LineKind};
use crate::runbook::{StepAction, plan_since};

fn section(title: &str) -> Line<'static> {
    Line::from(Span::styled(
        title.to_string(),
        Style::default().add_modifier(Modifier::BOLD),
    ))
}

fn dim(text: String) -> Line<'static> {
    Line::from(Span::styled(text, theme::dim()))
}

fn took(run: &crate::runbook::progress::StepRun) -> String {
    match (run.started_at, run.finished_at) {
        (Some(a), Some(b)) if b >= a => {
            format_duration(std::time::Duration::from_millis((b - a) as u64))
        }
        _ => String::new(),
    }
}

pub fn lines(state: &AppState, gate: usize) -> Vec<Line<'static>> {
    let Some(step) = state.step(gate) else {
        return Vec::new();
    };
    let StepAction::Gate(spec) = &step.action else {
        return Vec::new();
    };
    let key = |a: Action| state.view.keymap.key_for(a).to_string();
    let mut out = vec![
        Line::from(vec![
            Span::styled(
                "⏸ ",
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(state.title(gate).to_string(), theme::title()),
            Span::styled(
                format!("  [{}] waits for your sign-off", step.id),
                theme::dim(),
            ),
        ]),
        Line::from(vec![
            Span::styled(format!(" {} ", key(Action::Approve)), theme::key()),
            Span::raw(" sign (comment optional)  "),
            Span::styled(format!(" {} ", key(Action::Reject)), theme::key()),
            Span::raw(" reject (comment required)  "),
            Span::styled(format!(" {} ", key(Action::TogglePlan)), theme::key()),
            Span::raw(" whole plan"),
        ]),
        dim(format!(
            "you sign content hash {} (runbook, files, environment, cluster, inputs)",
            state.approval_hash
        )),
    ];
    let signoffs = state.release.signoffs_for(&step.id);
    let tally = gates::tally(spec, &signoffs, &state.approval_hash);
    out.push(section("SIGNED"));
    let counted: Vec<&gates::Signoff> = signoffs
        .iter()
        .filter(|s| s.approved_hash == state.approval_hash)
        .collect();
    if counted.is_empty() {
        out.push(dim("  nobody yet".into()));
    }
    for s in counted {
        let verb = match s.decision {
            Decision::Approve => "signed",
            Decision::Reject => "REJECTED",
        };
        let comment = if s.comment.is_empty() {
            String::new()
        } else {
            format!(": {}", s.comment)
        };
        out.push(Line::from(format!(
            "  {} {verb} as {}{comment}",
            s.person, s.role
        )));
    }
    out.extend(super::team_view::gate_details(state, gate, spec, &tally));
    out.push(section("SINCE THE LAST SUCCESSFUL RELEASE"));
    match &state.plan.since {
        Some(s) => out.extend(plan_since::lines(s).into_iter().skip(1).map(|l| {
            let style = if l.contains('→') {
                Style::default().fg(Color::Cyan)
            } else {
                theme::dim()
            };
            Line::from(Span::styled(l, style))
        })),
        None => out.push(dim(format!(
            "  no earlier successful release of {} in {}",
            state.release.runbook_name, state.release.environment
        ))),
    }
    out.push(section("STEPS SO FAR"));
    for (i, run) in state.release.steps.iter().take(gate).enumerate() {
        out.push(Line::from(vec![
            Span::styled(
                format!("  {} ", theme::status_icon(&run.status)),
                theme::status_style(&run.status),
            ),
            Span::raw(format!("{:<40}", state.title(i))),
            Span::styled(
                format!(" {} {}", run.status.as_str(), took(run)),
                theme::dim(),
            ),
        ]));
    }
    out.push(section("LIVE ROLLOUT"));
    // A watcher follows no rollout itself: name a kube step that runs.
    let running: Vec<String> = state
        .release
        .steps
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            matches!(
                r.status,
                crate::runbook::progress::StepStatus::Running { .. }
            ) && matches!(state.action(*i), Some(StepAction::Kube(_)))
        })
        .map(|(i, _)| {
            format!(
                "  {} is running (flightdeck watch follows it)",
                state.title(i)
            )
        })
        .collect();
    if state.kube.rollouts.is_empty() && running.is_empty() {
        out.push(dim("  none running".into()));
    }
    out.extend(running.into_iter().map(Line::from));
    for v in state.kube.rollouts.values() {
        out.push(Line::from(format!(
            "  {}/{} ({}): {}",
            v.namespace,
            v.deployment,
            v.phase,
            v.derived.verdict.words(&v.deployment)
        )));
    }
    out.push(section("WHAT FOLLOWS THE GATE"));
    match &state.plan.plan {
        Some(p) => {
            // The header (hash, inputs) is above already.
            let mut lines = plan_text::lines(p, gate + 1);
            lines.drain(..plan_text::header(p).len());
            if let Some(id) = &p.point_of_no_return {
                lines.insert(
                    0,
                    plan_text::PlanLine {
                        kind: LineKind::Risk,
                        text: format!("point of no return: {id}"),
                    },
                );
            }
            out.extend(super::plan::styled(lines));
        }
        None => out.push(dim("  building the plan…".into())),
    }
    out
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect, gate: usize) {
    let title = if state.plan.reading {
        " Approve · reading the cluster… "
    } else {
        " Approve "
    };
    frame.render_widget(
        Paragraph::new(lines(state, gate))
            .block(Block::bordered().title(title))
            .wrap(Wrap { trim: false })
            .scroll((state.plan.scroll, 0)),
        area,
    );
}
