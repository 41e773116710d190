//! Dialogs, and the actions that ask before they happen.

use crate::runbook::gates::Decision;

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
    Signoff {
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
