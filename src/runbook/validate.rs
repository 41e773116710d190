//! Cross-field rules: unique ids, defined references, known roles.

use std::collections::{BTreeMap, HashMap};

use super::interpolate::{Context, references};
use super::model::*;
use super::parse::Ctx;
use super::quoting::{in_shell_quotes, in_sql_quotes};
use super::template::{Templated, context_of};

pub(crate) fn validate(ctx: &mut Ctx, rb: &Runbook) {
    let mut stage_ids: HashMap<&str, u64> = HashMap::new();
    let mut step_ids: HashMap<&str, u64> = HashMap::new();
    if rb.stages.is_empty() {
        ctx.err(
            Default::default(),
            "stages",
            "a runbook needs at least one stage",
        );
    }
    for (si, stage) in rb.stages.iter().enumerate() {
        let field = format!("stages[{si}].id");
        let pos = stage.steps.first().map(|s| s.pos).unwrap_or_default();
        check_id(ctx, &stage.id, &field, pos);
        if let Some(first) = stage_ids.insert(&stage.id, pos.line) {
            ctx.err(
                pos,
                &field,
                format!("duplicate stage id {:?} (first at line {first})", stage.id),
            );
        }
        for (i, step) in stage.steps.iter().enumerate() {
            let path = format!("stages[{si}].steps[{i}]");
            check_id(ctx, &step.id, &format!("{path}.id"), step.pos);
            if let Some(first) = step_ids.insert(&step.id, step.pos.line) {
                ctx.err(
                    step.pos,
                    &format!("{path}.id"),
                    format!("duplicate step id {:?} (first at line {first})", step.id),
                );
            }
            action_refs(ctx, rb, &step.action, step, &path);
            if let Some(undo) = &step.undo {
                action_refs(ctx, rb, undo, step, &format!("{path}.undo"));
            }
            if let StepAction::Gate(g) = &step.action {
                for (role, count) in &g.roles {
                    if let Some(members) = rb.roles.get(role)
                        && (members.len() as u32) < *count
                    {
                        ctx.err(
                            step.pos,
                            &format!("{path}.gate.roles.{role}"),
                            format!(
                                "needs {count} people but roles.{role} lists only {}",
                                members.len()
                            ),
                        );
                    }
                }
            }
        }
    }
    let mut names: BTreeMap<&str, ()> = BTreeMap::new();
    for env in &rb.environments {
        if names.insert(&env.name, ()).is_some() {
            ctx.err(
                Default::default(),
                &format!("environments.{}", env.name),
                "duplicate environment",
            );
        }
    }
}

fn check_id(ctx: &mut Ctx, id: &str, field: &str, pos: super::yaml::Pos) {
    if id.is_empty() {
        return; // already reported as missing
    }
    let ok = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && id.len() <= 64;
    if !ok {
        ctx.err(
            pos,
            field,
            format!("{id:?}: ids use letters, digits, '-' and '_' (at most 64)"),
        );
    }
}

/// A `${...}` inside quotes in a script or SQL would be quoted twice.
fn quoted_refs(ctx: &mut Ctx, step: &Step, field: &str, name: &str, template: &str) {
    let (found, why) = match context_of(name) {
        Context::ShellWord => (
            in_shell_quotes(template),
            "flightdeck quotes each value as one shell word; write it without quotes",
        ),
        Context::Sql => (
            in_sql_quotes(template),
            "each value is a bind parameter; write it without quotes (cast with ::type)",
        ),
        Context::Plain => return,
    };
    for q in found {
        let why = if q.quote == "a here-document" {
            "its quotes would be text there; pass it in `env:` and write \"$NAME\""
        } else {
            why
        };
        ctx.err(
            step.pos,
            field,
            format!("${{{}}} is inside {}: {why}", q.reference, q.quote),
        );
    }
}

fn action_refs(ctx: &mut Ctx, rb: &Runbook, action: &StepAction, step: &Step, path: &str) {
    if let StepAction::Check(CheckSpec::Env { vars }) = action
        && vars.is_empty()
    {
        ctx.err(
            step.pos,
            &format!("{path}.check.env"),
            "list at least one variable",
        );
    }
    let templates = action.templates();
    for (name, t) in templates {
        let field = format!("{path}.{name}");
        quoted_refs(ctx, step, &field, name, &t);
        match references(&t) {
            Err(e) => ctx.err(step.pos, &field, e),
            Ok(refs) => {
                for r in refs {
                    let known = match r.namespace.as_str() {
                        "inputs" => rb.inputs.iter().any(|i| i.name == r.name),
                        "env" => !r.name.is_empty(),
                        "release" => {
                            ["id", "env", "runbook", "initiator"].contains(&r.name.as_str())
                        }
                        "flightdeck" => r.name == "bin",
                        _ => false,
                    };
                    if !known {
                        ctx.err(
                            step.pos,
                            &field,
                            format!("undefined reference ${{{}.{}}}", r.namespace, r.name),
                        );
                    }
                }
            }
        }
    }
}
