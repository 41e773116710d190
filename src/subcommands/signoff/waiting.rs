//! `releases --waiting-for-me` and the home screen's list: the gates a
//! person may sign now, by the gate tally's own rules.

use crate::subcommands::load;
use std::path::PathBuf;

use super::{GateNow, describe};
use crate::backend::store::Store;
use crate::runbook::StepAction;
use crate::runbook::gates::{self, Decision};
use crate::runbook::progress::StepStatus;
use crate::settings::Settings;
use crate::subcommands::{CmdResult, EXIT_OK, Failure, content, out};

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
    let (Some(step), Some(run)) = (rb.step(i), release.steps.get(i)) else {
        return Ok(None);
    };
    let StepAction::Gate(spec) = &step.action else {
        return Ok(None);
    };
    if run.status != StepStatus::Waiting {
        return Ok(None);
    }
    // The same hash the driver binds sign-offs to (migration plans included).
    let hash = content::approver_content(store, stored, loaded)
        .await?
        .hash();
    let signoffs = release.signoffs_for(&step.id);
    let members = gates::members(&rb.roles, &settings.roles);
    let now = GateNow {
        spec,
        members: &members,
        signoffs: &signoffs,
        hash: &hash,
        initiator: &stored.initiator,
    };
    let roles: Vec<String> = spec
        .roles
        .iter()
        .map(|(role, _)| role.as_str())
        .filter(|role| {
            now.may_sign(&settings.person, role, Decision::Approve, "")
                .is_ok()
        })
        .map(str::to_string)
        .collect();
    if roles.is_empty() {
        return Ok(None);
    }
    let tally = now.tally();
    Ok(Some(SignableGate {
        gate: step.id.clone(),
        title: step.title.clone(),
        roles,
        tally: describe(&step.id, &tally),
        since: run.started_at,
    }))
}

/// `flightdeck releases --waiting-for-me`: running releases whose current
/// step is a gate this person may sign now (and in which roles).
pub async fn waiting_for_me(settings: &Settings) -> CmdResult {
    let store = load::open_store(settings).await?;
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
        out::say(format!(
            "{}  {} · {} · gate {} · you may sign as {} · {}",
            stored.id,
            stored.runbook_name,
            stored.environment,
            g.gate,
            g.roles.join(" or "),
            g.tally
        ));
        out::say(format!(
            "    flightdeck approve {} --gate {} --role {}   (inspect: flightdeck tui --release {})",
            stored.id, g.gate, g.roles[0], stored.id
        ));
    }
    if found == 0 {
        out::say(format!(
            "nothing is waiting for {} in {}",
            settings.person,
            store.target()
        ));
    }
    store.close().await;
    Ok(EXIT_OK)
}
