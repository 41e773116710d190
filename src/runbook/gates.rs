//! Sign-off rules for gates (docs/semantics.md, "Sign-off gates").

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::model::GateSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
    /// What the person did, as messages say it: "signed off" (approved)
    /// or "rejected".
    pub fn done(self) -> &'static str {
        match self {
            Decision::Approve => "signed off",
            Decision::Reject => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// One person's decision at one gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signoff {
    pub gate: String,
    pub person: String,
    pub host: String,
    pub role: String,
    pub decision: Decision,
    pub comment: String,
    /// Hash of what was approved (see `approval_hash`).
    pub approved_hash: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// The hash a sign-off is bound to: the runbook's content, the environment
/// and the resolved inputs. Change any of them and earlier sign-offs lapse.
pub fn approval_hash(
    runbook_hash: &str,
    environment: &str,
    inputs: &BTreeMap<String, String>,
) -> String {
    let mut h = Sha256::new();
    h.update(b"flightdeck-approval-v1\n");
    h.update(runbook_hash.as_bytes());
    h.update(b"\n");
    h.update(environment.as_bytes());
    for (k, v) in inputs {
        h.update(b"\n");
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
    }
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTally {
    pub role: String,
    pub needed: u32,
    pub signed: Vec<String>,
}

impl RoleTally {
    pub fn missing(&self) -> u32 {
        self.needed.saturating_sub(self.signed.len() as u32)
    }
}

/// Where a gate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateTally {
    pub roles: Vec<RoleTally>,
    pub rejection: Option<Signoff>,
    /// Sign-offs bound to another hash: they no longer count.
    pub stale: Vec<Signoff>,
    /// When the counts were met: the time of the sign-off that completed
    /// the last role (`None` while any role is short).
    pub met_at: Option<i64>,
}

impl GateTally {
    pub fn satisfied(&self) -> bool {
        self.rejection.is_none() && self.roles.iter().all(|r| r.missing() == 0)
    }

    /// What the gate still needs, one "N × role" per role short of its
    /// count (how the CLI, the screen and an expiry name what is missing).
    pub fn still_needed(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.missing() > 0)
            .map(|r| format!("{} × {}", r.missing(), r.role))
            .collect()
    }
}

/// Count the valid sign-offs of a gate.
pub fn tally(spec: &GateSpec, signoffs: &[Signoff], current_hash: &str) -> GateTally {
    let mut roles: Vec<RoleTally> = spec
        .roles
        .iter()
        .map(|(role, needed)| RoleTally {
            role: role.clone(),
            needed: *needed,
            signed: Vec::new(),
        })
        .collect();
    let mut counted: BTreeSet<&str> = BTreeSet::new();
    let mut rejection = None;
    let mut stale = Vec::new();
    for s in signoffs {
        if s.approved_hash != current_hash {
            stale.push(s.clone());
            continue;
        }
        if s.decision == Decision::Reject {
            rejection.get_or_insert_with(|| s.clone());
            continue;
        }
        // One person counts once per gate, whatever roles they hold.
        if !counted.insert(&s.person) {
            continue;
        }
        if let Some(r) = roles.iter_mut().find(|r| r.role == s.role) {
            r.signed.push(s.person.clone());
        }
    }
    let met_at = if roles.iter().all(|r| r.missing() == 0) {
        // The `needed`-th counted sign-off of each role completed it.
        let mut at_of = BTreeMap::new();
        for s in signoffs.iter().filter(|s| s.approved_hash == current_hash) {
            at_of.entry(s.person.as_str()).or_insert(s.at);
        }
        roles
            .iter()
            .filter_map(|r| {
                r.needed
                    .checked_sub(1)
                    .and_then(|k| r.signed.get(k as usize))
                    .and_then(|p| at_of.get(p.as_str()).copied())
            })
            .max()
            .or(Some(0))
    } else {
        None
    };
    GateTally {
        roles,
        rejection,
        stale,
        met_at,
    }
}

/// Where a waiting gate stands in time (soak and expiry), given when it
/// started waiting and the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateTiming {
    /// A rejection stops it.
    Rejected,
    /// Counts met and any soak served: it opens.
    Open,
    /// Counts met; it opens at `until` (unix ms).
    Soaking { until: i64 },
    /// Counts short; it fails at `deadline` if one is set.
    Waiting { deadline: Option<i64> },
    /// Counts still short at the deadline: it fails.
    Expired { deadline: i64 },
}

pub fn timing(spec: &GateSpec, t: &GateTally, started_at: Option<i64>, now: i64) -> GateTiming {
    if t.rejection.is_some() {
        return GateTiming::Rejected;
    }
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if let Some(met) = t.met_at.filter(|_| t.satisfied()) {
        return match spec.soak {
            Some(soak) if now < met.saturating_add(ms(soak)) => GateTiming::Soaking {
                until: met.saturating_add(ms(soak)),
            },
            _ => GateTiming::Open,
        };
    }
    let deadline = spec
        .expires
        .zip(started_at)
        .map(|(e, s)| s.saturating_add(ms(e)));
    match deadline {
        Some(d) if now >= d => GateTiming::Expired { deadline: d },
        _ => GateTiming::Waiting { deadline },
    }
}

