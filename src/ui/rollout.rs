//! The live rollout pane of kube steps: replicas, ReplicaSets, pods,
//! events, the verdict in words, the why-stuck line with its countdown,
//! and the pods' logs (scope, search, dropped lines).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme;
use crate::app::rollout;
use crate::app::state::AppState;
use crate::app::state::RolloutView;
use crate::protocol::kube::ConnState;
use crate::protocol::output::Stream;
use crate::runbook::kube::{KubeAction, KubeCheck, KubeOp};
use crate::runbook::rollout::{Derived, Failure, RolloutSnapshot, Verdict};

/// Pod rows shown at most; the rest are summed up.
const MAX_POD_ROWS: usize = 8;
const MAX_EVENT_ROWS: usize = 4;
const OUTPUT_ROWS: usize = 3;

fn red() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}

fn yellow() -> Style {
    Style::default().fg(Color::Yellow)
}

fn green() -> Style {
    Style::default().fg(Color::Green)
}

/// Step detail lines for a kube step.
pub fn describe(state: &AppState, _i: usize, k: &KubeAction, out: &mut Vec<Line<'static>>) {
    let t = |s: &str| state.render_text(s);
    match &k.op {
        KubeOp::Rollout {
            deployment,
            images,
            manifests,
        } => {
            if manifests.is_empty() {
                let list: Vec<String> = images
                    .iter()
                    .map(|(c, i)| format!("{c}={}", t(i)))
                    .collect();
                out.push(Line::from(format!(
                    "set image {} on deployment {}, then follow the rollout",
                    list.join(", "),
                    t(deployment)
                )));
            } else {
                out.push(Line::from(format!(
                    "server-side apply {}, then follow deployment {}",
                    manifests
                        .iter()
                        .map(|m| t(m))
                        .collect::<Vec<_>>()
                        .join(", "),
                    t(deployment)
                )));
            }
        }
        KubeOp::Wait { deployment } => out.push(Line::from(format!(
            "follow the rollout of deployment {} to its verdict",
            t(deployment)
        ))),
        KubeOp::Patch {
            api_version,
            kind,
            name,
            patch_type,
            patch,
        } => {
            out.push(Line::from(format!(
                "{} patch {api_version} {kind} {}",
                patch_type.as_str(),
                t(name)
            )));
            out.push(Line::from(Span::styled(
                crate::sanitize::sanitize_line(&t(&patch.to_string())),
                theme::dim(),
            )));
        }
        KubeOp::Restart { deployment, wait } => out.push(Line::from(format!(
            "restart deployment {}{}",
            t(deployment),
            if *wait {
                ", then follow the rollout"
            } else {
                ""
            }
        ))),
        KubeOp::Scale {
            deployment,
            replicas,
            wait,
        } => out.push(Line::from(format!(
            "scale deployment {} to {}{}",
            t(deployment),
            t(replicas),
            if *wait {
                ", then follow the rollout"
            } else {
                ""
            }
        ))),
        KubeOp::Undo {
            deployment,
            to_revision,
        } => out.push(Line::from(format!(
            "roll deployment {} back to {}, then follow that rollout",
            t(deployment),
            to_revision
                .as_deref()
                .map(|r| format!("revision {}", t(r)))
                .unwrap_or_else(|| "the previous revision".into())
        ))),
    }
    if let Some(r) = &k.rollback_on {
        let mut on = Vec::new();
        if r.progress_deadline {
            on.push("progress deadline exceeded".to_string());
        }
        if let Some(n) = r.crash_loops {
            on.push(format!("crash loops (> {n} restarts or CrashLoopBackOff)"));
        }
        if r.doomed_pod {
            on.push("a doomed pod".into());
        }
        if let Some(h) = &r.health {
            on.push(format!(
                "{} failing for {} (every {})",
                t(&h.url),
                crate::runbook::duration::format_duration(h.sustained),
                crate::runbook::duration::format_duration(h.every)
            ));
        }
        if let Some(m) = &r.metric {
            on.push(format!(
                "{} not {} {} for {}",
                t(&m.query),
                m.op.as_str(),
                m.threshold,
                crate::runbook::duration::format_duration(m.sustain.unwrap_or_default())
            ));
        }
        out.push(Line::from(Span::styled(
            format!("rolls back on: {}", on.join(", ")),
            yellow(),
        )));
    }
    cluster_line(state, k.namespace.as_deref(), out);
}

