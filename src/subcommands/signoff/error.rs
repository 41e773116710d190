//! Why a sign-off from the command line was not recorded, and what the
//! person can do about it.

use super::signature::SignatureError;
use crate::backend::store::StoreError;
use crate::runbook::gates::Refusal;
use crate::runbook::identity::IdentityMode;
use crate::subcommands::Failure;
use crate::subcommands::identity::IdentityError;

#[derive(Debug, thiserror::Error)]
pub enum SignoffError {
    #[error("runbook {runbook} has no step {gate:?}")]
    NoStep {
        runbook: String,
        gate: String,
        /// The runbook's gates, to name in the suggestion.
        gates: Vec<String>,
    },
    #[error("step {gate:?} is a {kind}, not a gate")]
    NotAGate {
        gate: String,
        kind: &'static str,
        gates: Vec<String>,
    },
    #[error("gate {gate} of release {release} is over ({status}): a sign-off now changes nothing")]
    GateDecided {
        release: String,
        gate: String,
        status: &'static str,
    },
    /// The person could not be named as the gate's identity mode asks.
    #[error("refused: {0}")]
    Identity(#[from] IdentityError),
    /// The gate's rules refuse this person, role or decision.
    #[error("refused: {refusal} ({} identity: {person})", mode.as_str())]
    NotAllowed {
        refusal: Refusal,
        mode: IdentityMode,
        person: String,
        /// Who the runbook or config lists in the role (empty: anyone).
        members: Vec<String>,
    },
    /// Refused in the store's write transaction (decided on the audit
    /// log: the release finished, the content changed, someone else
    /// filled the role first).
    #[error("refused: {why}")]
    Refused { why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignoffError {
    /// The words for a screen, where "refused" is already said.
    pub fn reason(&self) -> String {
        match self {
            SignoffError::Identity(e) => e.to_string(),
            SignoffError::Refused { why } => why.clone(),
            other => other.to_string(),
        }
    }

    fn suggestion(&self) -> Option<String> {
        let gates = |gates: &[String]| {
            if gates.is_empty() {
                "this runbook has no gates".to_string()
            } else {
                format!("the runbook's gates: {}", gates.join(", "))
            }
        };
        Some(match self {
            SignoffError::NoStep { gates: g, .. } | SignoffError::NotAGate { gates: g, .. } => {
                format!("name a gate with --gate; {}", gates(g))
            }
            SignoffError::GateDecided { release, .. } => format!(
                "`flightdeck show {release}` shows where the release is; \
                 `flightdeck releases --waiting-for-me` lists the gates waiting for you"
            ),
            SignoffError::Identity(e) => return e.suggestion(),
            SignoffError::NotAllowed {
                refusal, members, ..
            } => refusal_suggestion(refusal, members),
            SignoffError::Refused { .. } => {
                "`flightdeck show RELEASE` shows the release and its sign-offs as recorded".into()
            }
            SignoffError::Store(_) => return None,
        })
    }
}

/// What to do when the gate's rules refuse a sign-off.
fn refusal_suggestion(refusal: &Refusal, members: &[String]) -> String {
    match refusal {
        Refusal::Initiator => "ask someone else to sign off: a release's initiator cannot".into(),
        Refusal::UnknownRole { roles, .. } => {
            format!("sign with --role as one of: {}", roles.join(", "))
        }
        Refusal::NotMember { role } => format!(
            "who may sign as {role}: {} (the runbook's `roles:`, else flightdeck.toml)",
            members.join(", ")
        ),
        Refusal::AlreadySigned { .. } => {
            "one person counts once per gate: someone else signs the other roles".into()
        }
        Refusal::RoleFull { role } => {
            format!("{role} is complete; `flightdeck show RELEASE` shows what is still needed")
        }
        Refusal::EmptyReason => "say why with --comment \"...\"".into(),
        Refusal::UnsafeComment(_) => "write the comment without control characters".into(),
    }
}

impl From<SignoffError> for Failure {
    fn from(e: SignoffError) -> Failure {
        let suggestion = e.suggestion();
        let f = match e {
            SignoffError::Store(e) => return e.into(),
            e @ (SignoffError::NoStep { .. } | SignoffError::NotAGate { .. }) => {
                Failure::invalid(e.to_string())
            }
            e => Failure::failed(e.to_string()),
        };
        match suggestion {
            Some(s) => f.suggest(s),
            None => f,
        }
    }
}

impl From<SignatureError> for Failure {
    fn from(e: SignatureError) -> Failure {
        let f = Failure::failed(e.to_string());
        match e {
            SignatureError::Spawn(_) => f.suggest("install OpenSSH's ssh-keygen (8.2 or newer)"),
            SignatureError::Timeout => {
                f.suggest("load the key into ssh-agent, or use a key without a passphrase")
            }
            _ => f,
        }
    }
}
