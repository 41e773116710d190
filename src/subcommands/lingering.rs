//! On resume: does an interrupted step of this release still run here?
//! (A process group that outlived its flightdeck; the watchdog should make
//! this rare, but a retry must never run a step twice.)

use crate::app::state::AppState;
use crate::backend::process::group_has_members;
use crate::backend::store::Store;
use crate::runbook::progress::StepStatus;

/// Mark each interrupted step whose latest recorded process group, started
/// on this host, still has a live member.
pub async fn find(store: &Store, state: &mut AppState) {
    let procs = match store.step_processes(&state.release.id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("reading the step processes failed: {e}");
            return;
        }
    };
    for (i, run) in state.release.steps.iter().enumerate() {
        if run.status != StepStatus::Interrupted {
            continue;
        }
        let latest = procs
            .iter()
            .rfind(|p| p.step_id == run.step_id && p.attempt == run.attempts);
        if let Some(p) = latest
            && p.host == state.identity.host
            && group_has_members(p.pgid)
        {
            state.processes.lingering.insert(i, p.pid);
        }
    }
}
