//! What most commands read first: the journal (with its audit key), a
//! runbook file, `--set` inputs, a release the journal holds. Each failure
//! says what to do about it.

use std::collections::BTreeMap;
use std::path::Path;

use super::Failure;
use crate::backend::store::{AuditKey, Store, StoredRelease};
use crate::runbook::{self, Loaded};
use crate::settings::Settings;

/// Open the journal with the audit key. Only a first run, on a journal
/// with no audit entry yet, creates the key: with entries and no key file,
/// a new key would silently re-sign history, so this stops instead (exit 2).
/// The store keeps this machine's witness of the journal's head.
pub async fn open_store(settings: &Settings) -> Result<Store, Failure> {
    let path = &settings.audit_key_path;
    let store = match AuditKey::load(path)? {
        Some(key) => Store::open(&settings.journal, key).await?,
        None => {
            // A throwaway key only to look; it never signs anything.
            let probe =
                Store::open(&settings.journal, AuditKey::from_bytes(rand::random())).await?;
            if probe.has_entries().await? {
                probe.close().await;
                return Err(Failure::invalid(format!(
                    "the audit key {} is missing, but the journal at {} already has audit entries. \
                     flightdeck will not create a new key for an existing journal (everything would \
                     then verify against the wrong key).",
                    path.display(),
                    crate::backend::store::redact(&settings.journal)
                ))
                .suggest(
                    "restore the key file from your backup, or point FLIGHTDECK_AUDIT_KEY_FILE \
                     (or `audit_key` in flightdeck.toml) at your team's key",
                ));
            }
            probe.with_key(AuditKey::load_or_create(path)?)
        }
    };
    let store = store.with_witness(&settings.state_dir);
    if let Some(finding) = store.observe_head().await? {
        super::out::warn(format!(
            "flightdeck: WARNING: {finding}; run `flightdeck verify`"
        ));
    }
    Ok(store)
}

pub fn load_runbook(path: &Path) -> Result<Loaded, Failure> {
    runbook::load(path).map_err(|e| {
        Failure::invalid(e.to_string()).suggest(format!(
            "fix the line and field named above; `flightdeck validate {}` checks the whole file",
            path.display()
        ))
    })
}

/// Input values by name, as `--set NAME=VALUE` gives them.
pub type Inputs = BTreeMap<String, String>;

pub fn parse_sets(sets: &[String]) -> Result<Inputs, Failure> {
    let mut out = BTreeMap::new();
    for s in sets {
        let Some((k, v)) = s.split_once('=') else {
            return Err(
                Failure::invalid(format!("--set {s:?}: expected NAME=VALUE"))
                    .suggest("give each input as --set NAME=VALUE"),
            );
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// The `--set` inputs checked against the runbook's, defaults filled in;
/// every problem named with the runbook's file.
pub fn resolve_inputs(loaded: &Loaded, sets: &[String]) -> Result<Inputs, Failure> {
    let given = parse_sets(sets)?;
    runbook::inputs::resolve(&loaded.runbook, &given).map_err(|errs| {
        Failure::invalid(
            errs.iter()
                .map(|e| format!("{}: {e}", loaded.path.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .suggest(format!(
            "`inputs:` in {} gives each input's type, pattern and default; \
             pass each as --set NAME=VALUE",
            loaded.path.display()
        ))
    })
}

/// Release `id` as the journal's audit log folds it.
pub async fn stored_release(store: &Store, id: &str) -> Result<StoredRelease, Failure> {
    store.load_release(id).await?.ok_or_else(|| {
        Failure::invalid(format!("no release {id:?} in the journal")).suggest(format!(
            "`flightdeck releases` lists the releases in {} (--journal or FLIGHTDECK_JOURNAL picks another)",
            store.target()
        ))
    })
}

pub fn pick_environment(loaded: &Loaded, wanted: Option<&str>) -> Result<String, Failure> {
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
        ))
        .suggest("pick one of the environments listed, with --env")),
        None => Ok(rb
            .environments
            .first()
            .map(|e| e.name.clone())
            .unwrap_or_else(|| "default".into())),
    }
}
