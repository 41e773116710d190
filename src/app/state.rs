//! Everything the screen shows and `update` changes. Owned by one task.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::keymap::Keymap;
use crate::protocol::output::OutputBuffer;
use crate::runbook::gates::{Decision, Signoff};
use crate::runbook::progress::Release;
use crate::runbook::{Runbook, Step};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub person: String,
    pub host: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Actions that ask before they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmable {
    RunStep(usize),
    CancelStep(usize),
    Abort,
    /// Take over the release whose driver's lease expired.
    TakeOver,
    Quit,
    /// Roll a kube step's Deployment back (its undo).
    Rollback(usize),
}

/// What to do with a step found interrupted after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeChoice {
    Recheck,
    Retry,
    MarkDone,
    Skip,
    /// The step's processes still run: wait until they end.
    Wait,
    /// The step's processes still run: stop them (SIGTERM, then SIGKILL).
    Kill,
}

impl ResumeChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            ResumeChoice::Recheck => "re-check",
            ResumeChoice::Retry => "retry",
            ResumeChoice::MarkDone => "mark done",
            ResumeChoice::Skip => "skip",
            ResumeChoice::Wait => "wait",
            ResumeChoice::Kill => "kill",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Help,
    Skip {
        step: usize,
        reason: String,
    },
    /// A checklist, ticked item by item: nothing is ticked when it opens.
    Tick {
        step: usize,
        note: String,
        /// Per item: when it was ticked (unix ms), `None` while unticked.
        ticked: Vec<Option<i64>>,
        /// The item under the cursor; `ticked.len()` is the note field.
        cursor: usize,
    },
    SignOff {
        step: usize,
        role: usize,
        decision: Decision,
        comment: String,
        error: Option<String>,
    },
    Confirm {
        what: Confirmable,
        message: String,
        /// Text the person must type (the environment's name), if any.
        expect: Option<String>,
        typed: String,
    },
    Interrupted {
        step: usize,
        choices: Vec<ResumeChoice>,
        selected: usize,
    },
}

impl Dialog {
    /// The checklist dialog of step `step` with `items` items, none ticked.
    pub fn checklist(step: usize, items: usize) -> Dialog {
        Dialog::Tick {
            step,
            note: String::new(),
            ticked: vec![None; items],
            cursor: 0,
        }
    }
}

/// What to do once a journal write is acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// The intent is durable: now run it.
    Start {
        step: usize,
        attempt: u32,
    },
    /// The outcome is durable: move on.
    Finished {
        step: usize,
    },
    /// The sign-off is durable: count it.
    Signed(Signoff),
    /// A resume choice is durable: act on it.
    Resumed {
        step: usize,
        choice: ResumeChoice,
    },
    Nothing,
}

/// One line of `run --headless` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum HeadlessEvent {
    ReleaseStarted {
        release: String,
        runbook: String,
        environment: String,
    },
    StepStarted {
        step: String,
        attempt: u32,
    },
    Output {
        step: String,
        stream: &'static str,
        line: String,
    },
    OutputDropped {
        step: String,
        count: u64,
    },
    StepFinished {
        step: String,
        status: String,
        exit_code: Option<i32>,
        detail: Option<String>,
        duration_ms: Option<i64>,
    },
    Waiting {
        step: String,
        reason: String,
    },
    Signoff {
        gate: String,
        person: String,
        role: String,
        decision: String,
    },
    ReleaseEnded {
        release: String,
        status: String,
    },
    /// What a gate approved is no longer what would run: `step` did not
    /// start and `gate` waits for sign-offs on `new_hash`.
    ContentChanged {
        step: String,
        gate: String,
        old_hash: String,
        new_hash: String,
        changed: Vec<String>,
    },
    Error {
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub runbook: Runbook,
    pub runbook_path: String,
    pub release: Release,
    pub identity: Identity,
    /// `${env.X}` values: the process environment plus the environment's vars.
    pub env: BTreeMap<String, String>,
    /// Values of `vars` from the runbook environment, passed to commands.
    pub env_vars: BTreeMap<String, String>,
    pub flightdeck_bin: String,
    /// Values never shown (see `app::secrets`): every text entering from a
    /// backend is masked with this before any sink sees it.
    pub secrets: crate::runbook::secrets::SecretSet,
    /// Secret inputs as the journal keeps them: name -> salted hash.
    pub sealed_inputs: BTreeMap<String, String>,
    pub outputs: Vec<OutputBuffer>,
    pub selected: usize,
    /// The selection follows the step that runs.
    pub follow: bool,
    /// "Run until the next gate" is on.
    pub auto: bool,
    pub headless: bool,
    /// Manual steps `run --headless --ack ID` may tick.
    pub acks: BTreeSet<String>,
    pub dialog: Option<Dialog>,
    pub show_logs: bool,
    /// Lines scrolled up from the bottom of the output pane.
    pub scroll: usize,
    pub notice: Option<Notice>,
    pub pending: BTreeMap<u64, After>,
    pub next_op: u64,
    pub now: i64,
    pub quitting: bool,
    /// The journal refused a write: driving stops until restart.
    pub journal_error: Option<String>,
    pub keymap: Keymap,
    pub approval_hash: String,
    /// Headless events, drained by the event loop.
    pub events: Vec<HeadlessEvent>,
    /// When sign-offs were last re-read from the journal.
    pub signoffs_refreshed_at: i64,
    /// The release's end is journaled (or on its way).
    pub end_recorded: bool,
    /// Step titles with `${inputs.x}` and `${release.*}` filled in.
    pub titles: Vec<String>,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The migrate step past which an image rollback alone will not undo
    /// the release (see `data_hooks`).
    pub point_of_no_return: Option<String>,
    /// Who drives this release, and what this terminal may do.
    pub team: super::team::TeamState,
    /// The cluster in use and the live rollouts of kube steps.
    pub kube: super::rollout::KubeState,
    /// Content checks before steps after a passed gate (`app::content`).
    pub content: super::content::ContentState,
    /// Processes around steps: interrupted, lingering, restarting services.
    pub processes: super::processes::ProcessState,
    /// The plan pane (`app::plan`).
    pub plan: super::plan::PlanState,
}

