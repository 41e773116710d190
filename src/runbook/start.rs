//! What the start form tells about an environment before a release starts
//! there: its change window, freeze, `requires` and confirm rule, from the
//! same `policy::check_start_hiding` the start itself applies. Pure.

use std::collections::BTreeMap;

use super::Environment;
use super::policy::{self, Violation};

/// An environment's policy, now, for these inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvStatus {
    /// `None`: no windows (any time). `Some(true)`: inside one now.
    pub window_open: Option<bool>,
    /// The windows as written.
    pub windows: Vec<String>,
    /// The freeze now in force, in words.
    pub frozen: Option<String>,
    /// The environment `requires` names, and whether these inputs passed it.
    pub requires: Option<(String, bool)>,
    /// Risky steps ask for the environment's name typed.
    pub confirm: bool,
    /// Every reason the release may not start now.
    pub violations: Vec<Violation>,
}

impl EnvStatus {
    /// A reason that no break-glass lifts (`requires` not met).
    pub fn hard(&self) -> Option<&Violation> {
        self.violations.iter().find(|v| !v.breakable())
    }

    /// Starting needs a break-glass reason (outside a window, frozen).
    pub fn needs_break_glass(&self) -> bool {
        self.violations.iter().any(Violation::breakable)
    }
}

/// `env`'s policy at `now_ms` for `inputs` (`shown`: the same with secrets
/// hidden), given the inputs of releases that succeeded where `requires`
/// points (`passed`).
pub fn env_status(
    env: &Environment,
    now_ms: i64,
    inputs: &BTreeMap<String, String>,
    shown: &BTreeMap<String, String>,
    passed: &[BTreeMap<String, String>],
) -> EnvStatus {
    let p = &env.policy;
    let violations = policy::check_start_hiding(p, now_ms, inputs, shown, passed);
    let frozen = violations.iter().find_map(|v| match v {
        Violation::Frozen { .. } => Some(v.to_string()),
        _ => None,
    });
    let requires = p.requires.as_ref().map(|r| {
        let met = !violations
            .iter()
            .any(|v| matches!(v, Violation::NotPassed { .. }));
        (r.passed.clone(), met)
    });
    EnvStatus {
        window_open: (!p.windows.is_empty()).then(|| p.windows.iter().any(|w| w.contains(now_ms))),
        windows: p.windows.iter().map(|w| w.text.clone()).collect(),
        frozen,
        requires,
        confirm: env.confirm,
        violations,
    }
}
