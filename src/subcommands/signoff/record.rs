//! The one path a sign-off takes into the journal, from `approve|reject`
//! and from the screen: name the person as the gate's identity mode asks,
//! then record it under the gate rule in the store's write transaction
//! (decided again there: with many people signing at once, only what the
//! gate still needs is recorded).

use std::collections::BTreeMap;
use std::path::Path;

use super::SignoffError;
use crate::backend::store::Store;
use crate::backend::store::team::GateRule;
use crate::runbook::GateSpec;
use crate::runbook::gates::{GateTally, Signoff};
use crate::runbook::identity::IdentityMode;

/// What a sign-off of one gate of one release is recorded under.
pub struct Recording<'a> {
    pub store: &'a Store,
    pub release_id: &'a str,
    pub spec: &'a GateSpec,
    /// Role membership (`gates::members`).
    pub members: &'a BTreeMap<String, Vec<String>>,
    /// The content hash sign-offs must be bound to now.
    pub hash: &'a str,
    pub mode: IdentityMode,
    pub ssh_key: Option<&'a Path>,
    pub allowed_signers: &'a Path,
}

impl Recording<'_> {
    /// Set `s.person` as the gate's identity mode names them
    /// (`FLIGHTDECK_USER` cannot name a signed or database person); the
    /// signature to record with it.
    pub async fn bind(&self, s: &mut Signoff) -> Result<Option<String>, SignoffError> {
        Ok(super::super::identity::bind_person(
            self.ssh_key,
            self.allowed_signers,
            self.store,
            self.mode,
            self.release_id,
            s,
        )
        .await?)
    }

    /// Record `s` (bound by `bind`, with its signature); the gate's tally
    /// after it.
    pub async fn record(
        &self,
        s: &Signoff,
        signature: Option<&str>,
    ) -> Result<GateTally, SignoffError> {
        let rule = GateRule {
            spec: self.spec,
            members: self.members,
            current_hash: self.hash,
        };
        self.store
            .record_signoff_as(self.release_id, s, signature, rule, self.mode)
            .await?
            .map_err(|why| SignoffError::Refused {
                why: why.to_string(),
            })
    }
}

/// "gate G: approver 2/2, security 0/1 — still needed: 1 × security".
pub fn describe(gate: &str, t: &GateTally) -> String {
    let roles: Vec<String> = t
        .roles
        .iter()
        .map(|r| format!("{} {}/{}", r.role, r.signed.len(), r.needed))
        .collect();
    let state = if let Some(r) = &t.rejection {
        format!("rejected by {}: the release stops", r.person)
    } else if t.satisfied() {
        "all sign-offs are in".to_string()
    } else {
        format!("still needed: {}", t.still_needed().join(", "))
    };
    format!("gate {gate}: {} — {state}", roles.join(", "))
}
