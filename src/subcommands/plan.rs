//! `flightdeck plan RUNBOOK [--env E] [--set k=v] [--format text|json]`:
//! what a release would do, before it starts: every step with its values
//! resolved (secrets masked), risky and irreversible steps, gates and who
//! may sign them, and what each step changes in the cluster and database,
//! read now, read-only. Works offline: what cannot be read says why.

use super::load;
use std::collections::BTreeSet;

use super::{CmdResult, EXIT_OK, Failure, out, session};
use crate::app::setup::Setup;
use crate::app::state::{AppState, Identity};
use crate::cli::{PlanArgs, PlanFormat};
use crate::runbook::plan::Plan;
use crate::runbook::progress::Release;
use crate::settings::Settings;

/// What `${release.id}` reads as in a plan made before the release exists.
const NEW_RELEASE: &str = "(new release)";

pub async fn run(settings: &Settings, args: PlanArgs) -> CmdResult {
    let plan = plan(settings, &args).await?;
    match args.format {
        PlanFormat::Text => {
            out::say(crate::runbook::plan_text::text(&plan));
        }
        PlanFormat::Json => {
            let json = serde_json::to_string_pretty(&plan)
                .map_err(|e| Failure::failed(format!("writing the plan: {e}")))?;
            out::say(json);
        }
    }
    Ok(EXIT_OK)
}

/// The plan of a release of `args.runbook` that is not started: the state
/// a release would open with, built the way `tui`/`run` build it.
pub async fn plan(settings: &Settings, args: &PlanArgs) -> Result<Plan, Failure> {
    let mut loaded = load::load_runbook(&args.runbook)?;
    let env = load::pick_environment(&loaded, args.environment.as_deref())?;
    let inputs = load::resolve_inputs(&loaded, &args.inputs)?;
    loaded.runbook = session::for_release(&loaded, &env, &inputs, &settings.person)?;
    let now = crate::clock::now_ms();
    let release = Release::new(
        NEW_RELEASE.to_string(),
        &loaded.runbook,
        loaded.content_hash.clone(),
        env,
        inputs,
        settings.person.clone(),
        now,
    );
    let mut state = AppState::new(Setup {
        runbook: loaded.runbook,
        runbook_path: loaded.path.display().to_string(),
        release,
        identity: Identity {
            person: settings.person.clone(),
            host: settings.host.clone(),
        },
        process_env: std::env::vars().collect(),
        flightdeck_bin: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "flightdeck".into()),
        keymap: settings.keymap.clone(),
        acks: BTreeSet::new(),
        outputs: Vec::new(),
        now,
    });
    super::wiring::attach_cluster(&mut state, &args.kube);
    let request = crate::app::content::request(&state);
    let manifest = tokio::task::spawn_blocking(move || crate::backend::content::read(&request))
        .await
        .map_err(|e| Failure::failed(format!("reading the content: {e}")))?;
    crate::app::content::set_current(&mut state, manifest, Vec::new());
    let mut plan = crate::app::plan::build(&state);
    plan.release = None;
    if let Some(crate::protocol::command::Command::ReadPlan { targets, cluster }) =
        crate::app::plan::read_command(&state, &plan)
    {
        for (i, slot) in crate::backend::plan::read(&targets, cluster).await {
            plan.fill(i, slot, &|s: &str| state.values.secrets.mask(s));
        }
    }
    if state.runbook.inputs.iter().any(|i| i.secret) {
        // A release seals secret inputs with its own salt: its hash is
        // its own; this one shows the rest of what is bound.
        plan.notes.push(
            "secret inputs are sealed with a salt of each release's own: a started release's content hash differs from this one".into(),
        );
    }
    Ok(plan)
}
