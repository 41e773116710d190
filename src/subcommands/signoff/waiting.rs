//! Approvers away from the driver's keyboard: recording a CLI sign-off
//! under the store's gate rules, `releases --waiting-for-me`, and checking
//! sign-off signatures in `verify`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{CmdResult, EXIT_FAILED, EXIT_OK, Failure, session};
use crate::backend::store::Store;
use crate::backend::store::team::GateRule;
use crate::runbook::gates::{self, Decision, GateTally, Signoff};
use crate::runbook::identity::{IdentityMode, signoff_record};
use crate::runbook::progress::StepStatus;
use crate::runbook::{GateSpec, StepAction};
use crate::settings::Settings;

/// Record `s` (its person already bound by `identity::bind_person`, with
/// the signature that made); the tally after it, in words.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    store: &Store,
    release_id: &str,
    s: &Signoff,
    signature: Option<String>,
    mode: IdentityMode,
    spec: &GateSpec,
    members: &BTreeMap<String, Vec<String>>,
    hash: &str,
) -> Result<String, Failure> {
    let rule = GateRule {
        spec,
        members,
        current_hash: hash,
    };
    let tally = store
        .record_signoff_as(release_id, s, signature.as_deref(), rule, mode)
        .await?
        .map_err(|why| Failure::failed(format!("refused: {why}")))?;
    let mut text = describe(&s.gate, &tally);
    if signature.is_some() {
        text.push_str("\nsigned with your SSH key (flightdeck verify checks it)");
    }
    Ok(text)
}

/// "gate G: approver 2/2, security 0/1 — still needed: 1 × security".
pub fn describe(gate: &str, t: &GateTally) -> String {
    let roles: Vec<String> = t
        .roles
        .iter()
        .map(|r| format!("{} {}/{}", r.role, r.signed.len(), r.needed))
        .collect();
    let state = if let Some(r) = &t.rejection {
        format!("rejected by {}: the release stops", r.person)
    } else if t.satisfied() {
        "all sign-offs are in".to_string()
    } else {
        let missing: Vec<String> = t
            .roles
            .iter()
            .filter(|r| r.missing() > 0)
            .map(|r| format!("{} × {}", r.missing(), r.role))
            .collect();
        format!("still needed: {}", missing.join(", "))
    };
    format!("gate {gate}: {} — {state}", roles.join(", "))
}

/// A gate this person may sign now, as `signable` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignableGate {
    pub gate: String,
    pub title: String,
    /// The roles this person may sign in now.
    pub roles: Vec<String>,
    /// The tally in words (`describe`).
    pub tally: String,
    pub since: Option<i64>,
}

/// The gate release `stored` waits on, when `settings.person` may sign it
/// now: the gate tally's own rules (`gates::may_sign`) against the hash
/// the driver binds sign-offs to. Shared by `releases --waiting-for-me`
/// and the home screen.
pub async fn signable(
    store: &Store,
    settings: &Settings,
    stored: &crate::backend::store::StoredRelease,
    loaded: &crate::runbook::Loaded,
) -> Result<Option<SignableGate>, Failure> {
    if stored.status.is_final() {
        return Ok(None);
    }
    let rb = &loaded.runbook;
    let release = crate::backend::store::rebuild(rb, stored);
    let Some(i) = release.current(rb) else {
        return Ok(None);
    };
    let step = rb.steps().nth(i).expect("current step exists");
    let StepAction::Gate(spec) = &step.action else {
        return Ok(None);
    };
    if release.steps[i].status != StepStatus::Waiting {
        return Ok(None);
    }
    // The same hash the driver binds sign-offs to (migration plans included).
    let hash = super::content::approver_content(store, stored, loaded)
        .await?
        .hash();
    let signoffs = release.signoffs_for(&step.id);
    let members = gates::members(&rb.roles, &settings.roles);
    let roles: Vec<String> = spec
        .roles
        .iter()
        .map(|(role, _)| role.as_str())
        .filter(|role| {
            gates::may_sign(
                spec,
                &members,
                &signoffs,
                &hash,
                &stored.initiator,
                &settings.person,
                role,
                Decision::Approve,
                "",
            )
            .is_ok()
        })
        .map(str::to_string)
        .collect();
    if roles.is_empty() {
        return Ok(None);
    }
    let tally = gates::counted(spec, &members, &stored.initiator, &signoffs, &hash);
    Ok(Some(SignableGate {
        gate: step.id.clone(),
        title: step.title.clone(),
        roles,
        tally: describe(&step.id, &tally),
        since: release.steps[i].started_at,
    }))
}

