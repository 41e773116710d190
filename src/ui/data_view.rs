//! What the step pane says about the data step kinds, and the point of no
//! return banner. Pure: state in, lines out. Secrets in DSNs written into
//! the runbook are masked; `${env.X}` stays as written.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::state::AppState;
use crate::runbook::data::*;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::StepStatus;
use crate::runbook::{Program, StepAction};

fn dim(text: String) -> Line<'static> {
    Line::from(Span::styled(text, theme::dim()))
}

fn shown(state: &AppState, text: &str) -> String {
    redact_url(&state.render_text(text))
}

/// Shown above every step's details once an irreversible migration ran.
pub fn banner(state: &AppState) -> Option<Line<'static>> {
    let id = state.point_of_no_return.as_ref()?;
    Some(Line::from(Span::styled(
        format!(
            "⚠ POINT OF NO RETURN passed at {id}: an irreversible migration ran; an image rollback alone will not undo it"
        ),
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    )))
}

pub fn describe_check(state: &AppState, c: &DataCheck, out: &mut Vec<Line<'static>>) {
    match c {
        DataCheck::Postgres(p) => {
            out.push(Line::from(format!(
                "PostgreSQL {} · SELECT 1 · version · pool ≤ {:.0}% of max_connections",
                shown(state, &p.dsn),
                p.max_pool_usage
            )));
            if let Some(q) = &p.query {
                let want = p
                    .expect
                    .as_ref()
                    .map_or(String::new(), |e| format!(" → expect {e}"));
                out.push(dim(format!("  {q}{want}")));
            }
        }
        DataCheck::Redis(r) => {
            out.push(Line::from(format!(
                "Redis {} · PING · INFO role/memory{}",
                shown(state, &r.address),
                if r.password.is_some() {
                    " · with password"
                } else {
                    ""
                }
            )));
            if let Some(role) = &r.expect_role {
                out.push(dim(format!("  role {role}")));
            }
            for (k, e) in &r.keys {
                let e = match e {
                    KeyExpect::Exists => "exists".to_string(),
                    KeyExpect::Missing => "missing".to_string(),
                    KeyExpect::Equals(v) => format!("= {v:?}"),
                };
                out.push(dim(format!("  key {k} {e}")));
            }
        }
        DataCheck::Registry(r) => out.push(Line::from(format!(
            "registry {}/v2/ as {}",
            shown(state, r.url.trim_end_matches('/')),
            r.username.as_deref().unwrap_or("anonymous")
        ))),
        DataCheck::Tls(t) => out.push(Line::from(format!(
            "TLS {} · certificate trusted · ≥ {} days to expiry",
            t.address, t.min_days
        ))),
        DataCheck::Prometheus(p) => prom(state, p, out),
    }
}

fn prom(state: &AppState, p: &PromSpec, out: &mut Vec<Line<'static>>) {
    out.push(Line::from(format!(
        "{} {} {}",
        state.render_text(&p.query),
        p.op.as_str(),
        p.threshold
    )));
    let mut how = format!("Prometheus {}", shown(state, &p.url));
    if let Some(r) = p.range {
        how.push_str(&format!(
            " · range {} step {}",
            format_duration(r),
            format_duration(p.step)
        ));
    }
    if let Some(s) = p.sustain {
        how.push_str(&format!(
            " · must hold {} (every {})",
            format_duration(s),
            format_duration(p.interval)
        ));
    }
    out.push(dim(how));
    out.push(dim(
        "no data or a query error is inconclusive: it waits for a person".into(),
    ));
}

pub fn describe_action(state: &AppState, i: usize, a: &DataAction, out: &mut Vec<Line<'static>>) {
    let Some(step) = state.step(i) else {
        return;
    };
    match a {
        DataAction::Migrate(m) => {
            out.push(Line::from(format!(
                "migrations {} → {}",
                state.render_text(&m.dir),
                shown(state, &m.dsn)
            )));
            out.push(dim(
                "plan (pending migrations with their SQL) is shown, then applied; schema version recorded before and after".into(),
            ));
            if let Some(v) = m.expect_version {
                out.push(Line::from(format!("expects schema version {v}")));
            }
            if let Some(tool) = &m.tool {
                let cmd = match &tool.program {
                    Program::Shell(s) => state.render_script(s),
                    Program::Argv(a) => a.join(" "),
                };
                out.push(dim(format!("applied by: $ {cmd}")));
            }
            if m.irreversible {
                out.push(Line::from(Span::styled(
                    "marked irreversible: this step is a point of no return",
                    Style::default().fg(Color::Yellow),
                )));
            } else {
                out.push(dim(
                    "a migration without a .down.sql is irreversible: a point of no return".into(),
                ));
            }
            if let Some(StepAction::Data(DataAction::Restore(r))) = &step.undo {
                out.push(dim(format!("undo: restore the backup of step {}", r.from)));
            }
        }
        DataAction::Backup(b) => {
            out.push(Line::from(format!(
                "pg_dump (custom format) of {}",
                shown(state, &b.dsn)
            )));
            out.push(dim(format!("→ {}", state.render_text(&b.file))));
            out.push(dim("records path, size and SHA-256 in the journal".into()));
        }
        DataAction::Restore(r) => {
            out.push(Line::from(format!(
                "pg_restore the backup of step {} into {}",
                r.from,
                shown(state, &r.dsn)
            )));
            out.push(dim(format!("from {}", state.render_text(&r.file))));
        }
        DataAction::Smoke(s) => {
            out.push(Line::from(format!(
                "{} requests against {} ({} at a time)",
                s.requests.len(),
                shown(state, &s.base_url),
                s.concurrency
            )));
            let mut areas: Vec<(&str, usize)> = Vec::new();
            for r in &s.requests {
                match areas.iter_mut().find(|(a, _)| *a == r.area) {
                    Some((_, n)) => *n += 1,
                    None => areas.push((&r.area, 1)),
                }
            }
            for (area, n) in areas {
                let names: Vec<String> = s
                    .requests
                    .iter()
                    .filter(|r| r.area == area)
                    .map(|r| r.name.clone())
                    .collect();
                out.push(dim(format!("  {area} ({n}): {}", names.join(", "))));
            }
        }
        DataAction::Load(l) => {
            out.push(Line::from(format!(
                "{} × {} {} at concurrency {}",
                l.requests,
                l.method,
                shown(state, &l.url),
                l.concurrency
            )));
            let t = |d: Option<std::time::Duration>| d.map_or("–".into(), format_duration);
            out.push(dim(format!(
                "targets: p50 < {} · p95 < {} · p99 < {} · errors < {}%",
                t(l.p50),
                t(l.p95),
                t(l.p99),
                l.max_error_rate
            )));
        }
        DataAction::Prometheus(p) => prom(state, p, out),
        DataAction::Notify(n) => {
            out.push(Line::from(format!(
                "POST {} ({})",
                shown(state, &n.url),
                match n.format {
                    NotifyFormat::Slack => "slack",
                    NotifyFormat::Json => "json",
                }
            )));
            out.push(dim(format!("  {}", state.render_text(&n.message))));
            if !n.required {
                out.push(dim(
                    "a failure is shown but does not fail the release".into()
                ));
            }
        }
    }
    // A finished migrate step's own record of the versions.
    if let (DataAction::Migrate(_), Some(StepStatus::Succeeded)) = (a, state.status(i))
        && let Some(note) = state.run(i).and_then(|r| r.note.as_ref())
    {
        out.push(Line::from(note.clone()));
    }
}
