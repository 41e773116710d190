//! The plan in lines a person reads: the same lines for `flightdeck plan`
//! and the TUI's plan pane (which colours them by kind). Pure.

use super::plan::{ClusterChange, ClusterSlot, Plan, PlanStep, Risk};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Heading,
    Stage,
    Step,
    Detail,
    Risk,
    Gate,
    Added,
    Removed,
    Changed,
    Unavailable,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    pub kind: LineKind,
    pub text: String,
}

fn line(kind: LineKind, text: impl Into<String>) -> PlanLine {
    PlanLine {
        kind,
        text: text.into(),
    }
}

/// The header lines: runbook, environment, inputs, hash, point of no return.
pub fn header(plan: &Plan) -> Vec<PlanLine> {
    let mut out = vec![line(
        LineKind::Heading,
        format!(
            "plan of {} · {}{}",
            plan.runbook,
            plan.environment,
            plan.release
                .as_deref()
                .map(|r| format!(" · release {r}"))
                .unwrap_or_default()
        ),
    )];
    if !plan.inputs.is_empty() {
        let inputs: Vec<String> = plan
            .inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push(line(
            LineKind::Detail,
            format!("inputs: {}", inputs.join(" ")),
        ));
    }
    match &plan.content_hash {
        Some(h) => out.push(line(
            LineKind::Detail,
            format!("content hash (what a sign-off approves): {h}"),
        )),
        None => out.push(line(LineKind::Detail, "content hash: not read")),
    }
    for n in &plan.notes {
        out.push(line(LineKind::Detail, format!("note: {n}")));
    }
    match &plan.point_of_no_return {
        Some(id) => out.push(line(
            LineKind::Risk,
            format!("point of no return: {id} (an undo will not restore what it changes)"),
        )),
        None => out.push(line(LineKind::Detail, "no irreversible step")),
    }
    out
}

/// Every line of the plan, from step `from` on (0: all of it).
pub fn lines(plan: &Plan, from: usize) -> Vec<PlanLine> {
    let mut out = header(plan);
    let mut stage = None;
    for s in plan.steps.iter().filter(|s| s.index >= from) {
        if stage != Some(&s.stage) {
            stage = Some(&s.stage);
            out.push(line(LineKind::Stage, s.stage.to_uppercase()));
        }
        step_lines(plan, s, &mut out);
    }
    out
}

fn step_lines(plan: &Plan, s: &PlanStep, out: &mut Vec<PlanLine>) {
    let mark = match s.risk {
        Risk::Irreversible => " ⚠ IRREVERSIBLE",
        Risk::Risky => " ⚠ risky",
        Risk::None => "",
    };
    let no_return = if plan.point_of_no_return.as_deref() == Some(s.id.as_str()) {
        " · point of no return"
    } else {
        ""
    };
    out.push(line(
        LineKind::Step,
        format!(
            "{:>2}. {} [{}] {}{mark}{no_return}",
            s.index + 1,
            s.title,
            s.id,
            s.kind
        ),
    ));
    if let Some(why) = &s.skipped {
        out.push(line(LineKind::Skipped, format!("    skipped: {why}")));
        return;
    }
    for d in &s.details {
        // A script's later lines are indented under its first.
        for (n, l) in d.trim_end().lines().enumerate() {
            let indent = if n == 0 { "    " } else { "      " };
            out.push(line(LineKind::Detail, format!("{indent}{l}")));
        }
    }
    if let Some(u) = &s.unresolved {
        out.push(line(LineKind::Unavailable, format!("    unresolved: {u}")));
    }
    if let Some(u) = &s.undo {
        out.push(line(LineKind::Detail, format!("    undo: {u}")));
    }
    if let Some(g) = &s.gate {
        for r in &g.roles {
            let who = match &r.people {
                Some(p) => p.join(", "),
                None => "anyone".into(),
            };
            out.push(line(
                LineKind::Gate,
                format!("    needs {} × {} ({who})", r.count, r.role),
            ));
        }
        for rule in &g.rules {
            out.push(line(LineKind::Gate, format!("    · {rule}")));
        }
    }
    cluster_lines(&s.cluster, out);
}

fn cluster_lines(slot: &ClusterSlot, out: &mut Vec<PlanLine>) {
    match slot {
        ClusterSlot::None => {}
        ClusterSlot::NotRead => out.push(line(LineKind::Unavailable, "    cluster: not read")),
        ClusterSlot::Unavailable { reason } => out.push(line(
            LineKind::Unavailable,
            format!("    cannot read what changes: {reason}"),
        )),
        ClusterSlot::Read { change } => match change {
            ClusterChange::Images {
                deployment,
                revision,
                containers,
            } => {
                out.push(line(
                    LineKind::Detail,
                    format!(
                        "    deployment {deployment}: revision {} now",
                        revision.as_deref().unwrap_or("?")
                    ),
                ));
                for c in containers {
                    let live = c.live.as_deref().unwrap_or("(no such container)");
                    let kind = if c.live.as_deref() == Some(c.new.as_str()) {
                        LineKind::Detail
                    } else {
                        LineKind::Changed
                    };
                    let same = if kind == LineKind::Detail {
                        " (unchanged)"
                    } else {
                        ""
                    };
                    out.push(line(
                        kind,
                        format!("    ~ {}: {live} → {}{same}", c.container, c.new),
                    ));
                }
            }
            ClusterChange::Fields { objects } => {
                for o in objects {
                    let what = if o.created {
                        "created"
                    } else if o.changes.is_empty() {
                        "unchanged"
                    } else {
                        "changed"
                    };
                    out.push(line(LineKind::Detail, format!("    {} ({what})", o.object)));
                    for c in &o.changes {
                        let (kind, text) = match (&c.live, &c.new) {
                            (None, Some(n)) => (LineKind::Added, format!("+ {}: {n}", c.path)),
                            (Some(l), None) => (LineKind::Removed, format!("- {}: {l}", c.path)),
                            (l, n) => (
                                LineKind::Changed,
                                format!(
                                    "~ {}: {} → {}",
                                    c.path,
                                    l.as_deref().unwrap_or_default(),
                                    n.as_deref().unwrap_or_default()
                                ),
                            ),
                        };
                        out.push(line(kind, format!("      {text}")));
                    }
                }
            }
            ClusterChange::Migrations { version, pending } => {
                out.push(line(
                    LineKind::Detail,
                    format!(
                        "    schema version {version}; {} pending",
                        if pending.is_empty() {
                            "nothing".to_string()
                        } else {
                            pending.len().to_string()
                        }
                    ),
                ));
                for m in pending {
                    let (kind, mark) = if m.irreversible {
                        (LineKind::Risk, " [irreversible: no down migration]")
                    } else {
                        (LineKind::Added, "")
                    };
                    out.push(line(
                        kind,
                        format!("      + {} {}{mark}", m.version, m.description),
                    ));
                }
            }
            ClusterChange::Note { text } => out.push(line(LineKind::Detail, format!("    {text}"))),
        },
    }
}

/// The plan as plain text (`flightdeck plan`).
pub fn text(plan: &Plan) -> String {
    lines(plan, 0)
        .into_iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("\n")
}
