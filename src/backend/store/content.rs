//! The content a release ran under, as its audit entries record it
//! (`content_recorded` at the start, `content_changed` after). Read from
//! the audit log directly; once `load_release` folds the chain, this is the
//! one function to swap for the fold's list.

use super::Store;
use super::chain::KindEntry;
use super::error::StoreError;
use crate::runbook::content::ContentManifest;

/// One content record of a release.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentRecord {
    pub seq: i64,
    /// `None` for the record at the release's start.
    pub old_hash: Option<String>,
    pub new_hash: String,
    pub changed: Vec<String>,
    pub manifest: Option<ContentManifest>,
    pub at: i64,
}

impl Store {
    /// Every content record of `release_id`, oldest first.
    pub async fn content_records(
        &self,
        release_id: &str,
    ) -> Result<Vec<ContentRecord>, StoreError> {
        let entries = self
            .entries_of_kind(
                release_id,
                &["content_recorded", "content_changed"],
                "content records",
            )
            .await?;
        let mut out = Vec::new();
        for KindEntry { seq, detail: v, .. } in entries {
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
            out.push(ContentRecord {
                seq,
                old_hash: text("old_hash"),
                new_hash: text("new_hash").unwrap_or_default(),
                changed: v
                    .get("changed")
                    .and_then(|c| serde_json::from_value(c.clone()).ok())
                    .unwrap_or_default(),
                manifest: v
                    .get("manifest")
                    .and_then(|m| serde_json::from_value(m.clone()).ok()),
                at: v.get("at").and_then(|x| x.as_i64()).unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

/// Every content hash a release ran under, in order, without repeats:
/// the recorded ones, and the hashes its sign-offs approved.
pub fn content_hashes(
    records: &[ContentRecord],
    signoffs: &[crate::runbook::gates::Signoff],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |h: &str| {
        if !h.is_empty() && !out.iter().any(|x| x == h) {
            out.push(h.to_string());
        }
    };
    for r in records {
        if let Some(old) = &r.old_hash {
            add(old);
        }
        add(&r.new_hash);
    }
    for s in signoffs {
        add(&s.approved_hash);
    }
    out
}
