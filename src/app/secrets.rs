//! The release's secrets, gathered once when it opens: secret inputs, the
//! variables a `check: env` step or the runbook's `secrets:` names, and the
//! credentials flightdeck itself handles (URL passwords and tokens in
//! inputs, environment values and step fields; registry and Redis
//! passwords; auth headers; webhook paths). `update` masks every text that
//! enters from a backend with it, so no sink sees a secret.
//!
//! Also the journal's form of secret inputs: a salted hash per value, so a
//! resume can check the value it is given without the journal holding it.

use std::collections::BTreeMap;

use super::state::AppState;
use crate::runbook::data::{DataAction, DataCheck};
use crate::runbook::secrets::{SecretSet, carries_credential, seal, secret_param};
use crate::runbook::template::Templated;
use crate::runbook::{CheckSpec, Program, Runbook, StepAction};

/// Every secret of the release `state` drives.
pub fn release_secrets(state: &AppState) -> SecretSet {
    let rb = &state.runbook;
    let mut set = SecretSet::new();
    for spec in rb.inputs.iter().filter(|i| i.secret) {
        if let Some(v) = state.release.inputs.get(&spec.name) {
            set.add(v);
        }
    }
    for v in state.release.inputs.values() {
        set.add_url(v);
    }
    for name in secret_env_names(rb) {
        if let Some(v) = state.values.env.get(&name) {
            set.add(v);
        }
    }
    for (name, v) in &state.values.env {
        set.add_url(v);
        if state.values.env_vars.contains_key(name) && secret_param(name) {
            set.add(v);
        }
    }
    let scope = state.scope(state.release.inputs.clone(), true);
    for step in rb.steps() {
        for action in std::iter::once(&step.action).chain(step.undo.as_ref()) {
            // An action that does not render yet (a missing value) holds
            // no credential that could be shown either.
            if let Ok(a) = action.render(&scope) {
                action_credentials(&a, &mut set);
            }
        }
    }
    for hook in &rb.notify {
        if let Ok(url) = scope.render(&hook.url) {
            set.add_webhook(&url);
        }
    }
    set
}

/// Environment variables whose values are secrets: those a `check: env`
/// step names (it promises never to show them) and the runbook's `secrets:`.
pub fn secret_env_names(rb: &Runbook) -> Vec<String> {
    let mut names = rb.secrets.clone();
    for step in rb.steps() {
        if let StepAction::Check(CheckSpec::Env { vars }) = &step.action {
            for v in vars {
                if !names.contains(v) {
                    names.push(v.clone());
                }
            }
        }
    }
    names
}

/// The credentials in one rendered action.
pub fn action_credentials(action: &StepAction, set: &mut SecretSet) {
    // Any field may hold a URL with a password or a token.
    let mut a = action.clone();
    a.visit(&mut |_, s| set.add_url(s));
    match action {
        StepAction::Command(c) => {
            if let Program::Argv(args) = &c.program {
                args.iter().for_each(|x| set.add_url(x));
            }
            for (k, v) in &c.env {
                set.add_url(v);
                if secret_param(k) {
                    set.add(v);
                }
            }
        }
        StepAction::Check(CheckSpec::Http(h)) => {
            for (k, v) in &h.headers {
                set.add_header(k, v);
            }
        }
        StepAction::Check(CheckSpec::Data(d)) => match d {
            DataCheck::Redis(r) => {
                if let Some(pw) = &r.password {
                    set.add(pw);
                }
            }
            DataCheck::Registry(r) => {
                if let Some(pw) = &r.password {
                    set.add(pw);
                }
            }
            _ => {}
        },
        StepAction::Data(d) => match d {
            DataAction::Notify(n) => set.add_webhook(&n.url),
            DataAction::Smoke(s) => {
                for r in &s.requests {
                    for (k, v) in &r.headers {
                        set.add_header(k, v);
                    }
                }
            }
            DataAction::Load(l) => {
                for (k, v) in &l.headers {
                    set.add_header(k, v);
                }
            }
            _ => {}
        },
        _ => {}
    }
}

/// The inputs of a release the journal keeps sealed with `salt` (one per
/// release): name -> `sha256:<salt>:<hash>`. Those marked `secret`, and
/// any whose value holds a URL with a password or token in it.
pub fn seal_inputs(
    rb: &Runbook,
    inputs: &BTreeMap<String, String>,
    salt: &[u8],
) -> BTreeMap<String, String> {
    rb.inputs
        .iter()
        .filter_map(|i| {
            let v = inputs.get(&i.name)?;
            (i.secret || carries_credential(v)).then(|| (i.name.clone(), seal(v, salt)))
        })
        .collect()
}

/// A fresh salt for a new release.
pub fn new_salt() -> [u8; 16] {
    rand::random()
}

/// The environment variable a headless resume reads a secret input from:
/// `FLIGHTDECK_SECRET_<NAME>` (upper case, `-` and `.` as `_`).
pub fn secret_env_var(input: &str) -> String {
    let name: String = input
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("FLIGHTDECK_SECRET_{name}")
}
