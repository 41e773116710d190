//! The journal on PostgreSQL: the same flow as on SQLite, in a fresh
//! database created for the run and dropped after it.
//!
//! Needs FLIGHTDECK_TEST_DATABASE_URL (a role that may CREATE DATABASE).
//! Locally: `eval "$(tests/support/start-postgres.sh)"`.

#[path = "support/journal_flow.rs"]
mod flow;

use flightdeck::backend::store::{Backend, redact};
use sqlx::{AnyConnection, Connection};

const VAR: &str = "FLIGHTDECK_TEST_DATABASE_URL";

/// The server URL, or a loud failure: a suite that passes having run
/// nothing hides breakage.
fn server_url() -> String {
    match std::env::var(VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{VAR} is not set, so the PostgreSQL journal tests cannot run.\n\
             Start a throwaway server with `eval \"$(tests/support/start-postgres.sh)\"` \
             (or point {VAR} at a postgres:// URL whose role may CREATE DATABASE) and run again."
        ),
    }
}

/// `url` with its database name replaced (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..host_end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_flow_on_postgres() {
    let server = server_url();
    sqlx::any::install_default_drivers();
    let mut admin = AnyConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach {} ({VAR}): {e}", redact(&server)));
    let name = format!("fd_journal_{}", rand::random::<u32>());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();

    let url = with_database(&server, &name);
    let dir = tempfile::tempdir().unwrap();
    let db = flow::Db {
        target: url.clone(),
        raw_url: url,
        backend: Backend::Postgres,
    };
    // Drop the database even when the flow fails.
    let outcome = tokio::spawn(async move { flow::core_flow(&db, dir.path()).await }).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn database_name_is_swapped() {
    assert_eq!(
        with_database("postgres://u:p@h:1/postgres", "x"),
        "postgres://u:p@h:1/x"
    );
    assert_eq!(
        with_database("postgres://h/db?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h", "x"), "postgresql://h/x");
}
