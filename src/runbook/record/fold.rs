//! The one fold: a release's state is what its verified audit entries say,
//! applied in order by `apply`. Resume, `show`/`report`, `approve`, team
//! watchers and `verify` all rebuild through it.

use std::collections::BTreeMap;
use std::fmt;

use super::entry::{Entry, Fact, Opened, RunState, Ticks};
use crate::runbook::gates::Signoff;
use crate::runbook::progress::ReleaseStatus;

/// What `release_started` fixed about the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub opened: Opened,
    /// The host the release was started on.
    pub host: String,
    pub seq: i64,
}

/// One attempt of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub step_id: String,
    pub attempt: u32,
    /// `None` for a step skipped without ever starting.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub state: RunState,
    pub exit_code: Option<i32>,
    /// Failure reason, skip reason or the person's note.
    pub detail: Option<String>,
    /// The entry of the attempt's last write: later writes have larger ones.
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSignoff {
    pub seq: i64,
    pub signoff: Signoff,
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeChoice {
    pub seq: i64,
    pub step_id: String,
    pub choice: String,
    pub person: String,
    pub host: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub seq: i64,
    pub person: String,
    pub host: String,
    pub at: i64,
    pub environment: String,
    pub reason: String,
    pub violations: Vec<String>,
}

/// A change of the release's driver (lease acquired, reclaimed, taken over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseChange {
    pub seq: i64,
    pub kind: String,
    pub token: i64,
    pub holder: String,
    pub host: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    pub seq: i64,
    pub old_hash: String,
    pub new_hash: String,
    pub changed: Vec<String>,
    pub at: i64,
}

/// Checklist items ticked by a person (`checklist_ticked`), with the
/// audit entry's number and host; reads as its `Ticks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistTicks {
    pub seq: i64,
    pub host: String,
    pub ticks: Ticks,
}

impl std::ops::Deref for ChecklistTicks {
    type Target = Ticks;
    fn deref(&self) -> &Ticks {
        &self.ticks
    }
}

impl std::ops::DerefMut for ChecklistTicks {
    fn deref_mut(&mut self) -> &mut Ticks {
        &mut self.ticks
    }
}

/// A release as its audit entries tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub id: String,
    /// `None` until its `release_started` entry is applied.
    pub header: Option<Header>,
    pub status: ReleaseStatus,
    pub finished_at: Option<i64>,
    /// Every attempt, in the order first written.
    pub attempts: Vec<Attempt>,
    pub signoffs: Vec<RecordedSignoff>,
    pub resume_choices: Vec<ResumeChoice>,
    pub break_glass: Vec<BreakGlass>,
    pub leases: Vec<LeaseChange>,
    pub content_changes: Vec<ContentChange>,
    /// Every content hash the release ran under, oldest first (empty when
    /// the content never changed).
    pub content_hashes: Vec<String>,
    /// Checklists ticked item by item, in journal order.
    pub checklists: Vec<ChecklistTicks>,
    /// Entries of kinds this version does not know: (seq, kind).
    pub ignored: Vec<(i64, String)>,
    /// The last entry applied.
    pub last_seq: i64,
}

/// An entry that does not fit the release it names. Never counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub seq: i64,
    pub release_id: Option<String>,
    pub kind: String,
    pub why: String,
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit entry {} ({}", self.seq, self.kind)?;
        if let Some(id) = &self.release_id {
            write!(f, " of release {id}")?;
        }
        write!(f, ") does not apply: {}", self.why)
    }
}

impl ReleaseRecord {
    pub fn new(id: &str) -> Self {
        ReleaseRecord {
            id: id.to_string(),
            header: None,
            status: ReleaseStatus::Running,
            finished_at: None,
            attempts: Vec::new(),
            signoffs: Vec::new(),
            resume_choices: Vec::new(),
            break_glass: Vec::new(),
            leases: Vec::new(),
            content_changes: Vec::new(),
            content_hashes: Vec::new(),
            checklists: Vec::new(),
            ignored: Vec::new(),
            last_seq: 0,
        }
    }

    /// The attempt `attempt` of `step_id`, if journaled.
    pub fn attempt(&self, step_id: &str, attempt: u32) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.step_id == step_id && a.attempt == attempt)
    }

    /// The sign-offs of one gate, in journal order.
    pub fn signoffs_for(&self, gate: &str) -> Vec<Signoff> {
        self.signoffs
            .iter()
            .filter(|s| s.signoff.gate == gate)
            .map(|s| s.signoff.clone())
            .collect()
    }
}

