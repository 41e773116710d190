//! `${...}` in durations, counts and thresholds (`timeout: ${inputs.soak}`).
//!
//! The file is parsed twice. Reading the file, every reference must exist
//! and, where its value is already known (an input's default), resolve to
//! a valid value; otherwise the field is left unset until release start.
//! At release start (inputs final) the same text is parsed again with the
//! release's values, so a bad value gets the same located error
//! (file:line:column: field) and the release refuses to start.

use std::collections::BTreeMap;

use super::interpolate::{Scope, references};
use super::yaml::Pos;

/// What `${...}` in a numeric field may refer to, and their values if known.
#[derive(Debug, Clone, Default)]
pub(crate) struct NumericScope {
    /// Declared inputs and their defaults (reading the file).
    pub declared: BTreeMap<String, Option<String>>,
    /// Secret inputs: their values are never repeated in a message.
    pub secret: Vec<String>,
    /// The release's values (release start): every reference must resolve.
    pub release: Option<Scope>,
}

/// The outcome of rendering a templated numeric field.
pub(crate) enum Rendered {
    /// Not a template: parse the text as it is.
    Plain,
    /// The rendered text, and a prefix naming the template for messages.
    Value(String, String),
    /// Valid, but its value is known only at release start.
    Later,
    /// Already reported.
    Bad,
}

impl super::parse::Ctx {
    /// A number written as a string in field `field`: only a `${...}`
    /// template may be one, rendered and read as `T` when `ok` with it
    /// (`expected` names what it must be). `None`: reported, or known only
    /// at release start (and checked then).
    pub(crate) fn templated_number<T: std::str::FromStr>(
        &mut self,
        pos: Pos,
        field: &str,
        text: &str,
        expected: &str,
        ok: impl Fn(&T) -> bool,
    ) -> Option<T> {
        match self.numeric(pos, field, text) {
            Rendered::Value(v, what) => match v.trim().parse::<T>() {
                Ok(x) if ok(&x) => Some(x),
                _ => {
                    self.err(pos, field, format!("{what}expected {expected}"));
                    None
                }
            },
            Rendered::Plain => {
                self.err(pos, field, format!("expected {expected}, found a string"));
                None
            }
            Rendered::Later | Rendered::Bad => None,
        }
    }

    /// Render `text` of numeric field `field` if it holds `${...}`.
    pub(crate) fn numeric(&mut self, pos: Pos, field: &str, text: &str) -> Rendered {
        if !text.contains("${") {
            return Rendered::Plain;
        }
        let refs = match references(text) {
            Ok(r) => r,
            Err(e) => {
                self.err(pos, field, e);
                return Rendered::Bad;
            }
        };
        let secret = refs
            .iter()
            .any(|r| r.namespace == "inputs" && self.numbers.secret.contains(&r.name));
        let said = |v: &str| {
            if secret {
                format!("{text} (a secret input): ")
            } else {
                format!("{text} is {v:?}: ")
            }
        };
        if let Some(scope) = self.numbers.release.clone() {
            return match scope.render(text) {
                Ok(v) => Rendered::Value(v.clone(), said(&v)),
                Err(e) => {
                    self.err(pos, field, e);
                    Rendered::Bad
                }
            };
        }
        let mut known = Scope::default();
        let mut later = false;
        for r in &refs {
            match (r.namespace.as_str(), r.name.as_str()) {
                ("inputs", name) => match self.numbers.declared.get(name) {
                    Some(Some(default)) => {
                        known.inputs.insert(name.to_string(), default.clone());
                    }
                    Some(None) => later = true,
                    None => {
                        self.err(
                            pos,
                            field,
                            format!("undefined reference ${{inputs.{name}}}"),
                        );
                        return Rendered::Bad;
                    }
                },
                ("env", name) if !name.is_empty() => later = true,
                ("release", "env" | "runbook" | "initiator") => later = true,
                (ns, name) => {
                    self.err(
                        pos,
                        field,
                        format!(
                            "undefined reference ${{{ns}.{name}}} (a number or duration takes inputs.*, env.* or release.env)"
                        ),
                    );
                    return Rendered::Bad;
                }
            }
        }
        if later {
            return Rendered::Later;
        }
        match known.render(text) {
            Ok(v) => {
                let what = said(&v).replace(" is ", " (its default) is ");
                Rendered::Value(v, what)
            }
            Err(e) => {
                self.err(pos, field, e);
                Rendered::Bad
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::runbook::interpolate::Scope;
    use crate::runbook::{StepAction, parse_str};

    const RB: &str = "name: num\ninputs:\n  soak: { default: 2m }\n  budget: {}\n  key: { secret: true, default: x }\nstages:\n  - id: s\n    steps:\n      - id: g\n        gate: { roles: { ops: 1 }, soak: \"${inputs.soak}\" }\n        timeout: ${inputs.budget}\n";

    fn errors(text: &str) -> String {
        parse_str(text, Path::new("n.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_default_resolves_at_parse_time_and_a_missing_value_waits() {
        let l = parse_str(RB, Path::new("n.yaml")).unwrap();
        let step = &l.runbook.stages[0].steps[0];
        let StepAction::Gate(g) = &step.action else {
            panic!()
        };
        assert_eq!(g.soak, Some(std::time::Duration::from_secs(120)));
        assert_eq!(step.timeout, None, "known only at release start");
    }

    #[test]
    fn bad_defaults_and_unknown_references_are_located() {
        let e = errors(&RB.replace("default: 2m", "default: soon"));
        assert!(
            e.contains("n.yaml:10:")
                && e.contains(
                    "stages[0].steps[0].gate.soak: ${inputs.soak} (its default) is \"soon\""
                ),
            "{e}"
        );
        let e = errors(&RB.replace("inputs.budget", "inputs.nope"));
        assert!(
            e.contains(
                "n.yaml:11:18: stages[0].steps[0].timeout: undefined reference ${inputs.nope}"
            ),
            "{e}"
        );
        let e = errors(&RB.replace("inputs.budget", "release.id"));
        assert!(e.contains("undefined reference ${release.id}"), "{e}");
    }

    #[test]
    fn at_release_start_values_resolve_or_refuse_with_the_same_place() {
        let l = parse_str(RB, Path::new("n.yaml")).unwrap();
        let mut scope = Scope::default();
        scope.inputs.insert("soak".into(), "30s".into());
        scope.inputs.insert("budget".into(), "5m".into());
        let rb = crate::runbook::for_release(&l, &scope).unwrap();
        assert_eq!(
            rb.stages[0].steps[0].timeout,
            Some(std::time::Duration::from_secs(300))
        );
        scope.inputs.insert("budget".into(), "five minutes".into());
        let e = crate::runbook::for_release(&l, &scope)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "n.yaml:11:18: stages[0].steps[0].timeout: ${inputs.budget} is \"five minutes\""
            ),
            "{e}"
        );
        scope.inputs.remove("budget");
        let e = crate::runbook::for_release(&l, &scope)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "n.yaml:11:18: stages[0].steps[0].timeout: \"${inputs.budget}\" has no value"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_secret_value_is_never_repeated() {
        let text = RB.replace("inputs.budget", "inputs.key");
        let e = errors(&text);
        assert!(
            e.contains("${inputs.key} (a secret input)") && !e.contains("\"x\""),
            "{e}"
        );
    }
}
