//! Opening a release for `tui` and `run`: a new one, or the unfinished one
//! this runbook left behind (shown with its interrupted steps).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Failure;
use crate::app::command::JournalEntry;
use crate::app::msg::Stream;
use crate::app::output::OutputBuffer;
use crate::app::setup::Setup;
use crate::app::state::{AppState, Identity, Level};
use crate::backend::store::{self, AuditKey, Store};
use crate::cli::ReleaseArgs;
use crate::event_loop::now_ms;
use crate::runbook::progress::Release;
use crate::runbook::{self, Loaded};
use crate::settings::Settings;

pub struct Opened {
    pub state: AppState,
    pub store: Store,
    pub resumed: bool,
}

pub async fn open_store(settings: &Settings) -> Result<Store, Failure> {
    let key = AuditKey::load_or_create(&settings.audit_key_path)?;
    Ok(Store::open(&settings.journal, key).await?)
}

pub fn load_runbook(path: &Path) -> Result<Loaded, Failure> {
    runbook::load(path).map_err(|e| Failure::invalid(e.to_string()))
}

pub fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for s in sets {
        let Some((k, v)) = s.split_once('=') else {
            return Err(Failure::invalid(format!(
                "--set {s:?}: expected NAME=VALUE"
            )));
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

fn pick_environment(loaded: &Loaded, wanted: Option<&str>) -> Result<String, Failure> {
    let rb = &loaded.runbook;
    match wanted {
        Some(name) if rb.environments.is_empty() || rb.environment(name).is_some() => {
            Ok(name.to_string())
        }
        Some(name) => Err(Failure::invalid(format!(
            "{}: no environment {name:?} (this runbook has: {})",
            loaded.path.display(),
            rb.environments
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => Ok(rb
            .environments
            .first()
            .map(|e| e.name.clone())
            .unwrap_or_else(|| "default".into())),
    }
}

pub fn new_release_id(now_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    format!(
        "r{}-{:04x}",
        t.format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

pub async fn open(
    settings: &Settings,
    args: &ReleaseArgs,
    headless: bool,
    acks: Vec<String>,
) -> Result<Opened, Failure> {
    let store = open_store(settings).await?;
    let now = now_ms();
    // Which release: named, the latest unfinished one, or a new one.
    let mut resume_id = args.release.clone();
    let mut loaded = match &args.runbook {
        Some(p) => Some(load_runbook(p)?),
        None => None,
    };
    if resume_id.is_none() && !args.new {
        match &loaded {
            Some(l) => {
                let env = pick_environment(l, args.environment.as_deref())?;
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
                    return Err(Failure::invalid("no unfinished release to resume"));
                }
            }
            None => {
                return Err(Failure::invalid(
                    "name a runbook file, or use --resume / --release ID",
                ));
            }
        }
    }
    let identity = Identity {
        person: settings.person.clone(),
        host: settings.host.clone(),
    };
    let mut notices = Vec::new();
    let (release, outputs, loaded, resumed) = if let Some(id) = resume_id {
        let mut stored = store
            .load_release(&id)
            .await?
            .ok_or_else(|| Failure::invalid(format!("no release {id:?} in the journal")))?;
        let l = match loaded.take() {
            Some(l) => l,
            None => load_runbook(&PathBuf::from(&stored.runbook_path))?,
        };
        // Signed and database gates count only sign-offs with their evidence.
        stored.signoffs = super::identity::admissible(
            &store,
            &super::identity::allowed_signers(settings),
            &l.runbook,
            &stored.environment,
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
        let given = parse_sets(&args.inputs)?;
        if given.iter().any(|(k, v)| stored.inputs.get(k) != Some(v)) {
            notices.push("resuming with the release's original inputs; --set values were ignored (use --new for a new release)".into());
        }
        let mut release = store::rebuild(&l.runbook, &stored);
        release.runbook_hash = l.content_hash.clone();
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
        let l = loaded
            .take()
            .ok_or_else(|| Failure::invalid("name a runbook file"))?;
        let env = pick_environment(&l, args.environment.as_deref())?;
        let given = parse_sets(&args.inputs)?;
        let inputs = runbook::inputs::resolve(&l.runbook, &given).map_err(|errs| {
            Failure::invalid(
                errs.iter()
                    .map(|e| format!("{}: {e}", l.path.display()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let id = new_release_id(now);
        // Signed or database gates: the initiator is named as strongly as
        // their approvers, so they cannot approve under another name.
        let initiator = super::identity::initiator(settings, &store, &l, &id, &env).await?;
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
        // Secret inputs never reach the journal.
        journaled.inputs = crate::app::setup::journaled_inputs(&l.runbook, &release.inputs);
        let path = std::fs::canonicalize(&l.path).unwrap_or_else(|_| l.path.clone());
        // Environment policy: earlier environment passed, windows, freezes.
        let glass =
            super::team::check_policy(&store, &l, &journaled, args.break_glass.as_deref()).await?;
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
        headless,
        acks: acks.into_iter().collect::<BTreeSet<_>>(),
        outputs,
        now,
    });
    for n in notices {
        state.notify(Level::Warn, n);
    }
    crate::backend::kube::client::attach(&mut state, &args.kube);
    record_content(&store, settings, &mut state, resumed).await?;
    // The deploy lock: drive (holding the lease) or watch.
    super::team::claim(&store, settings, &mut state, headless).await?;
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