fn cluster_line(state: &AppState, ns: Option<&str>, out: &mut Vec<Line<'static>>) {
    if let Some(refusal) = rollout::refusal(state) {
        out.push(Line::from(Span::styled(refusal.to_string(), red())));
        return;
    }
    match &state.kube.cluster {
        Some(c) => {
            let pinned = state
                .runbook
                .environment(&state.release.environment)
                .and_then(|e| e.kube.as_ref())
                .and_then(|p| p.namespace.clone());
            let ns = ns
                .map(|n| state.render_text(n))
                .or(pinned)
                .unwrap_or_else(|| c.namespace.clone());
            out.push(Line::from(Span::styled(
                format!("context {} · namespace {ns}", c.context),
                theme::dim(),
            )));
        }
        None => out.push(Line::from(Span::styled(
            format!(
                "no Kubernetes cluster: {}",
                state
                    .kube
                    .cluster_error
                    .as_deref()
                    .unwrap_or("no kubeconfig")
            ),
            red(),
        ))),
    }
}

pub fn describe_check(state: &AppState, k: &KubeCheck, out: &mut Vec<Line<'static>>) {
    match k {
        KubeCheck::Access { namespace, .. } => out.push(Line::from(format!(
            "the API server answers, and you may do what this runbook's kube steps do{}",
            namespace
                .as_deref()
                .map(|n| format!(" (namespace {n})"))
                .unwrap_or_default()
        ))),
    }
    let KubeCheck::Access { namespace, .. } = k;
    cluster_line(state, namespace.as_deref(), out);
}

/// What the rollout pane needs beyond the view: a release step or
/// `flightdeck watch` fills it in, so both draw the same pane.
pub struct Pane {
    pub now: i64,
    /// The Deployment's name before the backend reported it.
    pub name: String,
    /// The backend follows it (else the pane says it has not started).
    pub started: bool,
    /// The newest lines of the step's own output.
    pub output: Vec<(Stream, String)>,
    /// Log lines scrolled back from the newest.
    pub scroll: usize,
    /// Said in the log pane when it is empty.
    pub empty_logs: String,
    /// Pod rows in the pane (a watch draws its own table: 0).
    pub max_pod_rows: usize,
}

/// Draw the rollout pane for step `i` in `area`; false when the step has none.
pub fn render(state: &AppState, i: usize, frame: &mut Frame, area: Rect) -> bool {
    if !rollout::has_rollout(state, i) {
        return false;
    }
    let empty = RolloutView::default();
    let view = state.kube.rollouts.get(&i).unwrap_or(&empty);
    let name = if view.deployment.is_empty() {
        match state.action(i) {
            Some(crate::runbook::StepAction::Kube(k)) => k
                .watched_deployment()
                .map(|d| state.render_text(d))
                .unwrap_or_default(),
            _ => String::new(),
        }
    } else {
        view.deployment.clone()
    };
    let Some(out) = state.output(i) else {
        return false;
    };
    let skip = out.lines.len().saturating_sub(OUTPUT_ROWS);
    let keys = &state.view.keymap;
    let pane = Pane {
        now: state.now,
        name,
        started: state.kube.rollouts.contains_key(&i),
        output: out.lines.iter().skip(skip).cloned().collect(),
        scroll: state.view.scroll,
        empty_logs: format!(
            "no log lines yet ({} scope, {} search)",
            keys.key_for(crate::app::action::Action::LogScope),
            keys.key_for(crate::app::action::Action::LogSearch)
        ),
        max_pod_rows: MAX_POD_ROWS,
    };
    let logs_height = (area.height * 2 / 5).max(5);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(8), Constraint::Length(logs_height)]).areas(area);
    render_rollout(&pane, view, frame, top);
    render_logs(&pane, view, frame, bottom);
    true
}

