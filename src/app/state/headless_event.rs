//! One line of `run --headless` output.

use serde::Serialize;

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
