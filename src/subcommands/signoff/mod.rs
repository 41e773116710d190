//! Sign-offs away from the driver's keyboard: `flightdeck approve|reject
//! RELEASE --gate G --role R` (the two decisions of a sign-off), the one
//! record path the screen shares (`record`), `releases --waiting-for-me`
//! (`waiting`), and SSH signatures of sign-offs (`signature`, checked by
//! `verify`).

mod error;
mod record;
mod rules;
pub mod signature;
mod verify;
mod waiting;

use crate::subcommands::load;
use std::path::PathBuf;

pub use self::error::SignoffError;
pub use self::record::{Recording, describe};
pub use self::rules::GateNow;
pub use self::verify::verify_signatures;
pub use self::waiting::{signable, waiting_for_me};
use super::{CmdResult, EXIT_OK, Failure};
use crate::backend::store::StoredRelease;
use crate::clock::now_ms;
use crate::runbook::gates::{self, Decision, Signoff};
use crate::runbook::progress::StepStatus;
use crate::runbook::{GateSpec, Runbook, StepAction};
use crate::settings::Settings;

/// The gate `gate` of `rb`, or why there is none.
pub fn gate_of<'a>(rb: &'a Runbook, gate: &str) -> Result<&'a GateSpec, SignoffError> {
    let gates = || {
        rb.steps()
            .filter(|s| matches!(s.action, StepAction::Gate(_)))
            .map(|s| s.id.clone())
            .collect()
    };
    let step = rb
        .steps()
        .find(|s| s.id == gate)
        .ok_or_else(|| SignoffError::NoStep {
            runbook: rb.name.clone(),
            gate: gate.to_string(),
            gates: gates(),
        })?;
    match &step.action {
        StepAction::Gate(spec) => Ok(spec),
        other => Err(SignoffError::NotAGate {
            gate: gate.to_string(),
            kind: other.kind_name(),
            gates: gates(),
        }),
    }
}

/// A gate the release has passed, skipped or failed takes no sign-off (it
/// would change nothing); one not reached yet does, with a note.
fn gate_open(rb: &Runbook, stored: &StoredRelease, gate: &str) -> Result<(), SignoffError> {
    let release = crate::backend::store::rebuild(rb, stored);
    let Some(status) = rb
        .steps()
        .position(|s| s.id == gate)
        .and_then(|i| release.steps.get(i))
        .map(|s| &s.status)
    else {
        return Ok(());
    };
    match status {
        StepStatus::Succeeded | StepStatus::Skipped { .. } | StepStatus::Failed { .. } => {
            Err(SignoffError::GateDecided {
                release: stored.id.clone(),
                gate: gate.to_string(),
                status: status.as_str(),
            })
        }
        StepStatus::Pending => {
            let at = release
                .current(rb)
                .and_then(|i| rb.step(i))
                .map(|s| s.id.as_str())
                .unwrap_or("?");
            super::out::warn(format!(
                "note: gate {gate} is not waiting yet (the release is at step {at}); \
                 this sign-off counts when it is reached, if the content is the same"
            ));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `flightdeck approve|reject`: sign off gate `args.gate` with `decision`.
pub async fn run(settings: &Settings, args: crate::cli::SignArgs, decision: Decision) -> CmdResult {
    crate::sanitize::refuse_controls("--comment", &args.comment)?;
    let store = load::open_store(settings).await?;
    let stored = load::stored_release(&store, &args.release).await?;
    if stored.status.is_final() {
        return Err(Failure::failed(format!(
            "release {} has already {}",
            stored.id,
            stored.status.as_str()
        ))
        .suggest("a finished release takes no more sign-offs; `flightdeck releases --waiting-for-me` lists what waits"));
    }
    let loaded = load::load_runbook(&PathBuf::from(&stored.runbook_path))?;
    let spec = gate_of(&loaded.runbook, &args.gate)?;
    gate_open(&loaded.runbook, &stored, &args.gate)?;
    // Bound to what the driver sees now: the runbook file as it is, the
    // release's environment and journaled inputs.
    let content = super::content::approver_content(&store, &stored, &loaded).await?;
    let hash = content.hash();
    if let Some(warning) = super::content::drift(&store, &stored, &content).await? {
        super::out::warn(format!("warning: {warning}"));
    }
    let signoffs: Vec<Signoff> = stored
        .signoffs
        .iter()
        .filter(|s| s.gate == args.gate)
        .cloned()
        .collect();
    let members = gates::members(&loaded.runbook.roles, &settings.roles);
    let allowed = super::identity::allowed_signers(settings);
    let recording = Recording {
        store: &store,
        release_id: &stored.id,
        spec,
        members: &members,
        hash: &hash,
        mode: loaded
            .runbook
            .identity_mode(&stored.environment, &args.gate),
        ssh_key: settings.ssh_key.as_deref(),
        allowed_signers: &allowed,
    };
    let mut signoff = Signoff {
        gate: args.gate.clone(),
        person: settings.person.clone(),
        host: settings.host.clone(),
        role: args.role.clone(),
        decision,
        comment: args.comment.trim().to_string(),
        approved_hash: hash.clone(),
        at: now_ms(),
    };
    let signature = recording.bind(&mut signoff).await?;
    // Checked here first for a message that names the identity; the store
    // decides again on the audit log.
    GateNow {
        spec,
        members: &members,
        signoffs: &signoffs,
        hash: &hash,
        initiator: &stored.initiator,
    }
    .may_sign(&signoff.person, &args.role, decision, &args.comment)
    .map_err(|refusal| SignoffError::NotAllowed {
        refusal,
        mode: recording.mode,
        person: signoff.person.clone(),
        members: members.get(&args.role).cloned().unwrap_or_default(),
    })?;
    let tally = recording.record(&signoff, signature.as_deref()).await?;
    store.close().await;
    super::out::say(format!(
        "{} {} gate {} of release {} as {} (approved hash {}…, runbook {}, {}, inputs: {})",
        signoff.person,
        decision.done(),
        args.gate,
        stored.id,
        args.role,
        &hash[..16],
        loaded.runbook.name,
        stored.environment,
        stored
            .inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if !content.files.is_empty() {
        super::out::say(format!(
            "covers {} referenced file(s): {}",
            content.files.len(),
            content.files.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(c) = &content.cluster {
        super::out::say(format!(
            "cluster: context {} namespace {} at {}",
            c.context, c.namespace, c.server
        ));
    }
    super::out::say(describe(&args.gate, &tally));
    if signature.is_some() {
        super::out::say("signed with your SSH key (flightdeck verify checks it)");
    }
    Ok(EXIT_OK)
}