fn conn_span(c: &ConnState) -> Span<'static> {
    match c {
        ConnState::Connecting => Span::styled("connecting…", yellow()),
        ConnState::Live => Span::styled("● live", green()),
        ConnState::Reconnecting { error } => Span::styled(
            format!(
                "⟳ reconnecting ({})",
                crate::sanitize::sanitize_line(&truncate(error, 60))
            ),
            yellow().add_modifier(Modifier::BOLD),
        ),
        ConnState::Stopped => Span::styled("watch ended", theme::dim()),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn age(now: i64, created: Option<i64>) -> String {
    let Some(c) = created else {
        return "-".into();
    };
    let s = ((now - c).max(0)) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn images(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(c, i)| format!("{c}={i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rollout half of the pane: verdict, why stuck, replicas,
/// ReplicaSets, pods, events, the step's last lines.
pub fn render_rollout(pane: &Pane, view: &RolloutView, frame: &mut Frame, area: Rect) {
    let s: &RolloutSnapshot = &view.snapshot;
    let name = &pane.name;
    let mut title = vec![Span::styled(
        format!(" Rollout · deployment {name} "),
        theme::title(),
    )];
    if !view.namespace.is_empty() {
        title.push(Span::styled(
            format!("in {} ", view.namespace),
            theme::dim(),
        ));
    }
    if view.phase == "undo" {
        title.push(Span::styled("· UNDO ", red()));
    }
    title.push(Span::raw("· "));
    title.push(conn_span(&view.conn));
    title.push(Span::raw(" "));
    let mut lines: Vec<Line> = Vec::new();
    if s.deployment.is_none() {
        let what = if pane.started {
            "waiting for the first snapshot…"
        } else {
            "not started: the pane fills in live when the step runs"
        };
        lines.push(Line::styled(what, theme::dim()));
    }
    if let Some(reason) = &view.rollback {
        lines.push(Line::from(Span::styled(
            format!("⟲ ROLLED BACK: {}", crate::sanitize::sanitize_line(reason)),
            red(),
        )));
    }
    // Derived once per snapshot where it arrived; computed here only for
    // a view built without it.
    let fresh;
    let derived = if view.derived.of == std::sync::Arc::as_ptr(&view.snapshot) as usize {
        &view.derived
    } else {
        fresh = Derived::of(s, 0, pane.now);
        &fresh
    };
    if let Some(d) = &s.deployment {
        let v = derived.verdict.clone();
        let style = match &v {
            Verdict::Complete => green().add_modifier(Modifier::BOLD),
            Verdict::Failed(_) | Verdict::Missing => red(),
            Verdict::Progressing(_) => Style::default().fg(Color::Cyan),
        };
        let icon = match &v {
            Verdict::Complete => "✔",
            Verdict::Failed(_) | Verdict::Missing => "✘",
            Verdict::Progressing(_) => "▶",
        };
        lines.push(Line::from(Span::styled(
            crate::sanitize::sanitize_line(&format!("{icon} {}", v.words(&d.name))),
            style,
        )));
        if let Verdict::Failed(Failure::DeadlineExceeded { message }) = &v {
            lines.push(Line::styled(
                crate::sanitize::sanitize_line(message),
                theme::dim(),
            ));
        }
        if let Some(w) = derived.why_at(pane.now) {
            lines.push(Line::from(Span::styled(
                crate::sanitize::sanitize_line(&format!("⏳ {}", w.line())),
                yellow(),
            )));
        }
        lines.push(Line::from(vec![
            Span::styled("replicas ", theme::dim()),
            Span::raw(format!(
                "desired {} · updated {} · ready {} · available {} · total {}",
                d.replicas, d.updated, d.ready, d.available, d.total
            )),
            Span::styled(
                format!(
                    "  rev {} · {}",
                    d.revision.map_or("-".into(), |r| r.to_string()),
                    d.strategy
                ),
                theme::dim(),
            ),
        ]));
        for rs in s.replica_sets.iter().take(4) {
            let (tag, style) = if rs.is_new {
                ("new", Style::default().fg(Color::Cyan))
            } else {
                ("old", theme::dim())
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{tag} "), style),
                Span::raw(format!(
                    "{} rev {} · {}/{} ready · ",
                    rs.name, rs.revision, rs.ready, rs.replicas
                )),
                Span::styled(
                    crate::sanitize::sanitize_line(&images(&rs.images)),
                    theme::dim(),
                ),
            ]));
        }
        if s.replica_sets.len() > 4 {
            lines.push(Line::styled(
                format!("… {} older ReplicaSets", s.replica_sets.len() - 4),
                theme::dim(),
            ));
        }
        let new_count = derived.new_pods;
        let ready = derived.ready_pods;
        let w = s
            .pods
            .iter()
            .take(pane.max_pod_rows)
            .map(|p| p.name.chars().count())
            .max()
            .unwrap_or(3)
            .clamp(3, 40);
        lines.push(Line::from(Span::styled(
            format!("pods {} (new {new_count}, ready {ready})", s.pods.len()),
            theme::dim(),
        )));
        if pane.max_pod_rows > 0 {
            lines.push(Line::from(Span::styled(
                format!(
                    "  {:<w$} {:<9} {:>5} {:>4} {:>5}  {}",
                    "POD", "PHASE", "READY", "RST", "AGE", "NODE  REASON"
                ),
                theme::dim(),
            )));
        }
        for p in s.pods.iter().take(pane.max_pod_rows) {
            let is_new = s.is_new_pod(p);
            let reason_style = if p.ready {
                green()
            } else if p.reason == "Running" || p.reason == "ContainerCreating" {
                Style::default()
            } else {
                red()
            };
            let ready = format!(
                "{}/{}",
                p.containers.iter().filter(|c| c.ready).count(),
                p.containers.len()
            );
            lines.push(Line::from(vec![
                Span::styled(if is_new { "● " } else { "○ " }, theme::dim()),
                Span::raw(format!(
                    "{:<w$} {:<9} {:>5} {:>4} {:>5}  {}  ",
                    truncate(&p.name, w),
                    p.phase,
                    ready,
                    p.restarts,
                    age(pane.now, p.created_ms),
                    p.node
                )),
                Span::styled(crate::sanitize::sanitize_line(&p.reason), reason_style),
            ]));
        }
        if pane.max_pod_rows > 0 && s.pods.len() > pane.max_pod_rows {
            lines.push(Line::styled(
                format!("… {} more pods", s.pods.len() - pane.max_pod_rows),
                theme::dim(),
            ));
        }
        let events: Vec<_> = s.events.iter().rev().take(MAX_EVENT_ROWS).collect();
        for e in events.into_iter().rev() {
            let style = if e.warning { yellow() } else { theme::dim() };
            let count = if e.count > 1 {
                format!(" ×{}", e.count)
            } else {
                String::new()
            };
            lines.push(Line::from(Span::styled(
                crate::sanitize::sanitize_line(&format!(
                    "{:>4} {} {}: {}{count}",
                    age(pane.now, Some(e.last_ms)),
                    e.object_name,
                    e.reason,
                    e.message
                )),
                style,
            )));
        }
    }
    // The step's own last lines: changes made, triggers, undo.
    for (stream, text) in &pane.output {
        let style = match stream {
            Stream::Stderr => Style::default().fg(Color::LightRed),
            _ => Style::default().fg(Color::Cyan),
        };
        lines.push(Line::styled(format!("» {text}"), style));
    }
    let block = Block::bordered().title(Line::from(title));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// The pod logs half of the pane.
pub fn render_logs(pane: &Pane, view: &RolloutView, frame: &mut Frame, area: Rect) {
    let logs = &view.logs;
    let mut title = format!(
        " Pod logs · {} · {} lines ",
        logs.scope.as_str(),
        logs.total
    );
    if logs.dropped > 0 {
        title.push_str(&format!("· {} dropped ", logs.dropped));
    }
    if logs.evicted > 0 {
        title.push_str(&format!("· last {} kept ", logs.lines.len()));
    }
    if !logs.filter.is_empty() || logs.editing {
        title.push_str(&format!("· /{}", logs.filter));
        if logs.editing {
            title.push('▏');
        }
        title.push(' ');
    }
    let block = Block::bordered().title(Span::styled(title, theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let mut shown: Vec<Line> = logs
        .visible()
        .rev()
        .skip(pane.scroll)
        .take(height)
        .map(|l| {
            Line::from(vec![
                Span::styled(
                    format!("{} │ ", l.source),
                    if l.new {
                        Style::default().fg(Color::Cyan)
                    } else {
                        theme::dim()
                    },
                ),
                Span::raw(l.text.as_str()),
            ])
        })
        .collect();
    shown.reverse();
    if shown.is_empty() {
        // The counter counts every line received; say why none is shown.
        let text = if logs.lines.is_empty() {
            pane.empty_logs.clone()
        } else {
            format!(
                "none of the {} lines kept is in scope ({}){}",
                logs.lines.len(),
                logs.scope.as_str(),
                if logs.filter.is_empty() {
                    String::new()
                } else {
                    format!(" or matches /{}", logs.filter)
                }
            )
        };
        shown.push(Line::styled(text, theme::dim()));
    }
    frame.render_widget(Paragraph::new(shown), inner);
}
