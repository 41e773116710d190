//! Team mode on screen: who drives (header), the watcher's keys (status
//! bar), and what a waiting gate approves and still needs (step pane).

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::state::AppState;
use crate::app::state::Mode;
use crate::app::team::{self, TAKE_OVER_KEY};
use crate::runbook::GateSpec;
use crate::runbook::duration::format_duration;
use crate::runbook::gates::{self, GateTally, GateTiming};
use crate::runbook::progress::StepStatus;

fn secs(ms: i64) -> String {
    format_duration(std::time::Duration::from_millis(
        ((ms.max(0) + 999) / 1000 * 1000) as u64,
    ))
}

/// " · WATCHING: driven by bob@h2 (lease 8s)" / " · you drive (lease token 3)".
pub fn header_spans(state: &AppState) -> Vec<Span<'static>> {
    let t = &state.team;
    let warn = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    match t.mode {
        Mode::Solo => Vec::new(),
        Mode::Driver if t.lapsed.is_some() => vec![Span::styled(
            "  ◇ NOT DRIVING: lease not renewed in time; no new step starts until it is"
                .to_string(),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        )],
        Mode::Driver => vec![Span::styled(
            format!(
                "  ◆ you drive (lease token {}{})",
                t.lease.as_ref().map_or(0, |l| l.token),
                if t.live { ", live" } else { "" }
            ),
            Style::default().fg(Color::Green),
        )],
        Mode::Watcher => {
            let who = match &t.lease {
                Some(l) if l.released => "nobody drives (the driver quit)".to_string(),
                Some(l) if l.free_at(state.now) => format!(
                    "driver {}@{}'s lease EXPIRED {} ago",
                    l.holder,
                    l.host,
                    secs(state.now - l.expires_local)
                ),
                Some(l) => format!(
                    "driven by {}@{} (lease {})",
                    l.holder,
                    l.host,
                    secs(l.expires_local - state.now)
                ),
                None => "nobody drives".to_string(),
            };
            let mut spans = vec![Span::styled(format!("  ◇ WATCHING: {who}"), warn)];
            if let Some(lost) = &t.lost {
                spans.push(Span::styled(
                    format!(" · {lost}"),
                    Style::default().fg(Color::Red),
                ));
            }
            spans
        }
    }
}

/// " T  take over" when the lease is free.
pub fn key_spans(state: &AppState) -> Vec<Span<'static>> {
    if !team::take_over_possible(state) {
        return Vec::new();
    }
    vec![
        Span::styled(format!(" {TAKE_OVER_KEY} "), theme::key()),
        Span::raw(" take over  "),
    ]
}

/// What a gate approves, the outcomes before it, who is still needed, and
/// its soak / expiry clock.
pub fn gate_details(
    state: &AppState,
    i: usize,
    spec: &GateSpec,
    tally: &GateTally,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let dim = theme::dim();
    let r = &state.release;
    let inputs = super::inputs::shown(state);
    out.push(Line::from(Span::styled(
        format!(
            "approved: runbook sha256 {}… · {} · {}",
            &r.runbook_hash[..r.runbook_hash.len().min(12)],
            r.environment,
            if inputs.is_empty() {
                "no inputs".to_string()
            } else {
                inputs.join(" ")
            }
        ),
        dim,
    )));
    // Outcomes before the gate: a count of successes, the others by name.
    let ok = r.steps[..i]
        .iter()
        .filter(|s| s.status == StepStatus::Succeeded)
        .count();
    let others: Vec<String> = r.steps[..i]
        .iter()
        .filter(|s| s.status != StepStatus::Succeeded)
        .map(|s| {
            format!(
                "{} {} {}",
                theme::status_icon(&s.status),
                s.step_id,
                s.status.as_str()
            )
        })
        .collect();
    if i > 0 {
        let mut text = format!("before it: {ok} of {i} steps succeeded");
        if !others.is_empty() {
            text.push_str(&format!(" · {}", others.join(", ")));
        }
        out.push(Line::from(Span::styled(text, dim)));
    }
    if r.steps[i].status == StepStatus::Waiting {
        let members = &state.runbook.roles;
        let signed: Vec<&str> = tally
            .roles
            .iter()
            .flat_map(|t| t.signed.iter().map(String::as_str))
            .collect();
        let needed: Vec<String> = tally
            .roles
            .iter()
            .filter(|t| t.missing() > 0)
            .map(|t| {
                let who = members.get(&t.role).map(|people| {
                    people
                        .iter()
                        .filter(|p| !signed.contains(&p.as_str()) && **p != r.initiator)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                match who {
                    Some(w) if !w.is_empty() => {
                        format!("{} × {} (one of {w})", t.missing(), t.role)
                    }
                    _ => format!("{} × {}", t.missing(), t.role),
                }
            })
            .collect();
        if !needed.is_empty() {
            out.push(Line::from(Span::styled(
                format!("still needed: {}", needed.join(", ")),
                Style::default().fg(Color::Yellow),
            )));
        }
        match gates::timing(spec, tally, r.steps[i].started_at, state.now) {
            GateTiming::Soaking { until } => out.push(Line::from(Span::styled(
                format!(
                    "sign-offs complete · soaking: opens in {}",
                    secs(until - state.now)
                ),
                Style::default().fg(Color::Cyan),
            ))),
            GateTiming::Waiting {
                deadline: Some(deadline),
            } => out.push(Line::from(Span::styled(
                format!("expires in {} if still short", secs(deadline - state.now)),
                Style::default().fg(Color::Yellow),
            ))),
            _ => {}
        }
    }
    out
}
