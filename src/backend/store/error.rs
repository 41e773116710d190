//! What went wrong in the journal, in words. Messages never carry a DSN
//! password: every URL-like text is passed through `redact` first.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum StoreError {
    /// Connecting or preparing the database failed. `target` is redacted.
    Open { target: String, reason: OpenProblem },
    /// Applying the schema migrations failed.
    Migrate {
        target: String,
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed; `what` says which write or read it was.
    Query { what: String, source: sqlx::Error },
    /// The audit key file could not be read, created or parsed.
    Key { path: PathBuf, reason: KeyProblem },
    /// The entry was refused before touching the database.
    Invalid(Invalid),
    /// A row in the database does not hold what the schema promises.
    Corrupt(String),
    /// The write carried a lease token that is no longer the release's
    /// (another terminal took over): the writer is not the driver any more.
    Fenced(Fence),
}

impl StoreError {
    /// `map_err` for data that does not decode as the schema promises;
    /// `what` names it ("a signoffs row", "the audit head").
    pub(crate) fn corrupt<E: fmt::Display>(what: &str) -> impl Fn(E) -> StoreError + use<E> {
        let what = what.to_string();
        move |e| StoreError::Corrupt(format!("{what}: {e}"))
    }

    pub(crate) fn query(what: impl Into<String>) -> impl Fn(sqlx::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Query {
            what: what.clone(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            StoreError::Open { target, reason } => {
                format!("cannot open the journal at {target}: {reason}")
            }
            StoreError::Migrate { target, source } => {
                format!("cannot update the journal schema at {target}: {source}")
            }
            StoreError::Query { what, source } => format!("journal: {what} failed: {source}"),
            StoreError::Key { path, reason } => {
                format!("audit key {}: {reason}", path.display())
            }
            StoreError::Invalid(why) => format!("journal entry refused: {why}"),
            StoreError::Corrupt(why) => format!("the journal holds unreadable data: {why}"),
            StoreError::Fenced(why) => {
                format!("write refused, you no longer drive this release: {why}")
            }
        };
        // Driver messages may echo a connection string: redact the lot.
        f.write_str(&redact(&text))
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Query { source, .. } => Some(source),
            StoreError::Migrate { source, .. } => Some(source),
            StoreError::Open { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenProblem {
    /// The database driver's own words.
    #[error("{0}")]
    Driver(#[source] sqlx::Error),
    #[error("sqlite URL parameters are not supported; give the file only")]
    SqliteParams,
    #[error("bad %-escape in the sqlite URL")]
    BadEscape,
    #[error("unknown scheme; use a file path, sqlite://, postgres:// or postgresql://")]
    UnknownScheme,
    #[error("the journal needs a file: an in-memory database would not survive a crash")]
    InMemory,
    #[error("{0}")]
    Path(#[source] std::io::Error),
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the path is not valid UTF-8")]
    NotUtf8,
}

/// Why a journal entry was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("a step outcome must be succeeded, failed or skipped, not {0:?}")]
    StepOutcome(String),
    #[error("a release ends succeeded, failed or aborted, not {0:?}")]
    ReleaseEnd(String),
    #[error("there is no release {0} to end")]
    NoRelease(String),
}

/// Why a lease token no longer lets its holder write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fence {
    #[error("{holder}@{host} took over release {release} (lease token {token}; yours was {yours})")]
    TakenOver {
        release: String,
        holder: String,
        host: String,
        token: i64,
        yours: i64,
    },
    #[error("release {release} has no lease (token {token} is unknown)")]
    NoLease { release: String, token: i64 },
    #[error("the lease of release {0} was given back")]
    GivenBack(String),
    #[error("the lease of release {0} is no longer yours")]
    NotYours(String),
}

/// What is wrong with the audit key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("is not hex")]
    NotHex,
    #[error("must hold 32 bytes (64 hex digits)")]
    WrongLength,
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("cannot create its directory: {0}")]
    CreateDir(#[source] std::io::Error),
    #[error("cannot create: {0}")]
    Create(#[source] std::io::Error),
}

/// Why a sign-off was refused by the gate's rules (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignoffRefused {
    #[error("there is no release {0}")]
    NoRelease(String),
    #[error("release {release} has already {status}")]
    Ended {
        release: String,
        status: &'static str,
    },
    #[error("the approved hash is not the release's current one (runbook or inputs changed)")]
    StaleHash,
    #[error("{0}")]
    Rule(crate::runbook::gates::Refusal),
    #[error("{person} already decided at gate {gate} for this content")]
    AlreadyDecided { person: String, gate: String },
}

/// The witness file of this machine could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("witness {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("witness {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing the witness {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why `watch` shows no releases from the journal (opened read-only).
#[derive(Debug, thiserror::Error)]
pub enum ReadOnlyError {
    #[error("no audit key at {}: releases from the journal are not shown", .0.display())]
    NoKey(PathBuf),
    #[error("{0}: releases from the journal are not shown")]
    Key(#[source] StoreError),
    /// The journal target itself is refused (not a path or a URL).
    #[error(transparent)]
    Target(#[from] StoreError),
    #[error("{shown}: {source}")]
    Path {
        shown: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no journal at {0}: releases from the journal are not shown")]
    NoJournal(String),
    #[error("journal {shown} unreadable: {}", redact(&source.to_string()))]
    Unreadable {
        shown: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the journal {0} has an older schema (a release run with this flightdeck updates it): releases from the journal are not shown"
    )]
    OlderSchema(String),
}

/// Mask credentials in any URL inside `text`: `user:pass@` becomes
/// `user:***@` (the userinfo ends at the last `@` of the authority, so a
/// password holding `/`, `?`, `#` or `@` is masked whole), and secret-looking
/// query values such as `password=...` become `***`.
pub fn redact(text: &str) -> String {
    crate::runbook::secrets::redact_urls(text)
}

#[cfg(test)]
mod tests {
    use super::{KeyProblem, ReadOnlyError, SignoffRefused, StoreError, redact};
    use crate::runbook::gates::Refusal;

    #[test]
    fn a_journal_target_is_refused_with_the_reason() {
        let e = crate::backend::store::classify(":memory:").err().unwrap();
        assert!(matches!(
            e,
            StoreError::Open {
                reason: super::OpenProblem::InMemory,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "cannot open the journal at :memory:: the journal needs a file: an in-memory database would not survive a crash"
        );
        let e = crate::backend::store::classify("mysql://u:pw@db/x")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "cannot open the journal at mysql://u:***@db/x: unknown scheme; use a file path, sqlite://, postgres:// or postgresql://"
        );
    }

    #[test]
    fn refusals_and_key_problems_read_as_before() {
        assert_eq!(
            SignoffRefused::Ended {
                release: "r1".into(),
                status: "aborted"
            }
            .to_string(),
            "release r1 has already aborted"
        );
        assert_eq!(
            SignoffRefused::AlreadyDecided {
                person: "bob".into(),
                gate: "go".into()
            }
            .to_string(),
            "bob already decided at gate go for this content"
        );
        assert_eq!(
            SignoffRefused::Rule(Refusal::Initiator).to_string(),
            Refusal::Initiator.to_string()
        );
        let e = StoreError::Key {
            path: "/k/audit.key".into(),
            reason: KeyProblem::WrongLength,
        };
        assert_eq!(
            e.to_string(),
            "audit key /k/audit.key: must hold 32 bytes (64 hex digits)"
        );
        assert_eq!(
            ReadOnlyError::NoKey("/k/audit.key".into()).to_string(),
            "no audit key at /k/audit.key: releases from the journal are not shown"
        );
    }

    #[test]
    fn masks_userinfo_and_password_params() {
        assert_eq!(
            redact("cannot reach postgres://deploy:s3cr%40t@db:5432/fd ok"),
            "cannot reach postgres://deploy:***@db:5432/fd ok"
        );
        assert_eq!(
            redact("postgresql://db/fd?user=a&password=hunter2&sslmode=require"),
            "postgresql://db/fd?user=a&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://u@db/fd"), "postgres://u@db/fd");
        assert_eq!(
            redact("postgres://fd:a/b?c#d@e@127.0.0.1:5432/fd: refused"),
            "postgres://fd:***@127.0.0.1:5432/fd: refused"
        );
        assert_eq!(redact("sqlite:///tmp/a b.db"), "sqlite:///tmp/a b.db");
    }
}
