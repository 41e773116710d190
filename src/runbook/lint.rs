//! Warnings: things a runbook may do but probably should not. They are
//! printed by `validate` and never stop a runbook from loading.

use super::interpolate::references;
use super::model::*;
use super::parse::Problem;
use super::template::{Templated, context_of};

/// Every warning for a runbook, in step order.
pub fn warnings(rb: &Runbook) -> Vec<Problem> {
    let mut out = Vec::new();
    for (si, stage) in rb.stages.iter().enumerate() {
        for (i, step) in stage.steps.iter().enumerate() {
            let path = format!("stages[{si}].steps[{i}]");
            unconstrained_inputs(rb, step, &step.action, &path, &mut out);
            if let Some(undo) = &step.undo {
                unconstrained_inputs(rb, step, undo, &format!("{path}.undo"), &mut out);
            }
        }
    }
    out
}

/// A script that uses an input with neither `pattern` nor `type` takes
/// whatever text it is given; quoting keeps it one word, but the command
/// itself may still misread it (an option, a path elsewhere).
fn unconstrained_inputs(
    rb: &Runbook,
    step: &Step,
    action: &StepAction,
    path: &str,
    out: &mut Vec<Problem>,
) {
    for (name, template) in action.templates() {
        if context_of(name) != super::interpolate::Context::ShellWord {
            continue;
        }
        let mut seen = Vec::new();
        for r in references(&template).unwrap_or_default() {
            if r.namespace != "inputs" || seen.contains(&r.name) {
                continue;
            }
            seen.push(r.name.clone());
            let Some(spec) = rb.inputs.iter().find(|i| i.name == r.name) else {
                continue;
            };
            if spec.pattern.is_none() && spec.kind == InputType::String {
                out.push(Problem {
                    pos: step.pos,
                    field: format!("{path}.{name}"),
                    message: format!(
                        "uses ${{inputs.{}}}, which has neither a pattern nor a type: \
                         any text is passed to the command (add `pattern:` to inputs.{})",
                        r.name, r.name
                    ),
                });
            }
        }
    }
}
