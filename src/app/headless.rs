//! `run --headless` as a driver on top of `update`: after every message it
//! looks at the release and, when nothing is in flight, asks `update` for
//! the next move (`Msg::Drive`), or stops where a person is needed and says
//! why on the headless stream. `update` itself knows nothing of it.

use std::collections::BTreeSet;

use crate::app::msg::{Drive, Msg};
use crate::app::state::{AppState, HeadlessEvent, ResumeChoice};
use crate::app::update::{on_resume, update};
use crate::protocol::command::Command;
use crate::runbook::StepAction;
use crate::runbook::progress::{ReleaseStatus, StepStatus};

#[derive(Debug, Default)]
pub struct Headless {
    /// `--retry STEP`: interrupted steps to run again.
    retries: BTreeSet<String>,
    /// Steps this run started: one that fails ends the release. A step
    /// found failed when the release is reopened is run again.
    started: BTreeSet<usize>,
}

impl Headless {
    pub fn new(retries: impl IntoIterator<Item = String>) -> Headless {
        Headless {
            retries: retries.into_iter().collect(),
            started: BTreeSet::new(),
        }
    }

    /// `update`, then the driver's next move, if it has one.
    pub fn update(&mut self, state: &mut AppState, msg: Msg) -> Vec<Command> {
        let mut out = update(state, msg);
        if let Some(d) = self.next(state, &out) {
            if let Drive::Start(i) = d {
                self.started.insert(i);
            }
            out.extend(update(state, Msg::Drive(d)));
        }
        out
    }

    /// Reopening a release: what `on_resume` does for a person, and a
    /// "waiting" line for an interrupted step this run may not decide.
    pub fn resume(&mut self, state: &mut AppState) -> Vec<Command> {
        let out = on_resume(state);
        let interrupted = state
            .release
            .steps
            .iter()
            .position(|s| s.status == StepStatus::Interrupted);
        if let Some(i) = interrupted.filter(|_| crate::app::team::drives(state)) {
            let id = state.step_id(i);
            let reason = match crate::app::processes::still_running(state, i) {
                Some(running) => format!(
                    "interrupted, and its processes are {running}: wait for them or kill them in the TUI before a retry"
                ),
                None if self.retries.contains(&id) => return out,
                None => format!(
                    "interrupted: open it in the TUI to re-check, retry or mark it done, or run again with --retry {id}"
                ),
            };
            state
                .plumbing
                .events
                .push(HeadlessEvent::Waiting { step: id, reason });
        }
        out
    }

    /// What to do now, if anything: start the current step, decide it as
    /// the command line said, end the release, or stop for a person.
    fn next(&mut self, state: &mut AppState, out: &[Command]) -> Option<Drive> {
        let quitting = state.plumbing.quitting || out.iter().any(|c| matches!(c, Command::Quit));
        if quitting {
            return None;
        }
        // Nothing more may start here: stop at once.
        if state.journal_error.is_some() || crate::app::content::stopped(state) {
            return Some(Drive::Quit);
        }
        if let Some((i, error)) = state.processes.not_restarted.pop_first() {
            let step = state.step_id(i);
            let reason = format!("its background service did not start again: {error}");
            state
                .plumbing
                .events
                .push(HeadlessEvent::Waiting { step, reason });
            return Some(Drive::Quit);
        }
        // Something is in flight: its answer comes back as a message.
        if !state.plumbing.pending.is_empty()
            || state.release.is_running_anything()
            || crate::app::content::checking(state)
            || !state.processes.restarting.is_empty()
        {
            return None;
        }
        if state.release.status.is_final() {
            return Some(Drive::Quit);
        }
        if !out.is_empty() {
            return None;
        }
        // Not the driver for now (lease lapsed): start nothing, wait to regain it.
        if state.team.lapsed.is_some() {
            return None;
        }
        let cur = state.release.current(&state.runbook)?;
        let id = state.step_id(cur);
        let manual = matches!(state.action(cur), Some(StepAction::Manual(_)));
        Some(match state.status(cur)? {
            // Asked to start and still pending: something held it back
            // and said why (e.g. a secret input this run was not given).
            StepStatus::Pending if self.started.contains(&cur) => Drive::Quit,
            StepStatus::Pending => Drive::Start(cur),
            // This run started it and it failed for good: the release fails.
            StepStatus::Failed { .. } if self.started.contains(&cur) => {
                Drive::End(ReleaseStatus::Failed)
            }
            // Failed before this run: the operator runs it again.
            StepStatus::Failed { .. } => Drive::Start(cur),
            // `--retry STEP` decides an interrupted step, unless it still runs.
            StepStatus::Interrupted
                if !state.processes.lingering.contains_key(&cur) && self.retries.remove(&id) =>
            {
                let choice = if matches!(state.action(cur), Some(StepAction::Check(_))) {
                    ResumeChoice::Recheck
                } else {
                    ResumeChoice::Retry
                };
                Drive::Resume { step: cur, choice }
            }
            StepStatus::Waiting if manual && state.acks.contains(&id) => Drive::Ack(cur),
            _ => Drive::Quit,
        })
    }
}
