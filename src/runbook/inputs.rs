//! Resolving the inputs given on the command line against a runbook.

use std::collections::BTreeMap;

use regex::Regex;

use super::model::{InputSpec, InputType, Runbook};
use crate::sanitize::ControlCharsError;

/// What is wrong with one input's value. `value` is the value as given,
/// `None` for a secret input: a secret is never repeated in a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("unknown input {name:?} (this runbook takes: {})", takes(known))]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "input {name:?} is required{} (pass --set {name}=...)",
        described(description)
    )]
    Required { name: String, description: String },
    #[error(transparent)]
    Controls(#[from] ControlCharsError),
    #[error("input {name:?} must be an integer, got {}", shown(value))]
    NotInteger { name: String, value: Option<String> },
    #[error("input {name:?} must be true or false, got {}", shown(value))]
    NotBoolean { name: String, value: Option<String> },
    #[error(
        "input {name:?} = {} does not match the pattern {pattern}",
        shown(value)
    )]
    NoMatch {
        name: String,
        value: Option<String>,
        pattern: String,
    },
    #[error("input {name:?}: the pattern {pattern} is not a valid one: {reason}")]
    BadPattern {
        name: String,
        pattern: String,
        reason: String,
    },
}

fn takes(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

fn described(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(": {description}")
    }
}

fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "(secret)".to_string(),
    }
}

/// Every problem with the inputs given, one a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct InputErrors(pub Vec<InputError>);

fn lines(errors: &[InputError]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("\n")
}

impl InputErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, InputError> {
        self.0.iter()
    }
}

/// Check given `name=value` inputs, fill defaults, and report every problem.
pub fn resolve(
    rb: &Runbook,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, InputErrors> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for name in given.keys() {
        if !rb.inputs.iter().any(|i| &i.name == name) {
            errors.push(InputError::Unknown {
                name: name.clone(),
                known: rb.inputs.iter().map(|i| i.name.clone()).collect(),
            });
        }
    }
    for spec in &rb.inputs {
        let value = given.get(&spec.name).or(spec.default.as_ref());
        match check_value(spec, value.map(String::as_str)) {
            Ok(()) => {
                if let Some(v) = value {
                    out.insert(spec.name.clone(), v.clone());
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputErrors(errors))
    }
}

/// The one check of one input's value (`None`: no value and no default),
/// used by `resolve` and by the start form as a person types.
pub fn check_value(spec: &InputSpec, value: Option<&str>) -> Result<(), InputError> {
    match value {
        Some(v) => check(spec, v),
        None if spec.required => Err(InputError::Required {
            name: spec.name.clone(),
            description: spec.description.clone(),
        }),
        None => Ok(()),
    }
}

fn check(spec: &InputSpec, value: &str) -> Result<(), InputError> {
    // Values reach commands, the journal and terminals: no control text.
    crate::sanitize::refuse_controls(&format!("input {:?}", spec.name), value)?;
    let name = spec.name.clone();
    let shown = (!spec.secret).then(|| value.to_string());
    match spec.kind {
        InputType::Integer if value.parse::<i64>().is_err() => {
            return Err(InputError::NotInteger { name, value: shown });
        }
        InputType::Boolean if !["true", "false"].contains(&value) => {
            return Err(InputError::NotBoolean { name, value: shown });
        }
        _ => {}
    }
    if let Some(p) = &spec.pattern {
        // Anchored: a pattern describes the whole value.
        let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| InputError::BadPattern {
            name: name.clone(),
            pattern: p.clone(),
            reason: e.to_string(),
        })?;
        if !re.is_match(value) {
            return Err(InputError::NoMatch {
                name,
                value: shown,
                pattern: p.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: InputType, secret: bool) -> InputSpec {
        InputSpec {
            name: name.into(),
            description: String::new(),
            kind,
            pattern: Some("[a-z]+".into()),
            default: None,
            required: true,
            secret,
        }
    }

    #[test]
    fn a_secret_value_is_never_in_the_error() {
        for kind in [InputType::Integer, InputType::Boolean, InputType::String] {
            let e = check_value(&spec("token", kind, true), Some("S3CRET")).unwrap_err();
            assert!(!format!("{e} {e:?}").contains("S3CRET"), "{e:?}");
            assert!(e.to_string().contains("(secret)"), "{e}");
        }
    }

    #[test]
    fn an_error_carries_the_input_and_the_value() {
        let e = check_value(&spec("replicas", InputType::Integer, false), Some("3x")).unwrap_err();
        assert_eq!(
            e,
            InputError::NotInteger {
                name: "replicas".into(),
                value: Some("3x".into())
            }
        );
        assert_eq!(
            e.to_string(),
            "input \"replicas\" must be an integer, got \"3x\""
        );
        let e = check_value(&spec("tag", InputType::String, false), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input \"tag\" is required (pass --set tag=...)"
        );
        let e = check_value(&spec("tag", InputType::String, false), Some("a\u{1b}b")).unwrap_err();
        let InputError::Controls(c) = e else {
            panic!("{e:?}")
        };
        assert_eq!(c.field, "input \"tag\"");
    }
}
