//! A release as a state machine over the runbook's steps (docs/semantics.md,
//! "Journal and resume"). Time is passed in as unix milliseconds.

use std::collections::BTreeMap;

use super::gates::Signoff;
use super::model::Runbook;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    /// Intent journaled; the step is running (or a person is being asked).
    Running {
        attempt: u32,
    },
    /// A manual step or a gate waiting for people.
    Waiting,
    Succeeded,
    Failed {
        reason: String,
    },
    Skipped {
        reason: String,
    },
    /// Found started but not finished after a crash.
    Interrupted,
    /// The step could not decide (a metric query errored or had no data):
    /// it pauses for a person and never counts as a pass.
    Inconclusive {
        reason: String,
    },
}

impl StepStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running { .. } => "running",
            StepStatus::Waiting => "waiting",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Skipped { .. } => "skipped",
            StepStatus::Interrupted => "interrupted",
            StepStatus::Inconclusive { .. } => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Running => "running",
            ReleaseStatus::Succeeded => "succeeded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Aborted => "aborted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => ReleaseStatus::Running,
            "succeeded" => ReleaseStatus::Succeeded,
            "failed" => ReleaseStatus::Failed,
            "aborted" => ReleaseStatus::Aborted,
            _ => return None,
        })
    }
    pub fn is_final(self) -> bool {
        self != ReleaseStatus::Running
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRun {
    pub step_id: String,
    pub status: StepStatus,
    pub attempts: u32,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub note: Option<String>,
}

impl StepRun {
    /// A step not run yet.
    pub fn pending(step_id: &str) -> Self {
        StepRun {
            step_id: step_id.to_string(),
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            exit_code: None,
            note: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: String,
    pub runbook_name: String,
    pub runbook_hash: String,
    pub environment: String,
    pub inputs: BTreeMap<String, String>,
    pub initiator: String,
    pub status: ReleaseStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub steps: Vec<StepRun>,
    pub signoffs: Vec<Signoff>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success {
        exit_code: Option<i32>,
        note: Option<String>,
    },
    Failure {
        reason: String,
        exit_code: Option<i32>,
    },
    /// Neither pass nor fail: a person decides (retry or skip).
    Inconclusive { reason: String },
}

impl Outcome {
    /// Settled as passed by a person or a rule, saying why.
    pub fn passed(note: impl Into<String>) -> Outcome {
        Outcome::Success {
            exit_code: None,
            note: Some(note.into()),
        }
    }

    /// Settled as failed by a person or a rule, saying why.
    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failure {
            reason: reason.into(),
            exit_code: None,
        }
    }
}

/// A transition that the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(msg.into()))
}

impl Release {
    pub fn new(
        id: String,
        rb: &Runbook,
        runbook_hash: String,
        environment: String,
        inputs: BTreeMap<String, String>,
        initiator: String,
        now: i64,
    ) -> Self {
        Release {
            id,
            runbook_name: rb.name.clone(),
            runbook_hash,
            environment,
            inputs,
            initiator,
            status: ReleaseStatus::Running,
            started_at: now,
            finished_at: None,
            steps: rb.steps().map(|s| StepRun::pending(&s.id)).collect(),
            signoffs: Vec::new(),
        }
    }

    /// A step is settled when the release may move past it.
    fn settled(&self, rb: &Runbook, i: usize) -> bool {
        match &self.steps[i].status {
            StepStatus::Succeeded | StepStatus::Skipped { .. } => true,
            StepStatus::Failed { .. } => rb.step(i).is_some_and(|s| s.continue_on_failure),
            _ => false,
        }
    }

    /// The first step that is not settled: the only one that may run.
    pub fn current(&self, rb: &Runbook) -> Option<usize> {
        (0..self.steps.len()).find(|&i| !self.settled(rb, i))
    }

    pub fn is_running_anything(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Running { .. }))
    }

    fn check_open(&self) -> Result<(), Refused> {
        if self.status.is_final() {
            return refuse(format!("the release has {}", self.status.as_str()));
        }
        Ok(())
    }

    /// Start step `i` (after its intent is journaled). Manual steps and gates
    /// go to `Waiting`; others to `Running`.
    pub fn begin(&mut self, rb: &Runbook, i: usize, now: i64) -> Result<u32, Refused> {
        self.check_open()?;
        if self.current(rb) != Some(i) {
            return refuse("steps run in order: finish or skip the current step first");
        }
        let waits = rb.step(i).is_some_and(|s| s.action.needs_person());
        let run = &mut self.steps[i];
        match run.status {
            StepStatus::Pending
            | StepStatus::Failed { .. }
            | StepStatus::Interrupted
            | StepStatus::Inconclusive { .. } => {}
            StepStatus::Running { .. } => return refuse("the step is already running"),
            StepStatus::Waiting => return refuse("the step is waiting for people"),
            _ => return refuse("the step is already settled"),
        }
        run.attempts += 1;
        run.started_at = Some(now);
        run.finished_at = None;
        run.exit_code = None;
        run.status = if waits {
            StepStatus::Waiting
        } else {
            StepStatus::Running {
                attempt: run.attempts,
            }
        };
        Ok(run.attempts)
    }

    /// A passed gate whose approved content changed: it waits for sign-offs
    /// on the new content again. The steps after it keep their history;
    /// the release cannot move past the gate until it passes again.
    pub fn reopen_gate(&mut self, rb: &Runbook, i: usize, now: i64) -> Result<u32, Refused> {
        self.check_open()?;
        let is_gate = rb
            .step(i)
            .is_some_and(|s| matches!(s.action, super::model::StepAction::Gate(_)));
        if !is_gate || self.steps[i].status != StepStatus::Succeeded {
            return refuse("only a passed gate reopens");
        }
        self.steps[i].status = StepStatus::Pending;
        self.begin(rb, i, now)
    }

    /// Record how a running (or waiting) step ended.
    pub fn finish(
        &mut self,
        rb: &Runbook,
        i: usize,
        outcome: Outcome,
        now: i64,
    ) -> Result<(), Refused> {
        self.check_open()?;
        let run = &mut self.steps[i];
        if !matches!(run.status, StepStatus::Running { .. } | StepStatus::Waiting) {
            return refuse(format!("the step is {}, not running", run.status.as_str()));
        }
        run.finished_at = Some(now);
        match outcome {
            Outcome::Success { exit_code, note } => {
                run.exit_code = exit_code;
                run.note = note;
                run.status = StepStatus::Succeeded;
            }
            Outcome::Failure { reason, exit_code } => {
                run.exit_code = exit_code;
                run.status = StepStatus::Failed { reason };
            }
            Outcome::Inconclusive { reason } => run.status = StepStatus::Inconclusive { reason },
        }
        self.settle(rb, now);
        Ok(())
    }

    /// After a failure: is an automatic attempt left?
    pub fn retry_left(&self, rb: &Runbook, i: usize) -> bool {
        let retries = rb.step(i).map_or(0, |s| s.retries);
        matches!(self.steps[i].status, StepStatus::Failed { .. })
            && self.steps[i].attempts <= retries
    }

    /// Skip a step with a reason. Gates cannot be skipped: that would
    /// bypass their sign-offs.
    pub fn skip(&mut self, rb: &Runbook, i: usize, reason: &str, now: i64) -> Result<(), Refused> {
        self.check_open()?;
        if reason.trim().is_empty() {
            return refuse("skipping needs a reason");
        }
        if rb
            .step(i)
            .is_some_and(|s| matches!(s.action, super::StepAction::Gate(_)))
        {
            return refuse("a gate cannot be skipped; it needs its sign-offs");
        }
        if self.current(rb) != Some(i) {
            return refuse("only the current step can be skipped");
        }
        let run = &mut self.steps[i];
        if matches!(run.status, StepStatus::Running { .. }) {
            return refuse("cancel the step before skipping it");
        }
        run.status = StepStatus::Skipped {
            reason: reason.to_string(),
        };
        run.finished_at = Some(now);
        self.settle(rb, now);
        Ok(())
    }

    /// After a crash: a started step has no outcome.
    pub fn mark_interrupted(&mut self, i: usize) {
        let run = &mut self.steps[i];
        if matches!(run.status, StepStatus::Running { .. }) {
            run.status = StepStatus::Interrupted;
        }
    }

    /// The operator says an interrupted step in fact completed.
    pub fn mark_done(
        &mut self,
        rb: &Runbook,
        i: usize,
        note: &str,
        now: i64,
    ) -> Result<(), Refused> {
        self.check_open()?;
        if self.steps[i].status != StepStatus::Interrupted {
            return refuse("only an interrupted step can be marked done");
        }
        self.steps[i].status = StepStatus::Succeeded;
        self.steps[i].note = Some(note.to_string());
        self.steps[i].finished_at = Some(now);
        self.settle(rb, now);
        Ok(())
    }

    /// Stop the release for good.
    pub fn end(&mut self, status: ReleaseStatus, now: i64) -> Result<(), Refused> {
        self.check_open()?;
        if self.is_running_anything() {
            return refuse("a step is still running; cancel it first");
        }
        self.status = status;
        self.finished_at = Some(now);
        Ok(())
    }

    /// All steps settled: the release succeeded.
    pub(crate) fn settle(&mut self, rb: &Runbook, now: i64) {
        if self.current(rb).is_none() && self.status == ReleaseStatus::Running {
            self.status = ReleaseStatus::Succeeded;
            self.finished_at = Some(now);
        }
    }

    pub fn signoffs_for(&self, gate: &str) -> Vec<Signoff> {
        self.signoffs
            .iter()
            .filter(|s| s.gate == gate)
            .cloned()
            .collect()
    }
}