/// `flightdeck releases --waiting-for-me`: running releases whose current
/// step is a gate this person may sign now (and in which roles).
pub async fn waiting_for_me(settings: &Settings) -> CmdResult {
    let store = session::open_store(settings).await?;
    let list = store.list_releases(500).await?;
    let mut found = 0;
    for r in list.iter().filter(|r| !r.status.is_final()) {
        let Some(stored) = store.load_release(&r.id).await? else {
            continue;
        };
        let Ok(loaded) = crate::runbook::load(&PathBuf::from(&stored.runbook_path)) else {
            continue;
        };
        let Some(g) = signable(&store, settings, &stored, &loaded).await? else {
            continue;
        };
        found += 1;
        super::out::say(format!(
            "{}  {} · {} · gate {} · you may sign as {} · {}",
            stored.id,
            stored.runbook_name,
            stored.environment,
            g.gate,
            g.roles.join(" or "),
            g.tally
        ));
        super::out::say(format!(
            "    flightdeck approve {} --gate {} --role {}   (inspect: flightdeck tui --release {})",
            stored.id, g.gate, g.roles[0], stored.id
        ));
    }
    if found == 0 {
        super::out::say(format!(
            "nothing is waiting for {} in {}",
            settings.person,
            store.target()
        ));
    }
    store.close().await;
    Ok(EXIT_OK)
}

/// Check every signed sign-off against `allowed_signers` in the config dir.
/// Prints one line per problem; returns the exit code to merge with the
/// audit verdict.
pub async fn verify_signatures(settings: &Settings, store: &Store) -> Result<i32, Failure> {
    let signed: Vec<_> = store
        .all_signoffs()
        .await?
        .into_iter()
        .filter(|s| s.signature.is_some())
        .collect();
    if signed.is_empty() {
        return Ok(EXIT_OK);
    }
    let allowed = settings.config_dir.join("allowed_signers");
    if !allowed.exists() {
        super::out::say(format!(
            "{} signed sign-offs NOT checked: no {} (OpenSSH allowed_signers: `person key-type key` per line)",
            signed.len(),
            allowed.display()
        ));
        return Ok(EXIT_FAILED);
    }
    let mut bad = 0;
    for s in &signed {
        let sig = s.signature.as_deref().unwrap_or_default();
        // Over the whole sign-off record; older signatures covered only
        // the approved hash.
        let record = signoff_record(&s.release_id, &s.signoff);
        let verdict = match super::team_sign::verify(&allowed, &s.signoff.person, sig, &record)
            .await
        {
            Ok(Err(_)) => {
                super::team_sign::verify(&allowed, &s.signoff.person, sig, &s.signoff.approved_hash)
                    .await
            }
            other => other,
        };
        match verdict {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                bad += 1;
                super::out::say(format!(
                    "signature BAD: {}'s sign-off of gate {} in release {}: {why}",
                    s.signoff.person, s.signoff.gate, s.release_id
                ));
            }
            Err(e) => return Err(Failure::failed(e)),
        }
    }
    if bad == 0 {
        super::out::say(format!("sign-off signatures valid: {}", signed.len()));
        Ok(EXIT_OK)
    } else {
        Ok(EXIT_FAILED)
    }
}