/// Fold `e` into `rec`. An entry that cannot apply leaves `rec` unchanged
/// and comes back as `Foreign`.
pub fn apply(rec: &mut ReleaseRecord, e: &Entry) -> Result<(), Foreign> {
    let foreign = |why: String| Foreign {
        seq: e.seq,
        release_id: e.release_id.clone(),
        kind: e.kind.clone(),
        why,
    };
    match e.release_id.as_deref() {
        Some(id) if id == rec.id => {}
        Some(id) => {
            return Err(foreign(format!(
                "it belongs to release {id}, not {}",
                rec.id
            )));
        }
        None => return Err(foreign("it names no release".into())),
    }
    if e.seq <= rec.last_seq {
        return Err(foreign(format!(
            "out of order (after entry {})",
            rec.last_seq
        )));
    }
    let fact = e.fact().map_err(|why| foreign(format!("detail {why}")))?;
    if rec.header.is_none() && !matches!(fact, Fact::ReleaseStarted(_) | Fact::Other) {
        return Err(foreign(format!(
            "release {} was never opened (no release_started entry before it)",
            rec.id
        )));
    }
    match fact {
        Fact::ReleaseStarted(opened) => {
            if let Some(h) = &rec.header {
                return Err(foreign(format!(
                    "release {} was already started by entry {}",
                    rec.id, h.seq
                )));
            }
            rec.header = Some(Header {
                opened,
                host: e.host.clone(),
                seq: e.seq,
            });
        }
        Fact::StepStarted {
            step_id,
            attempt,
            at,
        } => {
            if let Some(a) = rec.attempt(&step_id, attempt) {
                return Err(foreign(format!(
                    "attempt {attempt} of step {step_id} was already started (entry {})",
                    a.seq
                )));
            }
            rec.attempts.push(Attempt {
                step_id,
                attempt,
                started_at: Some(at),
                finished_at: None,
                state: RunState::Started,
                exit_code: None,
                detail: None,
                seq: e.seq,
            });
        }
        Fact::StepFinished {
            step_id,
            attempt,
            state,
            exit_code,
            detail,
            at,
        } => {
            match rec
                .attempts
                .iter_mut()
                .find(|a| a.step_id == step_id && a.attempt == attempt)
            {
                Some(a) => {
                    a.finished_at = Some(at);
                    a.state = state;
                    a.exit_code = exit_code;
                    a.detail = detail;
                    a.seq = e.seq;
                }
                // A skip needs no start; attempt 0 is a step settled
                // without ever running (e.g. marked done on resume).
                None if state == RunState::Skipped || attempt == 0 => {
                    rec.attempts.push(Attempt {
                        step_id,
                        attempt,
                        started_at: None,
                        finished_at: Some(at),
                        state,
                        exit_code,
                        detail,
                        seq: e.seq,
                    });
                }
                None => {
                    return Err(foreign(format!(
                        "an outcome for attempt {attempt} of step {step_id}, which never started"
                    )));
                }
            }
        }
        Fact::Signoff { signoff, signature } => rec.signoffs.push(RecordedSignoff {
            seq: e.seq,
            signoff,
            signature,
        }),
        Fact::ResumeChoice {
            step_id,
            choice,
            person,
            at,
        } => rec.resume_choices.push(ResumeChoice {
            seq: e.seq,
            step_id,
            choice,
            person,
            host: e.host.clone(),
            at,
        }),
        Fact::ReleaseEnded { status, at } => {
            if rec.status.is_final() {
                return Err(foreign(format!(
                    "release {} had already ended {}",
                    rec.id,
                    rec.status.as_str()
                )));
            }
            rec.status = status;
            rec.finished_at = Some(at);
        }
        Fact::BreakGlass {
            environment,
            reason,
            violations,
        } => rec.break_glass.push(BreakGlass {
            seq: e.seq,
            person: e.actor.clone(),
            host: e.host.clone(),
            at: e.at,
            environment,
            reason,
            violations,
        }),
        Fact::Lease {
            token,
            holder,
            host,
        } => rec.leases.push(LeaseChange {
            seq: e.seq,
            kind: e.kind.clone(),
            token,
            holder,
            host,
            at: e.at,
        }),
        Fact::ContentChanged {
            old_hash,
            new_hash,
            changed,
            at,
        } => {
            if rec.content_hashes.is_empty() {
                rec.content_hashes.push(old_hash.clone());
            }
            if rec.content_hashes.last() != Some(&new_hash) {
                rec.content_hashes.push(new_hash.clone());
            }
            rec.content_changes.push(ContentChange {
                seq: e.seq,
                old_hash,
                new_hash,
                changed,
                at,
            });
        }
        Fact::ChecklistTicked(ticks) => {
            if rec.attempt(&ticks.step_id, ticks.attempt).is_none() {
                return Err(foreign(format!(
                    "checklist ticks for attempt {} of step {}, which never started",
                    ticks.attempt, ticks.step_id
                )));
            }
            rec.checklists.push(ChecklistTicks {
                seq: e.seq,
                host: e.host.clone(),
                ticks,
            });
        }
        Fact::Other => rec.ignored.push((e.seq, e.kind.clone())),
    }
    rec.last_seq = e.seq;
    Ok(())
}

/// Fold the entries of release `id` (in seq order). `None` when no entry
/// opened it; the entries that did not apply come back beside it.
pub fn fold<'a>(
    id: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> (Option<ReleaseRecord>, Vec<Foreign>) {
    let mut rec = ReleaseRecord::new(id);
    let mut foreign = Vec::new();
    for e in entries {
        if let Err(f) = apply(&mut rec, e) {
            foreign.push(f);
        }
    }
    (rec.header.is_some().then_some(rec), foreign)
}

/// Fold a whole journal: every release that an entry opened, by id.
/// Entries without a release id are not release facts and are skipped.
pub fn fold_all<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
) -> (BTreeMap<String, ReleaseRecord>, Vec<Foreign>) {
    let mut by_release: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if let Some(id) = e.release_id.as_deref() {
            by_release.entry(id).or_default().push(e);
        }
    }
    let mut records = BTreeMap::new();
    let mut foreign = Vec::new();
    for (id, list) in by_release {
        let (rec, mut f) = fold(id, list);
        foreign.append(&mut f);
        if let Some(rec) = rec {
            records.insert(id.to_string(), rec);
        }
    }
    foreign.sort_by_key(|f| f.seq);
    (records, foreign)
}