impl AppState {
    pub fn step(&self, i: usize) -> &Step {
        self.runbook
            .steps()
            .nth(i)
            .expect("step index comes from the runbook")
    }

    /// Fill `${inputs.*}` and `${release.*}` into display text; `${env.*}`
    /// stays as written (it may be a secret).
    pub fn render_text(&self, text: &str) -> String {
        self.scope(self.shown_inputs(), false)
            .render(text)
            .unwrap_or_else(|_| text.to_string())
    }

    /// A `run:` script as it will run: each value one quoted shell word
    /// (so `$(...)` in an input is shown as the text it is).
    pub fn render_script(&self, script: &str) -> String {
        self.scope(self.shown_inputs(), false)
            .render_as(
                script,
                crate::runbook::interpolate::Context::ShellWord,
                &mut Vec::new(),
            )
            .unwrap_or_else(|_| script.to_string())
    }

    /// The inputs as a screen may show them: secret ones as `(secret)`.
    fn shown_inputs(&self) -> BTreeMap<String, String> {
        let mut inputs = self.release.inputs.clone();
        for (name, v) in inputs.iter_mut() {
            if self.sealed_inputs.contains_key(name) {
                *v = "(secret)".into();
            }
        }
        inputs
    }

    /// Values for `${...}`: the given inputs and `${release.*}`; with
    /// `with_env`, also `${env.*}` and `${flightdeck.bin}` (for running).
    pub fn scope(
        &self,
        inputs: BTreeMap<String, String>,
        with_env: bool,
    ) -> crate::runbook::interpolate::Scope {
        let r = &self.release;
        let mut s = crate::runbook::interpolate::Scope {
            inputs,
            ..Default::default()
        };
        for (k, v) in [
            ("id", &r.id),
            ("env", &r.environment),
            ("runbook", &r.runbook_name),
            ("initiator", &r.initiator),
        ] {
            s.release.insert(k.into(), v.clone());
        }
        if with_env {
            s.env = self.env.clone();
            s.flightdeck
                .insert("bin".into(), self.flightdeck_bin.clone());
        }
        s
    }

    /// The release's inputs as the journal keeps them (secret inputs
    /// sealed). Approvals bind to these, so an approver in another process
    /// computes the same hash.
    pub fn journaled_inputs(&self) -> BTreeMap<String, String> {
        crate::app::setup::journaled_inputs(&self.release.inputs, &self.sealed_inputs)
    }

    pub fn step_count(&self) -> usize {
        self.release.steps.len()
    }

    /// The environment asks for its name to be typed before risky actions.
    pub fn confirm_by_typing(&self) -> Option<String> {
        self.runbook
            .environment(&self.release.environment)
            .filter(|e| e.confirm)
            .map(|e| e.name.clone())
    }

    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if self.headless && level == Level::Error {
            self.events.push(HeadlessEvent::Error {
                message: text.clone(),
            });
        }
        self.notice = Some(Notice { level, text });
    }
}