/// Role membership: the runbook's list where it names the role, else the
/// config file's; a role named in neither is open to anyone. (A person's
/// own config cannot widen a role the runbook restricts.)
pub fn members(
    runbook: &BTreeMap<String, Vec<String>>,
    config: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = config.clone();
    out.extend(runbook.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Why a sign-off is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you started this release, so you cannot sign it off")]
    Initiator,
    #[error("this gate has no role {role:?} (roles: {})", roles.join(", "))]
    UnknownRole { role: String, roles: Vec<String> },
    #[error("you are not listed in role {role:?}")]
    NotMember { role: String },
    #[error("you already signed this gate (as {role}); one person counts once")]
    AlreadySigned { role: String },
    #[error("role {role:?} already has all the sign-offs it needs")]
    RoleFull { role: String },
    #[error("a rejection needs a reason")]
    EmptyReason,
    /// The comment holds control characters (the message says which).
    #[error(transparent)]
    UnsafeComment(#[from] crate::sanitize::ControlCharsError),
}

/// May `person` sign `spec` as `role`? `members` is the runbook's (or
/// config's) role membership; a role absent from it is open to anyone.
#[allow(clippy::too_many_arguments)]
pub fn may_sign(
    spec: &GateSpec,
    members: &BTreeMap<String, Vec<String>>,
    signoffs: &[Signoff],
    current_hash: &str,
    initiator: &str,
    person: &str,
    role: &str,
    decision: Decision,
    comment: &str,
) -> Result<(), Refusal> {
    crate::sanitize::refuse_controls("the comment", comment)?;
    if person == initiator {
        return Err(Refusal::Initiator);
    }
    if !spec.roles.iter().any(|(r, _)| r == role) {
        return Err(Refusal::UnknownRole {
            role: role.to_string(),
            roles: spec.roles.iter().map(|(r, _)| r.clone()).collect(),
        });
    }
    if let Some(list) = members.get(role)
        && !list.iter().any(|m| m == person)
    {
        return Err(Refusal::NotMember {
            role: role.to_string(),
        });
    }
    if decision == Decision::Reject {
        return if comment.trim().is_empty() {
            Err(Refusal::EmptyReason)
        } else {
            Ok(())
        };
    }
    let current: Vec<&Signoff> = signoffs
        .iter()
        .filter(|s| s.approved_hash == current_hash && s.decision == Decision::Approve)
        .collect();
    if let Some(prev) = current.iter().find(|s| s.person == person) {
        return Err(Refusal::AlreadySigned {
            role: prev.role.clone(),
        });
    }
    let t = tally(spec, signoffs, current_hash);
    if t.roles.iter().any(|r| r.role == role && r.missing() == 0) {
        return Err(Refusal::RoleFull {
            role: role.to_string(),
        });
    }
    Ok(())
}

/// The sign-offs of a gate that may count, each re-checked against the
/// rules `may_sign` applied when it was given (a row or entry written past
/// them does not count): not the initiator, a role of this gate, a member
/// of that role where membership is listed. The rest come back with why.
pub fn admissible(
    spec: &GateSpec,
    members: &BTreeMap<String, Vec<String>>,
    initiator: &str,
    signoffs: &[Signoff],
) -> (Vec<Signoff>, Vec<(Signoff, Refusal)>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for s in signoffs {
        let why = if s.person == initiator {
            Some(Refusal::Initiator)
        } else if !spec.roles.iter().any(|(r, _)| *r == s.role) {
            Some(Refusal::UnknownRole {
                role: s.role.clone(),
                roles: spec.roles.iter().map(|(r, _)| r.clone()).collect(),
            })
        } else if members
            .get(&s.role)
            .is_some_and(|list| !list.contains(&s.person))
        {
            Some(Refusal::NotMember {
                role: s.role.clone(),
            })
        } else if s.decision == Decision::Reject && s.comment.trim().is_empty() {
            Some(Refusal::EmptyReason)
        } else {
            None
        };
        match why {
            Some(why) => refused.push((s.clone(), why)),
            None => ok.push(s.clone()),
        }
    }
    (ok, refused)
}

/// The gate's tally over admissible sign-offs only; `tally` then counts
/// one person once and only sign-offs of the current approved hash.
pub fn counted(
    spec: &GateSpec,
    members: &BTreeMap<String, Vec<String>>,
    initiator: &str,
    signoffs: &[Signoff],
    current_hash: &str,
) -> GateTally {
    let (ok, _) = admissible(spec, members, initiator, signoffs);
    tally(spec, &ok, current_hash)
}
