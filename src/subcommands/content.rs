//! The content hash outside the driver: what `approve` binds a sign-off
//! to, and the hashes `show`/`report` list.

use super::Failure;
use crate::backend::store::content::{ContentRecord, content_hashes};
use crate::backend::store::{Store, StoredRelease};
use crate::runbook::Loaded;
use crate::runbook::content::{ClusterSource, ContentManifest, ContentRequest};

/// The release's content as an approver sees it: the runbook and the files
/// it references as they are now (read from this working directory, like
/// the driver's), the release's environment and journaled inputs, and the
/// cluster the driver recorded (an approver cannot see the driver's
/// kubeconfig; a release with no record falls back to this machine's).
pub async fn approver_content(
    store: &Store,
    stored: &StoredRelease,
    loaded: &Loaded,
) -> Result<ContentManifest, Failure> {
    let records = store.content_records(&stored.id).await?;
    let cluster = match records.iter().rev().find_map(|r| r.manifest.as_ref()) {
        Some(m) => m.cluster.clone().map(ClusterSource::Known),
        None => {
            let pin = loaded
                .runbook
                .environment(&stored.environment)
                .and_then(|e| e.kube.clone())
                .unwrap_or_default();
            crate::backend::kube::client::resolve(
                None,
                pin.context.as_deref(),
                pin.namespace.as_deref(),
            )
            .ok()
            .map(|r| ClusterSource::Resolve {
                kubeconfig: r.kubeconfig,
                context: r.context,
                namespace: r.namespace,
            })
        }
    };
    let req = ContentRequest::new(
        &loaded.runbook,
        &loaded.path.display().to_string(),
        &stored.environment,
        cluster,
        &stored.inputs,
    );
    tokio::task::spawn_blocking(move || crate::backend::content::read(&req))
        .await
        .map_err(|e| Failure::failed(format!("reading the release's content: {e}")))
}

/// What `show`/`report` say about content: every hash the release ran
/// under and each recorded change.
pub struct ContentHistory {
    pub hashes: Vec<String>,
    pub records: Vec<ContentRecord>,
}

pub async fn history(store: &Store, r: &StoredRelease) -> Result<ContentHistory, Failure> {
    let records = store.content_records(&r.id).await?;
    Ok(ContentHistory {
        hashes: content_hashes(&records, &r.signoffs),
        records,
    })
}

pub fn markdown(h: &ContentHistory) -> String {
    let mut s = String::from("\n## Content\n\n");
    if h.hashes.is_empty() {
        s.push_str("no content hash on record\n");
        return s;
    }
    s.push_str("Content hashes this release ran under (runbook, referenced files, environment, cluster, inputs):\n\n");
    for x in &h.hashes {
        s.push_str(&format!("- `{x}`\n"));
    }
    let changes: Vec<&ContentRecord> = h.records.iter().filter(|r| r.old_hash.is_some()).collect();
    if !changes.is_empty() {
        s.push_str("\nChanges:\n\n");
        let short = |h: &str| h.chars().take(12).collect::<String>();
        for c in changes {
            s.push_str(&format!(
                "- {}: `{}…` → `{}…` ({})\n",
                super::out::time(c.at),
                short(c.old_hash.as_deref().unwrap_or_default()),
                short(&c.new_hash),
                c.changed.join(", ")
            ));
        }
    }
    s
}

pub fn json(h: &ContentHistory) -> serde_json::Value {
    serde_json::json!({
        "hashes": h.hashes,
        "changes": h.records.iter().filter(|r| r.old_hash.is_some()).map(|c| serde_json::json!({
            "old_hash": c.old_hash,
            "new_hash": c.new_hash,
            "changed": c.changed,
            "at": super::out::time(c.at),
        })).collect::<Vec<_>>(),
    })
}

/// How `content` differs from what the release last recorded, in words
/// (`None` when it is the same, or nothing was recorded): an approver in
/// another directory or with other files sees it before signing.
pub async fn drift(
    store: &Store,
    stored: &StoredRelease,
    content: &ContentManifest,
) -> Result<Option<String>, Failure> {
    let records = store.content_records(&stored.id).await?;
    let Some(last) = records.iter().rev().find_map(|r| r.manifest.as_ref()) else {
        return Ok(None);
    };
    if last.hash() == content.hash() {
        return Ok(None);
    }
    Ok(Some(format!(
        "the content you approve differs from what release {} last recorded ({}): the driver counts only sign-offs on the content it runs; approve from the driver's working directory with the same files",
        stored.id,
        crate::runbook::content::changed(last, content).join(", ")
    )))
}
