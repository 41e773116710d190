//! What the approver's view needs from the journal beyond the release
//! itself: the last successful release of the same runbook and environment,
//! compared with this one (runbook, files, inputs, images). Read once when
//! the session opens; both sides come from the audit log's fold.

use crate::app::state::AppState;
use crate::backend::store::Store;
use crate::runbook::plan_since::{self, Side, SinceLast};
use crate::runbook::progress::ReleaseStatus;

/// How far back to look for it.
const LOOK_BACK: u32 = 500;

pub async fn since_last(store: &Store, state: &AppState) -> Option<SinceLast> {
    let r = &state.release;
    let listed = match store.list_releases(LOOK_BACK).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("listing releases for the approver's view: {e}");
            return None;
        }
    };
    // The table is an index: each candidate is confirmed from the fold.
    for s in listed.into_iter().filter(|s| {
        s.id != r.id
            && s.runbook_name == r.runbook_name
            && s.environment == r.environment
            && s.status == ReleaseStatus::Succeeded
            && s.started_at <= r.started_at
    }) {
        let Ok(Some(then)) = store.load_release(&s.id).await else {
            continue;
        };
        if then.status != ReleaseStatus::Succeeded {
            continue;
        }
        let records = store.content_records(&then.id).await.unwrap_or_default();
        let then_content = records.iter().rev().find_map(|c| c.manifest.clone());
        let now_inputs = state.journaled_inputs();
        let clean = |s: &str| crate::sanitize::sanitize_line(&state.values.secrets.mask(s));
        return Some(
            plan_since::since(
                &state.runbook,
                &Side {
                    id: &then.id,
                    runbook_hash: &then.runbook_hash,
                    inputs: &then.inputs,
                    content: then_content.as_ref(),
                    finished_at: then.finished_at,
                },
                &Side {
                    id: &r.id,
                    runbook_hash: &r.runbook_hash,
                    inputs: &now_inputs,
                    content: state.content.current.as_ref(),
                    finished_at: None,
                },
            )
            .clean(&clean),
        );
    }
    None
}
