//! Starting a release through the start form: from home, or `tui RUNBOOK`
//! when the inputs given do not suffice. The form's answer becomes the
//! same arguments `tui RUNBOOK --env E --set k=v --break-glass WHY` takes,
//! so the start itself (policy, journal, lease) is the one `tui` does.

use super::load;
use std::collections::BTreeMap;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;

use super::Failure;
use crate::app::start_form::{FormOutcome, StartForm, update};
use crate::cli::ReleaseArgs;
use crate::clock::now_ms;
use crate::runbook::Loaded;
use crate::settings::Settings;
use crate::terminal::TerminalGuard;

/// The form for `args.runbook` (its `--env`, `--set` and `--break-glass`
/// pre-filled): the arguments of the release it describes, or `None` when
/// the person left it (Esc).
pub async fn ask(settings: &Settings, args: ReleaseArgs) -> Result<Option<ReleaseArgs>, Failure> {
    let Some(path) = args.runbook.clone() else {
        return Err(Failure::invalid("name a runbook file"));
    };
    let loaded = load::load_runbook(&path)?;
    let given = load::parse_sets(&args.inputs)?;
    let passed = passed_inputs(settings, &loaded).await?;
    let mut form = StartForm::new(
        &loaded.runbook,
        path.clone(),
        args.environment.as_deref(),
        &given,
        passed,
        now_ms(),
    );
    if let Some(g) = &args.break_glass {
        form.break_glass = g.clone();
    }
    match fill(&mut form).await? {
        FormOutcome::Cancel => Ok(None),
        FormOutcome::Start {
            environment,
            inputs,
            break_glass,
        } => {
            let args = ReleaseArgs {
                watch: false,
                runbook: Some(path),
                environment: Some(environment),
                inputs: inputs
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                resume: false,
                release: None,
                new: true,
                break_glass,
                kube: args.kube,
            };
            Ok(Some(args))
        }
    }
}

/// Whether `tui` with these arguments would start a new release whose
/// inputs do not resolve (missing or invalid): then the form asks instead
/// of the error.
pub async fn wanted(settings: &Settings, args: &ReleaseArgs) -> Result<bool, Failure> {
    let Some(path) = &args.runbook else {
        return Ok(false);
    };
    if args.release.is_some() || args.resume {
        return Ok(false);
    }
    let loaded = load::load_runbook(path)?;
    let given = load::parse_sets(&args.inputs)?;
    if crate::runbook::inputs::resolve(&loaded.runbook, &given).is_ok() {
        return Ok(false);
    }
    if args.new {
        return Ok(true);
    }
    // An unfinished release of it is reopened with its own inputs.
    let env = args.environment.clone().unwrap_or_else(|| {
        loaded
            .runbook
            .environments
            .first()
            .map_or_else(|| "default".into(), |e| e.name.clone())
    });
    let store = load::open_store(settings).await?;
    let open = store
        .latest_open_release(&loaded.runbook.name, &env)
        .await?;
    store.close().await;
    Ok(open.is_none())
}

/// Per environment, the inputs of each release that passed where its
/// `requires` points.
type PassedInputs = BTreeMap<String, Vec<BTreeMap<String, String>>>;

/// For each environment with `requires`, the inputs of the releases that
/// succeeded where it points (the start's own policy check reads the same).
async fn passed_inputs(settings: &Settings, loaded: &Loaded) -> Result<PassedInputs, Failure> {
    let mut out = BTreeMap::new();
    let with_requires: Vec<_> = loaded
        .runbook
        .environments
        .iter()
        .filter_map(|e| {
            e.policy
                .requires
                .as_ref()
                .map(|r| (e.name.clone(), r.passed.clone()))
        })
        .collect();
    if with_requires.is_empty() {
        return Ok(out);
    }
    let store = load::open_store(settings).await?;
    for (env, passed) in with_requires {
        out.insert(
            env,
            store
                .succeeded_inputs(&loaded.content_hash, &passed)
                .await?,
        );
    }
    store.close().await;
    Ok(out)
}

/// Run the form in the terminal until it starts or is cancelled.
async fn fill(form: &mut StartForm) -> Result<FormOutcome, Failure> {
    let mut guard =
        TerminalGuard::enter().map_err(|e| Failure::terminal("cannot open the terminal", e))?;
    let mut input = EventStream::new();
    let mut signals = crate::signals::shutdown_stream();
    let mut tick = tokio::time::interval(Duration::from_secs(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if let Some(o) = form.outcome.clone() {
            return Ok(o);
        }
        if form.dirty {
            guard
                .terminal
                .draw(|f| crate::ui::start_form::render(form, f))
                .map_err(|e| Failure::terminal("terminal", e))?;
            form.dirty = false;
        }
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => update(form, k),
                Some(Ok(TermEvent::Resize(..))) => form.dirty = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(FormOutcome::Cancel),
            },
            _ = signals.next() => return Ok(FormOutcome::Cancel),
            // Windows open and close with the clock.
            _ = tick.tick() => crate::app::start_form::tick(form, now_ms()),
        }
    }
}
