//! One audit entry as the domain sees it, and the typed fact it states.
//! Parsing is strict about the fields a fact needs and lenient about
//! extra ones (writers may add detail without breaking older readers).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::runbook::gates::{Decision, Signoff};
use crate::runbook::progress::ReleaseStatus;

/// A verified audit entry: its fields as stored, `detail` parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub release_id: Option<String>,
    /// Unix milliseconds, when the entry was written.
    pub at: i64,
    /// Who wrote it (the operator at that terminal).
    pub actor: String,
    pub host: String,
    pub kind: String,
    pub detail: Value,
}

/// A step attempt's journaled state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Intent written, no outcome yet.
    Started,
    Succeeded,
    Failed,
    Skipped,
    /// A check that could not decide (e.g. a metric query with no data).
    Inconclusive,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Started => "started",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Skipped => "skipped",
            RunState::Inconclusive => "inconclusive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "started" => RunState::Started,
            "succeeded" => RunState::Succeeded,
            "failed" => RunState::Failed,
            "skipped" => RunState::Skipped,
            "inconclusive" => RunState::Inconclusive,
            _ => return None,
        })
    }
}

/// What a `release_started` entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub runbook_name: String,
    pub runbook_path: String,
    pub runbook_hash: String,
    pub environment: String,
    pub inputs: BTreeMap<String, String>,
    pub initiator: String,
    pub started_at: i64,
}

/// The typed fact of one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    ReleaseStarted(Opened),
    StepStarted {
        step_id: String,
        attempt: u32,
        at: i64,
    },
    StepFinished {
        step_id: String,
        attempt: u32,
        state: RunState,
        exit_code: Option<i32>,
        detail: Option<String>,
        at: i64,
    },
    Signoff {
        signoff: Signoff,
        signature: Option<String>,
    },
    ResumeChoice {
        step_id: String,
        choice: String,
        person: String,
        at: i64,
    },
    ReleaseEnded {
        status: ReleaseStatus,
        at: i64,
    },
    BreakGlass {
        environment: String,
        reason: String,
        violations: Vec<String>,
    },
    /// `lease_acquired`, `lease_reclaimed`, `lease_taken_over`.
    Lease {
        token: i64,
        holder: String,
        host: String,
    },
    ContentChanged {
        old_hash: String,
        new_hash: String,
        changed: Vec<String>,
        at: i64,
    },
    /// Checklist items ticked one by one: (item, unix ms), by `person`.
    ChecklistTicked {
        step_id: String,
        attempt: u32,
        person: String,
        items: Vec<(String, i64)>,
        note: Option<String>,
        at: i64,
    },
    /// A kind this version does not know: kept, ignored by the state.
    Other,
}

/// Why an entry's detail does not state its kind's fact.
pub type Malformed = String;

