//! Opening a release for `tui` and `run`: a new one, or the unfinished one
//! this runbook left behind (shown with its interrupted steps).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::Failure;
use crate::app::setup::Setup;
use crate::app::state::{AppState, Identity, Level};
use crate::backend::store::{self, Store};
use crate::cli::ReleaseArgs;
use crate::clock::now_ms;
use crate::protocol::command::JournalEntry;
use crate::protocol::output::OutputBuffer;
use crate::protocol::output::Stream;
use crate::runbook::progress::Release;
use crate::runbook::{self, Loaded};
use crate::settings::Settings;

pub struct Opened {
    pub state: AppState,
    pub store: Store,
    pub resumed: bool,
}

pub fn new_release_id(now_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    format!(
        "r{}-{:04x}",
        t.format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

/// Asks a person for a secret input on resume: `(release, input name, why
/// the last answer was refused)` -> the value, or None when they gave up.
pub type AskSecret<'a> = &'a mut dyn FnMut(&str, &str, Option<&str>) -> Option<String>;

pub async fn open(
    settings: &Settings,
    args: &ReleaseArgs,
    headless: bool,
    acks: Vec<String>,
) -> Result<Opened, Failure> {
    open_with(settings, args, headless, acks, None).await
}

/// `open`, with a way to ask for secret inputs a resumed release needs
/// (the TUI's prompt); without one they come from `--set NAME=...` or
/// `FLIGHTDECK_SECRET_<NAME>`.
pub async fn open_with(
    settings: &Settings,
    args: &ReleaseArgs,
    headless: bool,
    acks: Vec<String>,
    ask: Option<AskSecret<'_>>,
) -> Result<Opened, Failure> {
    let store = super::load::open_store(settings).await?;
    let now = now_ms();
    // Which release: named, the latest unfinished one, or a new one.
    let mut resume_id = args.release.clone();
    let mut loaded = match &args.runbook {
        Some(p) => Some(super::load::load_runbook(p)?),
        None => None,
    };
    if resume_id.is_none() && !args.new {
        match &loaded {
            Some(l) => {
                let env = super::load::pick_environment(l, args.environment.as_deref())?;
                resume_id = store.latest_open_release(&l.runbook.name, &env).await?;
            }
            None if args.resume => {
                // The newest release, if it is unfinished.
                let latest = store.latest_release().await?;
                if let Some(id) = &latest
                    && let Some(r) = store.load_release(id).await?
                    && !r.status.is_final()
                {
                    resume_id = latest;
                }
                if resume_id.is_none() {
                    return Err(Failure::invalid("no unfinished release to resume").suggest(
                        "`flightdeck releases` lists the releases; name a runbook file to start a new one",
                    ));
                }
            }
            None => {
                return Err(Failure::invalid(
                    "name a runbook file, or use --resume / --release ID",
                )
                .suggest("`flightdeck` alone lists the runbooks and releases to pick from"));
            }
        }
    }
    let identity = Identity {
        person: settings.person.clone(),
        host: settings.host.clone(),
    };
    let mut notices = Vec::new();
    let mut sealed = BTreeMap::new();
    let (release, outputs, loaded, resumed) = if let Some(id) = resume_id {
        let mut stored = super::load::stored_release(&store, &id).await?;
        let mut l = match loaded.take() {
            Some(l) => l,
            None => super::load::load_runbook(&PathBuf::from(&stored.runbook_path))?,
        };
        // Signed and database gates count only sign-offs with their evidence.
        stored.signoffs = super::identity::admissible(
            &store,
            &super::identity::allowed_signers(settings),
            &l.runbook,
            &stored.opened.environment,
            &stored.id,
            std::mem::take(&mut stored.signoffs),
        )
        .await;
        if l.content_hash != stored.runbook_hash {
            notices.push(
                "the runbook changed since this release started: earlier sign-offs no longer count"
                    .to_string(),
            );
        }
        let given = super::load::parse_sets(&args.inputs)?;
        let sealed_kept = |k: &str| {
            l.runbook.inputs.iter().any(|i| i.secret && i.name == k)
                || stored
                    .inputs
                    .get(k)
                    .is_some_and(|v| crate::runbook::secrets::is_sealed(v))
        };
        if given
            .iter()
            .any(|(k, v)| !sealed_kept(k) && stored.inputs.get(k) != Some(v))
        {
            notices.push("resuming with the release's original inputs; --set values were ignored (use --new for a new release)".into());
        }
        let mut release = store::rebuild(&l.runbook, &stored);
        // The journal holds secret inputs sealed: ask for each again and
        // check it before anything runs.
        let mut ask = ask;
        for spec in &l.runbook.inputs {
            let Some(kept) = stored.inputs.get(&spec.name) else {
                continue;
            };
            if !spec.secret && !crate::runbook::secrets::is_sealed(kept) {
                continue;
            }
            let value = secret_again(&id, spec, kept, &given, &mut ask, &mut notices)?;
            release.inputs.insert(spec.name.clone(), value);
            sealed.insert(spec.name.clone(), kept.clone());
        }
        release.runbook_hash = l.content_hash.clone();
        l.runbook = for_release(
            &l,
            &release.environment,
            &release.inputs,
            &release.initiator,
        )?;
        let outputs = store::step_outputs(&l.runbook, &stored)
            .into_iter()
            .map(|lines| {
                let mut b = OutputBuffer::default();
                for line in lines {
                    b.push(Stream::Stdout, line);
                }
                b
            })
            .collect();
        (release, outputs, l, true)
    } else {
        let mut l = loaded
            .take()
            .ok_or_else(|| Failure::invalid("name a runbook file"))?;
        let env = super::load::pick_environment(&l, args.environment.as_deref())?;
        let inputs = super::load::resolve_inputs(&l, &args.inputs)?;
        let id = new_release_id(now);
        // Signed or database gates: the initiator is named as strongly as
        // their approvers, so they cannot approve under another name.
        let initiator = super::identity::initiator(settings, &store, &l, &id, &env).await?;
        // Inputs are final: `${...}` in durations and thresholds resolve now
        // or the release does not start.
        l.runbook = for_release(&l, &env, &inputs, &initiator)?;
        let release = Release::new(
            id,
            &l.runbook,
            l.content_hash.clone(),
            env,
            inputs,
            initiator,
            now,
        );
        let mut journaled = release.clone();
        // Secret inputs never reach the journal: a salted hash stands in.
        sealed = crate::app::secrets::seal_inputs(
            &l.runbook,
            &release.inputs,
            &crate::app::secrets::new_salt(),
        );
        journaled.inputs = crate::app::state::journaled_inputs(&release.inputs, &sealed);
        let path = std::fs::canonicalize(&l.path).unwrap_or_else(|_| l.path.clone());
        // Environment policy: earlier environment passed, windows, freezes.
        let glass =
            super::team::check_policy(&store, &l, &release, args.break_glass.as_deref()).await?;
        store
            .apply(
                &JournalEntry::ReleaseStarted {
                    release: Box::new(journaled),
                    runbook_path: path.display().to_string(),
                },
                &settings.person,
                &settings.host,
            )
            .await?;
        super::team::record_break_glass(&store, settings, &release.id, glass).await?;
        (release, Vec::new(), l, false)
    };
    let mut state = AppState::new(Setup {
        runbook: loaded.runbook,
        runbook_path: loaded.path.display().to_string(),
        release,
        identity,
        process_env: std::env::vars().collect(),
        flightdeck_bin: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "flightdeck".into()),
        keymap: settings.keymap.clone(),
        acks: acks.into_iter().collect::<BTreeSet<_>>(),
        outputs,
        now,
    });
    state.values.sealed_inputs = sealed;
    // The unsealed values are known now: mask them everywhere.
    state.values.secrets = crate::app::secrets::release_secrets(&state);
    crate::logging::mask_secrets(&state.values.secrets);
    for n in notices {
        state.notify(Level::Warn, n);
    }
    super::wiring::attach_cluster(&mut state, &args.kube);
    record_content(&store, settings, &mut state, resumed).await?;
    if resumed {
        super::lingering::find(&store, &mut state).await;
    }
    // The deploy lock: drive (holding the lease) or watch.
    super::team::claim(&store, settings, &mut state, headless, args.watch).await?;
    Ok(Opened {
        state,
        store,
        resumed,
    })
}

/// Sign-offs bind to the content as read now (runbook, referenced files,
/// environment and cluster, inputs). A new release records it, so
/// approvers elsewhere bind to the same cluster; a resumed one loads what
/// it recorded, to name what changed when a gate's content no longer holds.
async fn record_content(
    store: &Store,
    settings: &Settings,
    state: &mut AppState,
    resumed: bool,
) -> Result<(), Failure> {
    let req = crate::app::content::request(state);
    let manifest = tokio::task::spawn_blocking(move || crate::backend::content::read(&req))
        .await
        .map_err(|e| Failure::failed(format!("reading the release's content: {e}")))?;
    let history: Vec<_> = store
        .content_records(&state.release.id)
        .await?
        .into_iter()
        .filter_map(|r| r.manifest)
        .collect();
    if !resumed {
        store
            .apply(
                &JournalEntry::ContentChanged {
                    release_id: state.release.id.clone(),
                    old_hash: None,
                    new_hash: manifest.hash(),
                    changed: Vec::new(),
                    manifest: manifest.clone(),
                    at: now_ms(),
                },
                &settings.person,
                &settings.host,
            )
            .await?;
    }
    crate::app::content::set_current(state, manifest, history);
    Ok(())
}

/// The value of a secret input for a resumed release: from `--set`, from
/// `FLIGHTDECK_SECRET_<NAME>`, or asked for; checked against the salted
/// hash the journal keeps. A mismatch is an error and nothing runs.
fn secret_again(
    release: &str,
    spec: &crate::runbook::InputSpec,
    kept: &str,
    given: &BTreeMap<String, String>,
    ask: &mut Option<AskSecret<'_>>,
    notices: &mut Vec<String>,
) -> Result<String, Failure> {
    use crate::runbook::secrets::{is_sealed, matches_sealed};
    let name = spec.name.as_str();
    let var = crate::app::secrets::secret_env_var(name);
    let legacy = !is_sealed(kept);
    let check = |v: &str| legacy || matches_sealed(kept, v);
    // The runbook's default, when the release started with it, needs no one.
    let offered = given
        .get(name)
        .cloned()
        .or_else(|| std::env::var(&var).ok().filter(|v| !v.is_empty()))
        .or_else(|| spec.default.clone().filter(|d| !legacy && check(d)));
    let refused = |how: &str| {
        Failure::invalid(format!(
            "release {release}: the secret input {name:?} {how} does not match the one the release started with; nothing was run"
        ))
    };
    let value = match (offered, ask.as_mut()) {
        (Some(v), _) if check(&v) => v,
        (Some(_), _) => return Err(refused(&format!("given (--set {name}=... or {var})"))),
        (None, Some(ask)) => {
            let mut why = None;
            let mut tries = 0;
            loop {
                let Some(v) = ask(release, name, why) else {
                    return Err(Failure::invalid(format!(
                        "release {release}: the secret input {name:?} is needed to resume; nothing was run"
                    )));
                };
                if check(&v) {
                    break v;
                }
                tries += 1;
                if tries == 3 {
                    return Err(refused("typed"));
                }
                why = Some("that is not the value this release started with");
            }
        }
        (None, None) => {
            return Err(Failure::invalid(format!(
                "release {release} needs its secret input {name:?} again to resume: pass --set {name}=... or set {var}; nothing was run"
            )));
        }
    };
    if legacy {
        notices.push(format!(
            "the secret input {name:?} could not be checked (journaled before salted hashes)"
        ));
    }
    Ok(value)
}

/// The runbook parsed again with the release's values (`${...}` in
/// durations, counts and thresholds); a bad value refuses the release with
/// the same file:line:column: field error as validating the file.
pub(super) fn for_release(
    l: &Loaded,
    environment: &str,
    inputs: &BTreeMap<String, String>,
    initiator: &str,
) -> Result<runbook::Runbook, Failure> {
    let mut scope = runbook::interpolate::Scope {
        inputs: inputs.clone(),
        env: std::env::vars().collect(),
        ..Default::default()
    };
    if let Some(e) = l.runbook.environment(environment) {
        scope.env.extend(e.vars.clone());
    }
    for (k, v) in [
        ("env", environment),
        ("runbook", l.runbook.name.as_str()),
        ("initiator", initiator),
    ] {
        scope.release.insert(k.into(), v.to_string());
    }
    runbook::for_release(l, &scope).map_err(|e| Failure::invalid(e.to_string()))
}
