//! `flightdeck approve|reject RELEASE --gate G --role R`: sign off from any terminal.

use std::path::PathBuf;

use super::{CmdResult, EXIT_OK, Failure, session};
use crate::clock::now_ms;
use crate::runbook::StepAction;
use crate::runbook::gates::{self, Decision, Signoff};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: crate::cli::SignArgs, decision: Decision) -> CmdResult {
    crate::sanitize::refuse_controls("--comment", &args.comment).map_err(Failure::invalid)?;
    let store = session::open_store(settings).await?;
    let stored = store
        .load_release(&args.release)
        .await?
        .ok_or_else(|| Failure::invalid(format!("no release {:?} in the journal", args.release)))?;
    if stored.status.is_final() {
        return Err(Failure::failed(format!(
            "release {} has already {}",
            stored.id,
            stored.status.as_str()
        )));
    }
    let loaded = session::load_runbook(&PathBuf::from(&stored.runbook_path))?;
    let step = loaded
        .runbook
        .steps()
        .find(|s| s.id == args.gate)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "runbook {} has no step {:?}",
                loaded.runbook.name, args.gate
            ))
        })?;
    let StepAction::Gate(spec) = &step.action else {
        return Err(Failure::invalid(format!(
            "step {:?} is a {}, not a gate",
            args.gate,
            step.action.kind_name()
        )));
    };
    // Bound to what the driver sees now: the runbook file as it is, the
    // release's environment and journaled inputs.
    let content = super::content::approver_content(&store, &stored, &loaded).await?;
    let hash = content.hash();
    if let Some(warning) = super::content::drift(&store, &stored, &content).await? {
        eprintln!("warning: {warning}");
    }
    let signoffs: Vec<Signoff> = stored
        .signoffs
        .iter()
        .filter(|s| s.gate == args.gate)
        .cloned()
        .collect();
    let members = gates::members(&loaded.runbook.roles, &settings.roles);
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
    // Signed or database identity names the person; FLIGHTDECK_USER cannot.
    let mode = loaded
        .runbook
        .identity_mode(&stored.environment, &args.gate);
    let signature = super::identity::bind_person(
        settings.ssh_key.as_deref(),
        &super::identity::allowed_signers(settings),
        &store,
        mode,
        &stored.id,
        &mut signoff,
    )
    .await
    .map_err(|e| Failure::failed(format!("refused: {e}")))?;
    gates::may_sign(
        spec,
        &members,
        &signoffs,
        &hash,
        &stored.initiator,
        &signoff.person,
        &args.role,
        decision,
        &args.comment,
    )
    .map_err(|r| {
        Failure::failed(format!(
            "refused: {r} ({} identity: {})",
            mode.as_str(),
            signoff.person
        ))
    })?;
    // Decided again in the store's write transaction: with many approvers
    // at once, only what the gate still needs is recorded.
    let tally = super::team_approve::record(
        &store, &stored.id, &signoff, signature, mode, spec, &members, &hash,
    )
    .await?;
    store.close().await;
    let verb = if decision == Decision::Approve {
        "signed off"
    } else {
        "rejected"
    };
    super::out::say(format!(
        "{} {verb} gate {} of release {} as {} (approved hash {}…, runbook {}, {}, inputs: {})",
        signoff.person,
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
    super::out::say(&tally);
    Ok(EXIT_OK)
}
