//! How strongly a sign-off names its person (TRUST.md rule 3): a claim
//! (the OS user or `FLIGHTDECK_USER`), an SSH signature whose
//! `allowed_signers` principal is the person, or the authenticated
//! PostgreSQL role of the session. Chosen per environment or per gate.

use std::collections::BTreeMap;

use super::gates::Signoff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityMode {
    /// The name the signer's environment gives: nobody checks it.
    #[default]
    Claim,
    /// An SSH signature over the whole sign-off record; the person is the
    /// key's principal in `allowed_signers`.
    Signed,
    /// The PostgreSQL role the session authenticated as (`session_user`).
    Database,
}

impl IdentityMode {
    pub fn parse(s: &str) -> Option<IdentityMode> {
        match s {
            "claim" => Some(IdentityMode::Claim),
            "signed" => Some(IdentityMode::Signed),
            "database" => Some(IdentityMode::Database),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMode::Claim => "claim",
            IdentityMode::Signed => "signed",
            IdentityMode::Database => "database",
        }
    }
}

/// The mode of `gate` in `environment`: the gate's own, else the
/// environment's, else a claim.
pub fn mode_for(
    gates: &BTreeMap<String, IdentityMode>,
    environment: Option<IdentityMode>,
    gate: &str,
) -> IdentityMode {
    gates.get(gate).copied().or(environment).unwrap_or_default()
}

/// The bytes an SSH signature covers: the whole sign-off record, one JSON
/// array (so no field can bleed into another). The person is not in it:
/// it is the signing key's principal.
pub fn signoff_record(release_id: &str, s: &Signoff) -> String {
    serde_json::json!([
        "flightdeck-signoff-v1",
        release_id,
        s.gate,
        s.role,
        s.decision.as_str(),
        s.approved_hash,
        s.at,
        s.comment,
    ])
    .to_string()
}

/// What an initiator signs to be named by their key when a release that
/// needs signed sign-offs starts.
pub fn start_record(release_id: &str, runbook: &str, environment: &str) -> String {
    serde_json::json!(["flightdeck-release-v1", release_id, runbook, environment]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::gates::Decision;

    #[test]
    fn every_field_is_in_the_signed_record() {
        let s = Signoff {
            gate: "g".into(),
            person: "bob".into(),
            host: "h".into(),
            role: "r".into(),
            decision: Decision::Approve,
            comment: "ok".into(),
            approved_hash: "abc".into(),
            at: 5,
        };
        let base = signoff_record("rel", &s);
        let variants = [
            signoff_record("rel2", &s),
            signoff_record(
                "rel",
                &Signoff {
                    gate: "h".into(),
                    ..s.clone()
                },
            ),
            signoff_record(
                "rel",
                &Signoff {
                    role: "x".into(),
                    ..s.clone()
                },
            ),
            signoff_record(
                "rel",
                &Signoff {
                    decision: Decision::Reject,
                    ..s.clone()
                },
            ),
            signoff_record(
                "rel",
                &Signoff {
                    approved_hash: "abd".into(),
                    ..s.clone()
                },
            ),
            signoff_record("rel", &Signoff { at: 6, ..s.clone() }),
            signoff_record(
                "rel",
                &Signoff {
                    comment: "ok!".into(),
                    ..s.clone()
                },
            ),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
        let gates = BTreeMap::from([("g".to_string(), IdentityMode::Signed)]);
        assert_eq!(mode_for(&gates, None, "g"), IdentityMode::Signed);
        assert_eq!(
            mode_for(&gates, Some(IdentityMode::Database), "other"),
            IdentityMode::Database
        );
        assert_eq!(mode_for(&BTreeMap::new(), None, "g"), IdentityMode::Claim);
    }
}
