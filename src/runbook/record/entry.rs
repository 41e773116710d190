//! One audit entry as the domain sees it, and the typed fact it states.
//! Parsing is strict about the fields a fact needs and lenient about
//! extra ones (writers may add detail without breaking older readers).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::runbook::gates::{Decision, Signoff};
use crate::runbook::progress::ReleaseStatus;

/// What every audit entry carries besides its detail: its place in the
/// chain, its release, when, who, where, and what kind of fact it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub seq: i64,
    pub release_id: Option<String>,
    /// Unix milliseconds, when the entry was written.
    pub at: i64,
    /// Who wrote it (the operator at that terminal).
    pub actor: String,
    pub host: String,
    pub kind: String,
}

/// A verified audit entry: its stamp as stored, `detail` parsed. Reads as
/// its `Stamp` (`entry.seq`, `entry.kind`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub stamp: Stamp,
    pub detail: Value,
}

impl std::ops::Deref for Entry {
    type Target = Stamp;
    fn deref(&self) -> &Stamp {
        &self.stamp
    }
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
    /// Checklist items ticked one by one, by a person.
    ChecklistTicked(Ticks),
    /// A kind this version does not know: kept, ignored by the state.
    Other,
}

/// Why an entry's detail does not state its kind's fact: which field, and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {flaw}")]
pub struct Malformed {
    pub field: String,
    pub flaw: Flaw,
}

/// What is wrong with one field of an entry's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Flaw {
    #[error("missing")]
    Missing,
    #[error("not text")]
    NotText,
    #[error("not an integer")]
    NotInteger,
    #[error("{0} is out of range")]
    OutOfRange(i64),
    #[error("not a map of text to text")]
    NotTextMap,
    #[error("not a list")]
    NotList,
    #[error("not a list of text")]
    NotTextList,
    #[error("unknown {0:?}")]
    Unknown(String),
    #[error("not a step outcome: {0:?}")]
    NotOutcome(String),
    #[error("not a final status: {0:?}")]
    NotFinal(String),
}

/// `Type { field: reader, .. }`, each field read by `Detail::reader` from
/// the detail key of its name (or the key in parentheses): a key is
/// written once, next to the field it fills.
/// Checklist items a person ticked, one by one: what the app journals and
/// the `checklist_ticked` audit entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticks {
    pub step_id: String,
    pub attempt: u32,
    pub person: String,
    /// (item text, unix ms it was ticked), in the runbook's order.
    pub items: Vec<(String, i64)>,
    pub note: Option<String>,
    pub at: i64,
}

impl Ticks {
    /// The audit entry's detail: the inverse of reading it (`Entry::fact`).
    pub fn detail(&self) -> Value {
        serde_json::json!({
            "step_id": self.step_id,
            "attempt": self.attempt,
            "person": self.person,
            "items": self
                .items
                .iter()
                .map(|(item, at)| serde_json::json!({ "item": item, "at": at }))
                .collect::<Vec<_>>(),
            "note": self.note,
            "at": self.at,
        })
    }
}

macro_rules! read {
    ($d:expr, $($ty:ident)::+ { $($field:ident: $how:ident $(($key:literal))?),* $(,)? }) => {
        $($ty)::+ { $($field: $d.$how(read!(@key $field $($key)?))?),* }
    };
    (@key $field:ident $key:literal) => {
        $key
    };
    (@key $field:ident) => {
        stringify!($field)
    };
}

