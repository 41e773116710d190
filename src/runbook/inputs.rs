//! Resolving the inputs given on the command line against a runbook.

use std::collections::BTreeMap;

use regex::Regex;

use super::model::{InputSpec, InputType, Runbook};

/// Check given `name=value` inputs, fill defaults, and report every problem.
pub fn resolve(
    rb: &Runbook,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for name in given.keys() {
        if !rb.inputs.iter().any(|i| &i.name == name) {
            let known: Vec<&str> = rb.inputs.iter().map(|i| i.name.as_str()).collect();
            errors.push(format!(
                "unknown input {name:?} (this runbook takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
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
        Err(errors)
    }
}

/// The one check of one input's value (`None`: no value and no default),
/// used by `resolve` and by the start form as a person types.
pub fn check_value(spec: &InputSpec, value: Option<&str>) -> Result<(), String> {
    match value {
        Some(v) => check(spec, v),
        None if spec.required => Err(format!(
            "input {:?} is required{} (pass --set {}=...)",
            spec.name,
            if spec.description.is_empty() {
                String::new()
            } else {
                format!(": {}", spec.description)
            },
            spec.name
        )),
        None => Ok(()),
    }
}

fn check(spec: &InputSpec, value: &str) -> Result<(), String> {
    // Values reach commands, the journal and terminals: no control text.
    crate::sanitize::refuse_controls(&format!("input {:?}", spec.name), value)?;
    let shown = if spec.secret {
        "(secret)".to_string()
    } else {
        format!("{value:?}")
    };
    match spec.kind {
        InputType::Integer if value.parse::<i64>().is_err() => {
            return Err(format!(
                "input {:?} must be an integer, got {shown}",
                spec.name
            ));
        }
        InputType::Boolean if !["true", "false"].contains(&value) => {
            return Err(format!(
                "input {:?} must be true or false, got {shown}",
                spec.name
            ));
        }
        _ => {}
    }
    if let Some(p) = &spec.pattern {
        // Anchored: a pattern describes the whole value.
        let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
        if !re.is_match(value) {
            return Err(format!(
                "input {:?} = {shown} does not match the pattern {p}",
                spec.name
            ));
        }
    }
    Ok(())
}
