//! What went wrong reaching a data service (PostgreSQL, Redis, TLS, a
//! webhook): which endpoint, what failed. DSNs are carried redacted; the
//! step's `Redactor` masks the rest where the text leaves the step.

use std::path::PathBuf;
use std::time::Duration;

use crate::runbook::duration::format_duration;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("invalid DSN {dsn}: {source}")]
    InvalidDsn {
        /// Redacted.
        dsn: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not connect to {dsn}: {}", pg_reason(source))]
    PgConnect {
        dsn: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not connect to {dsn}: no answer within {}", format_duration(*after))]
    PgNoAnswer { dsn: String, after: Duration },
    /// A query on an open connection failed.
    #[error("{}", pg_reason(.0))]
    Pg(#[source] sqlx::Error),
    #[error("cannot read migrations in {}: {source}", dir.display())]
    MigrationsDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {name}: {source}")]
    MigrationFile {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start {}: {source}", program.display())]
    ToolStart {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool}: {source}")]
    ToolWait {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} exited with {}: {last_line}", code.map_or("a signal".into(), |c| c.to_string()))]
    ToolExit {
        tool: String,
        code: Option<i32>,
        last_line: String,
    },
    #[error("{0}:// is not supported; use redis://host:port (TLS Redis is not checked)")]
    RedisScheme(String),
    #[error("database {0:?} is not a number")]
    RedisDatabase(String),
    #[error("could not connect to Redis at {address}: {}", io_reason(source))]
    RedisConnect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not connect to Redis at {address}: no answer within {}", format_duration(*after))]
    RedisNoAnswer { address: String, after: Duration },
    #[error("Redis connection: {0}")]
    RedisIo(#[source] std::io::Error),
    #[error("Redis did not answer {command} within {}", format_duration(*after))]
    RedisTimeout { command: String, after: Duration },
    #[error("cannot read the certificate: {0}")]
    Certificate(String),
    #[error("cannot read ca_file {path}: {source}")]
    CaFileRead {
        path: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("ca_file {path}: {source}")]
    CaFilePem {
        path: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("ca_file {path}: {source}")]
    CaFileCertificate {
        path: String,
        #[source]
        source: rustls::Error,
    },
    #[error("ca_file {0} holds no certificate")]
    CaFileEmpty(String),
    #[error("{0}")]
    Tls(#[source] rustls::Error),
    /// The last attempt's failure, in words (URL redacted).
    #[error("{why} (after {attempts} attempts)")]
    Webhook { why: String, attempts: u32 },
}

/// A PostgreSQL error as a person reads it: the server's message, or
/// "connection refused".
pub fn pg_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        other => other.to_string(),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        "connection refused".into()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::DataError;

    #[test]
    fn messages_name_the_endpoint_and_the_cause() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = DataError::RedisConnect {
            address: "127.0.0.1:1".into(),
            source: refused,
        };
        assert_eq!(
            e.to_string(),
            "could not connect to Redis at 127.0.0.1:1: connection refused"
        );
        let e = DataError::PgNoAnswer {
            dsn: "postgres://u:***@db/x".into(),
            after: Duration::from_secs(10),
        };
        assert_eq!(
            e.to_string(),
            "could not connect to postgres://u:***@db/x: no answer within 10.0s"
        );
        let e = DataError::ToolExit {
            tool: "pg_dump".into(),
            code: None,
            last_line: "terminated".into(),
        };
        assert_eq!(e.to_string(), "pg_dump exited with a signal: terminated");
        let e = DataError::ToolExit {
            tool: "pg_restore".into(),
            code: Some(1),
            last_line: "no such table".into(),
        };
        assert_eq!(e.to_string(), "pg_restore exited with 1: no such table");
        assert_eq!(
            DataError::RedisScheme("rediss".into()).to_string(),
            "rediss:// is not supported; use redis://host:port (TLS Redis is not checked)"
        );
        assert_eq!(
            DataError::Webhook {
                why: "https://h/*** answered 500".into(),
                attempts: 3
            }
            .to_string(),
            "https://h/*** answered 500 (after 3 attempts)"
        );
    }
}
