//! Everything the screen shows and `update` changes. Owned by one task.
//! A leaf: the parts' types live here, the logic that changes them in
//! `app::update` and the feature modules above it.

mod content;
mod dialog;
mod headless_event;
mod kube;
mod notice;
mod pending;
mod plan;
mod plumbing;
mod processes;
mod team;
mod values;
mod view;

use std::collections::{BTreeMap, BTreeSet};

pub use self::content::ContentState;
pub use self::dialog::{Confirmable, Dialog, ResumeChoice};
pub use self::headless_event::HeadlessEvent;
pub use self::kube::{KubeState, LogScope, LogView, MAX_LOG_BYTES, MAX_LOG_LINES, RolloutView};
pub use self::notice::{Level, Notice};
pub use self::pending::After;
pub use self::plan::PlanState;
pub use self::plumbing::Plumbing;
pub use self::processes::ProcessState;
pub use self::team::{Mode, TeamState};
pub use self::values::Values;
pub use self::view::ViewState;
use crate::protocol::output::{OutputBuffer, Stream};
use crate::runbook::RenderError;
use crate::runbook::gates::{self, GateTally};
use crate::runbook::progress::{Release, StepRun, StepStatus};
use crate::runbook::template::Templated;
use crate::runbook::{GateSpec, Runbook, Step, StepAction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub person: String,
    pub host: String,
}

#[derive(Debug, Clone)]
pub struct AppState {
    // The release: the runbook, the release as the domain folds it from the
    // journal (`release`), and what its steps run with.
    pub runbook: Runbook,
    pub runbook_path: String,
    pub release: Release,
    pub identity: Identity,
    /// What its steps run with, and which of it is secret.
    pub values: Values,
    pub outputs: Vec<OutputBuffer>,
    /// "Run until the next gate" is on.
    pub auto: bool,
    /// Manual steps acknowledged before they run (`run --headless --ack
    /// ID`): their checklist is ticked as they start.
    pub acks: BTreeSet<String>,
    pub now: i64,
    /// The journal refused a write: driving stops until restart.
    pub journal_error: Option<String>,
    pub approval_hash: String,
    /// The release's end is journaled (or on its way).
    pub end_recorded: bool,
    /// The migrate step past which an image rollback alone will not undo
    /// the release (see `data_hooks`).
    pub point_of_no_return: Option<String>,
    // The parts: view, plumbing, and one per feature.
    /// What the screen shows of it: selection, dialog, notice, keys.
    pub view: ViewState,
    /// Bookkeeping between `update` and the event loop: journal writes in
    /// flight, headless lines to emit, redraw and quit.
    pub plumbing: Plumbing,
    /// Who drives this release, and what this terminal may do.
    pub team: TeamState,
    /// The cluster in use and the live rollouts of kube steps.
    pub kube: KubeState,
    /// Content checks before steps after a passed gate (`app::content`).
    pub content: ContentState,
    /// Processes around steps: interrupted, lingering, restarting services.
    pub processes: ProcessState,
    /// The plan pane (`app::plan`).
    pub plan: PlanState,
}

impl AppState {
    // Step accessors: a step index is checked here, never by indexing, so
    // an index that does not fit (from a message, a stale dialog) answers
    // `None` rather than panicking.

    /// Step `i` of the runbook.
    pub fn step(&self, i: usize) -> Option<&Step> {
        self.runbook.step(i)
    }

    /// What step `i` does.
    pub fn action(&self, i: usize) -> Option<&StepAction> {
        self.step(i).map(|s| &s.action)
    }

    /// Step `i`'s id; empty when there is no step `i`.
    pub fn step_id(&self, i: usize) -> String {
        self.step(i).map(|s| s.id.clone()).unwrap_or_default()
    }

    /// How step `i` stands in the release.
    pub fn run(&self, i: usize) -> Option<&StepRun> {
        self.release.steps.get(i)
    }

    /// Step `i`'s status in the release.
    pub fn status(&self, i: usize) -> Option<&StepStatus> {
        self.run(i).map(|r| &r.status)
    }

    /// Attempts step `i` has made (0 when there is no step `i`).
    pub fn attempts(&self, i: usize) -> u32 {
        self.run(i).map_or(0, |r| r.attempts)
    }

    /// Gate `i`'s spec and its sign-offs counted on what the journal holds,
    /// every rule re-checked (not only at signing); `None` unless step `i`
    /// is a gate.
    pub fn gate_tally(&self, i: usize) -> Option<(&GateSpec, GateTally)> {
        let StepAction::Gate(spec) = self.action(i)? else {
            return None;
        };
        let tally = gates::counted(
            spec,
            &self.runbook.roles,
            &self.release.initiator,
            &self.release.signoffs_for(&self.step_id(i)),
            &self.approval_hash,
        );
        Some((spec, tally))
    }

    /// Step `i`'s title as shown (inputs filled in); empty when there is
    /// no step `i`.
    pub fn title(&self, i: usize) -> &str {
        self.view.titles.get(i).map_or("", String::as_str)
    }

    /// Step `i`'s output.
    pub fn output(&self, i: usize) -> Option<&OutputBuffer> {
        self.outputs.get(i)
    }

    /// Add a line to step `i`'s output.
    pub fn say(&mut self, i: usize, stream: Stream, text: impl Into<String>) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.push(stream, text.into());
        }
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
            if self.values.sealed_inputs.contains_key(name) {
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
            s.env = self.values.env.clone();
            s.flightdeck
                .insert("bin".into(), self.values.flightdeck_bin.clone());
        }
        s
    }

    /// `${...}` resolved in a step's action, as it will run.
    pub fn resolve(&self, action: &StepAction) -> Result<StepAction, RenderError> {
        action.render(&self.scope(self.release.inputs.clone(), true))
    }

    /// The release's inputs as the journal keeps them (secret inputs
    /// sealed). Approvals bind to these, so an approver in another process
    /// computes the same hash.
    pub fn journaled_inputs(&self) -> BTreeMap<String, String> {
        journaled_inputs(&self.release.inputs, &self.values.sealed_inputs)
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
        if level == Level::Error {
            self.plumbing.events.push(HeadlessEvent::Error {
                message: text.clone(),
            });
        }
        self.view.notice = Some(Notice { level, text });
    }
}

/// Inputs as the journal keeps them: each secret value replaced by its
/// salted hash (`sealed`), never the value.
pub fn journaled_inputs(
    inputs: &BTreeMap<String, String>,
    sealed: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = inputs.clone();
    for (name, seal) in sealed {
        if let Some(v) = out.get_mut(name) {
            *v = seal.clone();
        }
    }
    out
}
