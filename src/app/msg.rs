//! What `update` reacts to: keys, time, and events from the backends.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::runbook::gates::Signoff;
use crate::runbook::progress::Outcome;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// Wall clock, unix milliseconds. Sent on every tick.
    Tick(i64),
    Resize,
    /// A click or wheel turn, with the terminal's size (columns, rows)
    /// when it happened, to find the pane under it.
    Mouse {
        event: MouseEvent,
        screen: (u16, u16),
    },
    /// SIGTERM, SIGHUP or SIGINT reached flightdeck: stop cleanly.
    Shutdown,
    Backend(BackendEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// flightdeck's own lines about the step (check results, signals sent).
    Info,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    /// A journal write finished; `error` is `None` when it is durable.
    Journaled { op: u64, error: Option<String> },
    /// A batch of output lines, raw (update sanitizes). `dropped` counts
    /// lines the runner discarded because the step flooded.
    StepOutput {
        step: usize,
        lines: Vec<(Stream, String)>,
        dropped: u64,
    },
    StepFinished {
        step: usize,
        attempt: u32,
        outcome: Outcome,
    },
    /// A command step's process group exists (pid = pgid of its leader).
    StepSpawned { step: usize, attempt: u32, pid: i32 },
    /// A background service of a resumed release runs again (`pid`), or
    /// could not be started (`error`).
    ServiceStarted {
        step: usize,
        pid: Option<i32>,
        error: Option<String>,
    },
    /// The processes an interrupted step left running are gone (waited
    /// for or killed).
    ProcessGone { step: usize },
    /// Every sign-off of the release, as the journal has them now.
    Signoffs(Vec<Signoff>),
    /// A `notify:` hook was posted (`error` says why it was not delivered).
    Notified {
        event: String,
        url: String,
        error: Option<String>,
        required: bool,
    },
    /// The content as read for `Command::CheckContent`.
    Content {
        step: usize,
        manifest: crate::runbook::content::ContentManifest,
    },
    /// Team mode: lease changes and live snapshots of a shared release.
    Team(super::team::TeamEvent),
    /// A kube step's live rollout: snapshots, connection, pod logs, rollbacks.
    Kube {
        step: usize,
        event: super::rollout::KubeEvent,
    },
}
