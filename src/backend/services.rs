//! Processes outside a step's own run: the background services a resumed
//! release starts again, and the groups an interrupted step left behind.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, sleep};

use super::process::{Background, CancelSignal, group_has_members, run_command};
use crate::protocol::event::BackendEvent;
use crate::runbook::StepAction;
use crate::runbook::progress::Outcome;

const POLL: Duration = Duration::from_millis(100);

/// Start `action` (a `background` command) again. Returns the service, for
/// the runner to keep with its others (stopped when the runner stops), and
/// the event that says how it went.
pub(super) async fn start(
    step: usize,
    action: StepAction,
    env: BTreeMap<String, String>,
) -> (Option<Background>, BackendEvent) {
    let StepAction::Command(spec) = action else {
        let event = BackendEvent::ServiceStarted {
            step,
            pid: None,
            error: Some("only a command step runs in the background".into()),
        };
        return (None, event);
    };
    let mut last = Vec::new();
    let ran = run_command(&spec, &env, None, CancelSignal::never(), |_, l| {
        last.push(l);
        if last.len() > 5 {
            last.remove(0);
        }
    })
    .await;
    let (pid, error) = match (&ran.outcome, &ran.background) {
        (_, Some(bg)) => (Some(bg.pid()), None),
        (Outcome::Failure { reason, .. }, None) => (None, Some(reason.clone())),
        _ => (None, Some("it did not keep running".to_string())),
    };
    if let Some(e) = &error {
        tracing::warn!(
            step,
            "restarting a background service failed: {e}; last output: {last:?}"
        );
    }
    (
        ran.background,
        BackendEvent::ServiceStarted { step, pid, error },
    )
}

/// Wait until process group `pgid` is gone; with `kill`, SIGTERM it first
/// and SIGKILL after `grace`.
pub(super) async fn end_group(
    step: usize,
    pgid: i32,
    kill: bool,
    grace: Duration,
    tx: UnboundedSender<BackendEvent>,
) {
    if pgid > 1 && kill {
        // SAFETY: kill has no memory-safety preconditions; pgid > 1.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let kill_at = Instant::now() + grace;
        while group_has_members(pgid) && Instant::now() < kill_at {
            sleep(POLL).await;
        }
        if group_has_members(pgid) {
            // SAFETY: as above.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    while group_has_members(pgid) {
        if tx.is_closed() {
            return;
        }
        sleep(POLL).await;
    }
    let _ = tx.send(BackendEvent::ProcessGone { step });
}
