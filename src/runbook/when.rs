//! `when:` on a stage or a step: the environments it is for. A step not for
//! the release's environment is settled as skipped with [`NOT_FOR_ENV`];
//! it never runs, and a gate so skipped never counts as passed.

use super::model::Runbook;
use super::parse::{Ctx, Fields, string_list};
use super::progress::{Refused, Release, StepStatus};
use super::yaml::{Node, Pos};

/// The reason a step not for this environment is skipped with, everywhere
/// (journal, checklist, headless events).
pub const NOT_FOR_ENV: &str = "not for this environment";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct When {
    /// Environment names; the stage or step runs only in these.
    pub env: Vec<String>,
    pub pos: Pos,
}

impl When {
    pub fn applies(&self, environment: &str) -> bool {
        self.env.iter().any(|e| e == environment)
    }
}

/// Read `when:` of the mapping `f`, if present.
pub(crate) fn parse(ctx: &mut Ctx, f: &mut Fields<'_>) -> Option<When> {
    let node: &Node = f.get("when")?;
    let path = f.field("when");
    let mut w = Fields::new(ctx, node, &path)?;
    let env = match w.get("env") {
        Some(n) => {
            let list = string_list(ctx, n, &w.field("env"));
            if list.is_empty() {
                ctx.err(n.pos, &w.field("env"), "names no environment");
            }
            list
        }
        None => {
            ctx.err(node.pos, &w.field("env"), "is required");
            Vec::new()
        }
    };
    w.finish(ctx);
    Some(When { env, pos: node.pos })
}

/// Every environment a `when:` names must be declared in `environments:`.
pub(crate) fn validate(ctx: &mut Ctx, rb: &Runbook) {
    if rb.environments.is_empty() {
        return; // a runbook without environments runs in any named one
    }
    let mut check = |w: &When, path: String| {
        for name in &w.env {
            if rb.environment(name).is_none() {
                let known: Vec<&str> = rb.environments.iter().map(|e| e.name.as_str()).collect();
                ctx.err(
                    w.pos,
                    &format!("{path}.when.env"),
                    format!(
                        "unknown environment {name:?} (environments: {})",
                        known.join(", ")
                    ),
                );
            }
        }
    };
    for (si, stage) in rb.stages.iter().enumerate() {
        if let Some(w) = &stage.when {
            check(w, format!("stages[{si}]"));
        }
        for (i, step) in stage.steps.iter().enumerate() {
            if let Some(w) = &step.when {
                check(w, format!("stages[{si}].steps[{i}]"));
            }
        }
    }
}

impl Release {
    /// Settle the current step `i`, not for this environment, as skipped.
    /// Unlike [`Release::skip`] this takes gates too: the runbook itself says
    /// the gate does not apply here, and a skip is never a pass.
    pub fn skip_not_for_env(&mut self, rb: &Runbook, i: usize, now: i64) -> Result<(), Refused> {
        if self.status.is_final() {
            return Err(Refused(format!("the release has {}", self.status.as_str())));
        }
        if self.current(rb) != Some(i) || self.steps[i].status != StepStatus::Pending {
            return Err(Refused(
                "only the current, not started step is skipped".into(),
            ));
        }
        if rb.applies(i, &self.environment) {
            return Err(Refused("the step is for this environment".into()));
        }
        let run = &mut self.steps[i];
        run.status = StepStatus::Skipped {
            reason: NOT_FOR_ENV.to_string(),
        };
        run.finished_at = Some(now);
        self.settle(rb, now);
        Ok(())
    }
}

impl Runbook {
    /// Is flat step `index` for `environment` (its stage's `when:` and its own)?
    pub fn applies(&self, index: usize, environment: &str) -> bool {
        let stage_ok = self
            .stage_of(index)
            .and_then(|s| s.when.as_ref())
            .is_none_or(|w| w.applies(environment));
        let step_ok = self
            .step(index)
            .and_then(|s| s.when.as_ref())
            .is_none_or(|w| w.applies(environment));
        stage_ok && step_ok
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::runbook::parse_str;

    fn f() -> &'static Path {
        Path::new("w.yaml")
    }

    const RB: &str = "name: w\nenvironments: { dev: {}, staging: {}, production: {} }\nstages:\n  - id: s\n    when: { env: [staging, production] }\n    steps:\n      - { id: a, command: \"true\" }\n  - id: t\n    steps:\n      - { id: b, command: \"true\", when: { env: [production] } }\n      - { id: c, command: \"true\" }\n";

    #[test]
    fn stage_and_step_conditions_combine() {
        let rb = parse_str(RB, f()).unwrap().runbook;
        assert!(!rb.applies(0, "dev"));
        assert!(rb.applies(0, "staging"));
        assert!(!rb.applies(1, "staging"));
        assert!(rb.applies(1, "production"));
        assert!(rb.applies(2, "dev"));
    }

    #[test]
    fn an_unknown_environment_is_located() {
        let text = RB.replace("[production]", "[prod]");
        let err = parse_str(&text, f()).unwrap_err().to_string();
        assert!(
            err.contains(":10:")
                && err.contains("stages[1].steps[0].when.env: unknown environment \"prod\""),
            "{err}"
        );
    }

    #[test]
    fn when_needs_env() {
        let text = RB.replace("when: { env: [production] }", "when: { envs: [x] }");
        let err = parse_str(&text, f()).unwrap_err().to_string();
        assert!(err.contains("when.env: is required"), "{err}");
        assert!(err.contains("when.envs: unknown field"), "{err}");
    }
}
