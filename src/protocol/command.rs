//! What `update` asks the backends to do. Plain data: no IO happens here.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::runbook::StepAction;
use crate::runbook::gates::Signoff;
use crate::runbook::progress::Release;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Write to the journal; the store answers `BackendEvent::Journaled { op, .. }`.
    Journal { op: u64, entry: JournalEntry },
    /// Run a command or check; the runner streams `StepOutput` and ends with `StepFinished`.
    RunStep {
        step: usize,
        attempt: u32,
        /// The step's action with every `${...}` already replaced.
        action: StepAction,
        timeout: Option<Duration>,
        /// Extra environment for commands (the environment's `vars`).
        env: BTreeMap<String, String>,
    },
    /// SIGTERM, then SIGKILL after the grace period.
    CancelStep { step: usize },
    /// Start a `background` command step again (a resumed release's service);
    /// answered by `BackendEvent::ServiceStarted`.
    StartService {
        step: usize,
        action: StepAction,
        env: BTreeMap<String, String>,
    },
    /// Report `BackendEvent::ProcessGone` once process group `pgid` (left
    /// running by interrupted step `step`) has no live member; with `kill`,
    /// SIGTERM it first and SIGKILL after `grace`.
    EndProcess {
        step: usize,
        pgid: i32,
        kill: bool,
        grace: Duration,
    },
    /// Re-read the gate sign-offs others wrote to the journal (e.g. with
    /// `flightdeck approve`); answered by `BackendEvent::Signoffs`.
    RefreshSignoffs { release_id: String },
    /// Run a kube step's undo outside its run (manual rollback); answered
    /// by `BackendEvent::Kube` events for that step.
    KubeRollback {
        step: usize,
        action: StepAction,
        reason: String,
    },
    /// Team mode (lease, take-over); served by the team task.
    Team(super::team::TeamCommand),
    /// Post a release event to a runbook `notify:` hook; answered by
    /// `BackendEvent::Notified`. Never blocks the release.
    Notify {
        hook: crate::runbook::data::NotifyHook,
        event: String,
        payload: serde_json::Value,
    },
    /// Read what the content hash covers before step `step` starts (a gate
    /// passed before it); answered by `BackendEvent::Content`.
    CheckContent {
        step: usize,
        request: crate::runbook::content::ContentRequest,
    },
    /// Read what the plan's steps change in the cluster and database,
    /// read-only (`cluster`: where kube steps run, or why there is none);
    /// answered by `BackendEvent::Plan`.
    ReadPlan {
        targets: Vec<(usize, crate::runbook::plan::ClusterTarget)>,
        cluster: Result<crate::runbook::kube::Cluster, super::kube::ClusterError>,
    },
    /// Leave the event loop (after pending journal writes are acknowledged).
    Quit,
}

/// One journal write. Each also appends an audit entry in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalEntry {
    ReleaseStarted {
        release: Box<Release>,
        runbook_path: String,
    },
    /// Intent: recorded before the step starts.
    StepStarted {
        release_id: String,
        step_id: String,
        attempt: u32,
        at: i64,
    },
    StepFinished {
        release_id: String,
        step_id: String,
        attempt: u32,
        /// `succeeded`, `failed`, `skipped`, `interrupted`-resolutions end as one of these.
        status: String,
        exit_code: Option<i32>,
        /// Failure reason, skip reason or the person's note.
        detail: Option<String>,
        at: i64,
        /// Bounded, sanitized tail of the step's output.
        output: Vec<String>,
    },
    Signoff {
        release_id: String,
        signoff: Signoff,
    },
    /// The operator's choice for an interrupted step (re-check, retry, mark done).
    ResumeChoice {
        release_id: String,
        step_id: String,
        choice: String,
        person: String,
        at: i64,
    },
    ReleaseEnded {
        release_id: String,
        status: String,
        at: i64,
    },
    /// The content a release runs under: recorded at its start (`old_hash`
    /// `None`, audit kind `content_recorded`) and whenever it differs from
    /// what was approved (`content_changed`).
    ContentChanged {
        release_id: String,
        old_hash: Option<String>,
        new_hash: String,
        /// What differs, e.g. `runbook`, `file deploy/x.yaml`, `cluster`.
        changed: Vec<String>,
        manifest: crate::runbook::content::ContentManifest,
        at: i64,
    },
    /// The step's process group exists: pid of its leader (= pgid), so a
    /// resume can tell whether anything of it still runs. Journaled right
    /// after the spawn, as the intent (`StepStarted`) precedes it.
    StepProcess {
        release_id: String,
        step_id: String,
        attempt: u32,
        pid: i32,
        pgid: i32,
        at: i64,
    },
    /// A signal (SIGTERM, SIGHUP, SIGINT) stopped the step: no outcome, so
    /// a resume finds it interrupted and never re-runs it silently.
    StepInterrupted {
        release_id: String,
        step_id: String,
        attempt: u32,
        reason: String,
        at: i64,
        /// Bounded, sanitized tail of the step's output.
        output: Vec<String>,
    },
    /// Which checklist items a person ticked, and when each (before the
    /// step's `StepFinished`): the record of a checklist is item by item.
    ChecklistTicked {
        release_id: String,
        ticks: crate::runbook::record::Ticks,
    },
    /// A resumed release started a background service again (`pid`), or
    /// failed to (`error`).
    ServiceStarted {
        release_id: String,
        step_id: String,
        pid: Option<i32>,
        error: Option<String>,
        at: i64,
    },
}
