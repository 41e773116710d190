//! One gate of one release as the sign-off rules judge it now, for the
//! checks made outside the store's write transaction (which decides again).

use std::collections::BTreeMap;

use crate::runbook::GateSpec;
use crate::runbook::gates::{self, Decision, GateTally, Refusal, Signoff};

pub struct GateNow<'a> {
    pub spec: &'a GateSpec,
    /// Role membership (`gates::members`).
    pub members: &'a BTreeMap<String, Vec<String>>,
    /// The gate's sign-offs so far.
    pub signoffs: &'a [Signoff],
    /// The content hash the driver binds sign-offs to now.
    pub hash: &'a str,
    pub initiator: &'a str,
}

impl GateNow<'_> {
    /// May `person` sign as `role` with `decision` (`gates::may_sign`)?
    pub fn may_sign(
        &self,
        person: &str,
        role: &str,
        decision: Decision,
        comment: &str,
    ) -> Result<(), Refusal> {
        gates::may_sign(
            self.spec,
            self.members,
            self.signoffs,
            self.hash,
            self.initiator,
            person,
            role,
            decision,
            comment,
        )
    }

    /// The tally over the sign-offs that may count (`gates::counted`).
    pub fn tally(&self) -> GateTally {
        gates::counted(
            self.spec,
            self.members,
            self.initiator,
            self.signoffs,
            self.hash,
        )
    }
}