impl Entry {
    /// The fact this entry states.
    pub fn fact(&self) -> Result<Fact, Malformed> {
        let d = Detail(&self.detail);
        Ok(match self.kind.as_str() {
            "release_started" => Fact::ReleaseStarted(Opened {
                runbook_name: d.text("runbook_name")?,
                runbook_path: d.text("runbook_path")?,
                runbook_hash: d.text("runbook_hash")?,
                environment: d.text("environment")?,
                inputs: d.map("inputs")?,
                initiator: d.text("initiator")?,
                started_at: d.int("started_at")?,
            }),
            "step_started" => Fact::StepStarted {
                step_id: d.text("step_id")?,
                attempt: d.attempt()?,
                at: d.int("at")?,
            },
            "step_finished" => {
                let status = d.text("status")?;
                Fact::StepFinished {
                    step_id: d.text("step_id")?,
                    attempt: d.attempt()?,
                    state: RunState::parse(&status)
                        .filter(|s| *s != RunState::Started)
                        .ok_or_else(|| format!("status: not a step outcome: {status:?}"))?,
                    exit_code: d
                        .opt_int("exit_code")?
                        .map(|c| i32::try_from(c).map_err(|_| format!("exit_code: {c}")))
                        .transpose()?,
                    detail: d.opt_text("detail")?,
                    at: d.int("at")?,
                }
            }
            "signoff" => {
                let decision = d.text("decision")?;
                Fact::Signoff {
                    signoff: Signoff {
                        gate: d.text("gate")?,
                        person: d.text("person")?,
                        host: d.text("host")?,
                        role: d.text("role")?,
                        decision: Decision::parse(&decision)
                            .ok_or_else(|| format!("decision: unknown {decision:?}"))?,
                        comment: d.text("comment")?,
                        approved_hash: d.text("approved_hash")?,
                        at: d.int("at")?,
                    },
                    signature: d.opt_text("signature")?,
                }
            }
            "resume_choice" => Fact::ResumeChoice {
                step_id: d.text("step_id")?,
                choice: d.text("choice")?,
                person: d.text("person")?,
                at: d.int("at")?,
            },
            "release_ended" => {
                let status = d.text("status")?;
                Fact::ReleaseEnded {
                    status: ReleaseStatus::parse(&status)
                        .filter(|s| s.is_final())
                        .ok_or_else(|| format!("status: not a final status: {status:?}"))?,
                    at: d.int("at")?,
                }
            }
            "break_glass" => Fact::BreakGlass {
                environment: d.text("environment")?,
                reason: d.text("reason")?,
                violations: d.list("violations")?,
            },
            "lease_acquired" | "lease_reclaimed" | "lease_taken_over" => Fact::Lease {
                token: d.int("token")?,
                holder: d.text("holder")?,
                host: d.text("host")?,
            },
            "content_changed" => Fact::ContentChanged {
                old_hash: d.text("old_hash")?,
                new_hash: d.text("new_hash")?,
                changed: d.list("changed")?,
                at: d.int("at")?,
            },
            "checklist_ticked" => Fact::ChecklistTicked {
                step_id: d.text("step_id")?,
                attempt: d.attempt()?,
                person: d.text("person")?,
                items: d.ticked("items")?,
                note: d.opt_text("note")?,
                at: d.int("at")?,
            },
            _ => Fact::Other,
        })
    }
}

/// Field readers that name the field they could not read.
struct Detail<'a>(&'a Value);

impl Detail<'_> {
    fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }
    fn text(&self, k: &str) -> Result<String, Malformed> {
        match self.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("{k}: not text")),
            None => Err(format!("{k}: missing")),
        }
    }
    fn opt_text(&self, k: &str) -> Result<Option<String>, Malformed> {
        self.get(k).map(|_| self.text(k)).transpose()
    }
    fn int(&self, k: &str) -> Result<i64, Malformed> {
        self.opt_int(k)?.ok_or_else(|| format!("{k}: missing"))
    }
    fn opt_int(&self, k: &str) -> Result<Option<i64>, Malformed> {
        self.get(k)
            .map(|v| v.as_i64().ok_or_else(|| format!("{k}: not an integer")))
            .transpose()
    }
    fn attempt(&self) -> Result<u32, Malformed> {
        let a = self.int("attempt")?;
        u32::try_from(a).map_err(|_| format!("attempt: {a} is out of range"))
    }
    fn map(&self, k: &str) -> Result<BTreeMap<String, String>, Malformed> {
        match self.get(k) {
            None => Ok(BTreeMap::new()),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| format!("{k}: not a map of text to text")),
        }
    }
    /// `[{ "item": text, "at": ms }, ...]`.
    fn ticked(&self, k: &str) -> Result<Vec<(String, i64)>, Malformed> {
        let Some(Value::Array(list)) = self.get(k) else {
            return Err(format!("{k}: not a list"));
        };
        list.iter()
            .map(|v| {
                let d = Detail(v);
                Ok((
                    d.text("item").map_err(|e| format!("{k}: {e}"))?,
                    d.int("at").map_err(|e| format!("{k}: {e}"))?,
                ))
            })
            .collect()
    }
    fn list(&self, k: &str) -> Result<Vec<String>, Malformed> {
        match self.get(k) {
            None => Ok(Vec::new()),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|_| format!("{k}: not a list of text"))
            }
        }
    }
}