impl Entry {
    /// The fact this entry states.
    pub fn fact(&self) -> Result<Fact, Malformed> {
        let d = Detail(&self.detail);
        Ok(match self.kind.as_str() {
            "release_started" => Fact::ReleaseStarted(read!(
                d,
                Opened {
                    runbook_name: text,
                    runbook_path: text,
                    runbook_hash: text,
                    environment: text,
                    inputs: map,
                    initiator: text,
                    started_at: int,
                }
            )),
            "step_started" => read!(
                d,
                Fact::StepStarted {
                    step_id: text,
                    attempt: attempt,
                    at: int
                }
            ),
            "step_finished" => read!(
                d,
                Fact::StepFinished {
                    step_id: text,
                    attempt: attempt,
                    state: outcome("status"),
                    exit_code: exit_code,
                    detail: opt_text,
                    at: int,
                }
            ),
            "signoff" => Fact::Signoff {
                signoff: read!(
                    d,
                    Signoff {
                        gate: text,
                        person: text,
                        host: text,
                        role: text,
                        decision: decision,
                        comment: text,
                        approved_hash: text,
                        at: int,
                    }
                ),
                signature: d.opt_text("signature")?,
            },
            "resume_choice" => read!(
                d,
                Fact::ResumeChoice {
                    step_id: text,
                    choice: text,
                    person: text,
                    at: int,
                }
            ),
            "release_ended" => read!(
                d,
                Fact::ReleaseEnded {
                    status: final_status,
                    at: int
                }
            ),
            "break_glass" => read!(
                d,
                Fact::BreakGlass {
                    environment: text,
                    reason: text,
                    violations: list,
                }
            ),
            "lease_acquired" | "lease_reclaimed" | "lease_taken_over" => {
                read!(
                    d,
                    Fact::Lease {
                        token: int,
                        holder: text,
                        host: text
                    }
                )
            }
            "content_changed" => read!(
                d,
                Fact::ContentChanged {
                    old_hash: text,
                    new_hash: text,
                    changed: list,
                    at: int,
                }
            ),
            "checklist_ticked" => Fact::ChecklistTicked(read!(
                d,
                Ticks {
                    step_id: text,
                    attempt: attempt,
                    person: text,
                    items: ticked,
                    note: opt_text,
                    at: int,
                }
            )),
            _ => Fact::Other,
        })
    }
}

fn flaw(field: &str, flaw: Flaw) -> Malformed {
    Malformed {
        field: field.to_string(),
        flaw,
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
            Some(_) => Err(flaw(k, Flaw::NotText)),
            None => Err(flaw(k, Flaw::Missing)),
        }
    }
    fn opt_text(&self, k: &str) -> Result<Option<String>, Malformed> {
        self.get(k).map(|_| self.text(k)).transpose()
    }
    fn int(&self, k: &str) -> Result<i64, Malformed> {
        self.opt_int(k)?.ok_or_else(|| flaw(k, Flaw::Missing))
    }
    fn opt_int(&self, k: &str) -> Result<Option<i64>, Malformed> {
        self.get(k)
            .map(|v| v.as_i64().ok_or_else(|| flaw(k, Flaw::NotInteger)))
            .transpose()
    }
    fn attempt(&self, k: &str) -> Result<u32, Malformed> {
        let a = self.int(k)?;
        u32::try_from(a).map_err(|_| flaw(k, Flaw::OutOfRange(a)))
    }
    fn exit_code(&self, k: &str) -> Result<Option<i32>, Malformed> {
        self.opt_int(k)?
            .map(|c| i32::try_from(c).map_err(|_| flaw(k, Flaw::OutOfRange(c))))
            .transpose()
    }
    /// A step's outcome (`started` is not one).
    fn outcome(&self, k: &str) -> Result<RunState, Malformed> {
        let status = self.text(k)?;
        RunState::parse(&status)
            .filter(|s| *s != RunState::Started)
            .ok_or_else(|| flaw(k, Flaw::NotOutcome(status)))
    }
    fn final_status(&self, k: &str) -> Result<ReleaseStatus, Malformed> {
        let status = self.text(k)?;
        ReleaseStatus::parse(&status)
            .filter(|s| s.is_final())
            .ok_or_else(|| flaw(k, Flaw::NotFinal(status)))
    }
    fn decision(&self, k: &str) -> Result<Decision, Malformed> {
        let decision = self.text(k)?;
        Decision::parse(&decision).ok_or_else(|| flaw(k, Flaw::Unknown(decision)))
    }
    fn map(&self, k: &str) -> Result<BTreeMap<String, String>, Malformed> {
        match self.get(k) {
            None => Ok(BTreeMap::new()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| flaw(k, Flaw::NotTextMap)),
        }
    }
    /// `[{ "item": text, "at": ms }, ...]`; a bad one is named `k[i].field`.
    fn ticked(&self, k: &str) -> Result<Vec<(String, i64)>, Malformed> {
        let Some(Value::Array(list)) = self.get(k) else {
            return Err(flaw(k, Flaw::NotList));
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                let d = Detail(v);
                let inner = |e: Malformed| flaw(&format!("{k}[{i}].{}", e.field), e.flaw);
                Ok((d.text("item").map_err(inner)?, d.int("at").map_err(inner)?))
            })
            .collect()
    }
    fn list(&self, k: &str) -> Result<Vec<String>, Malformed> {
        match self.get(k) {
            None => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| flaw(k, Flaw::NotTextList)),
        }
    }
}
