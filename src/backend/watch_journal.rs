//! `flightdeck watch`'s look at the journal: the unfinished releases and
//! the Deployments their runbooks' kube steps touch, re-read every few
//! seconds (only the entries written since). Read-only; a journal that is
//! missing, keyless or older leaves one line of explanation and no rows.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::backend::store::readonly::{JournalReader, RecordedContent, open_read_only};
use crate::protocol::watch::WatchEvent;
use crate::runbook::interpolate::Scope;
use crate::runbook::record::ReleaseRecord;
use crate::runbook::touching::{self, TouchingRelease};
use crate::runbook::{self, Runbook};

/// The journal is read again this often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(3);

/// Where the journal is and which cluster `watch` looks at.
#[derive(Debug, Clone)]
pub struct JournalSource {
    pub target: String,
    pub key_path: PathBuf,
    /// The API server URL of the watched context: releases recorded on
    /// another cluster do not touch these Deployments.
    pub server: String,
}

/// Why a running release cannot be matched to Deployments.
#[derive(Debug, thiserror::Error)]
enum NotMatched {
    #[error("not opened")]
    NotOpened,
    #[error("runbook {0} unreadable")]
    Unreadable(String),
    #[error("runbook {0} changed since")]
    Changed(String),
}

/// The runbook a release ran, if the file still holds the bytes it
/// recorded, and the values its `${..}` are filled with: the journaled
/// inputs, the environment's vars (this process's environment beneath).
fn runbook_of(
    rec: &ReleaseRecord,
    content: Option<&RecordedContent>,
) -> Result<(Runbook, Scope), NotMatched> {
    let h = rec.header.as_ref().ok_or(NotMatched::NotOpened)?;
    let o = &h.opened;
    let loaded = runbook::load(std::path::Path::new(&o.runbook_path))
        .map_err(|_| NotMatched::Unreadable(o.runbook_path.clone()))?;
    let recorded = std::iter::once(&o.runbook_hash)
        .chain(content.into_iter().flat_map(|c| c.runbook_hashes.iter()));
    if !recorded.into_iter().any(|x| *x == loaded.content_hash) {
        return Err(NotMatched::Changed(o.runbook_path.clone()));
    }
    let mut scope = Scope {
        inputs: o.inputs.clone(),
        env: std::env::vars().collect(),
        ..Default::default()
    };
    if let Some(e) = loaded.runbook.environment(&o.environment) {
        scope.env.extend(e.vars.clone());
    }
    for (k, v) in [
        ("env", o.environment.as_str()),
        ("runbook", loaded.runbook.name.as_str()),
        ("initiator", o.initiator.as_str()),
        ("id", rec.id.as_str()),
    ] {
        scope.release.insert(k.into(), v.to_string());
    }
    let rb = runbook::for_release(&loaded, &scope).unwrap_or(loaded.runbook);
    Ok((rb, scope))
}

/// The rows and the one-line note for the releases read so far.
pub fn touching(reader: &JournalReader, server: &str) -> (Vec<TouchingRelease>, String) {
    let mut rows = Vec::new();
    let mut running = 0;
    let mut unknown: Vec<String> = Vec::new();
    for (rec, content) in reader.running() {
        running += 1;
        let cluster = content.and_then(|c| c.cluster.as_ref());
        if let Some(c) = cluster
            && !c.server.is_empty()
            && !server.is_empty()
            && c.server != server
        {
            continue;
        }
        match runbook_of(rec, content) {
            Ok((rb, values)) => rows.extend(touching::rows(
                rec,
                &rb,
                cluster.map(|c| c.namespace.as_str()),
                &values,
            )),
            Err(why) => unknown.push(format!("{}: {why}", rec.id)),
        }
    }
    rows.sort_by(|a, b| {
        (&a.namespace, &a.deployment, &a.id).cmp(&(&b.namespace, &b.deployment, &b.id))
    });
    let mut note = format!(
        "journal {}: {running} release{} running",
        reader.target,
        if running == 1 { "" } else { "s" }
    );
    if !unknown.is_empty() {
        note.push_str(&format!(
            "; not matched ({}): {}",
            unknown.len(),
            unknown.join(", ")
        ));
    }
    if reader.not_counted > 0 {
        note.push_str(&format!(
            "; {} audit entries not counted (run flightdeck verify)",
            reader.not_counted
        ));
    }
    (rows, note)
}

/// Follow the journal until the receiver is gone.
pub async fn run(src: JournalSource, tx: UnboundedSender<WatchEvent>) {
    let mut reader = match open_read_only(&src.target, &src.key_path).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(WatchEvent::Releases {
                rows: Vec::new(),
                note: e.to_string(),
            });
            return;
        }
    };
    let mut last: Option<(Vec<TouchingRelease>, String)> = None;
    // Runbook files are read again when the journal changed, and now and
    // then (a file put back under its recorded bytes).
    let mut ticks = 0u32;
    loop {
        let changed = match reader.refresh().await {
            Ok(c) => c,
            Err(e) => {
                let out = (Vec::new(), format!("journal {}: {e}", reader.target));
                if !send_if_new(&mut last, out, &tx) {
                    break;
                }
                tokio::time::sleep(REFRESH_EVERY).await;
                continue;
            }
        };
        if (changed || last.is_none() || ticks % 10 == 0)
            && !send_if_new(&mut last, touching(&reader, &src.server), &tx)
        {
            break;
        }
        ticks = ticks.wrapping_add(1);
        tokio::time::sleep(REFRESH_EVERY).await;
        if tx.is_closed() {
            break;
        }
    }
    reader.close().await;
}

/// Send `out` unless it is what was sent last; false once the receiver is gone.
fn send_if_new(
    last: &mut Option<(Vec<TouchingRelease>, String)>,
    out: (Vec<TouchingRelease>, String),
    tx: &UnboundedSender<WatchEvent>,
) -> bool {
    if last.as_ref() == Some(&out) {
        return true;
    }
    *last = Some(out.clone());
    let (rows, note) = out;
    tx.send(WatchEvent::Releases { rows, note }).is_ok()
}
