//! The journal on PostgreSQL: the same flow as on SQLite, in a fresh
//! database created for the run and dropped after it.
//!
//! Needs FLIGHTDECK_TEST_DATABASE_URL (a role that may CREATE DATABASE).
//! Locally: `eval "$(tests/support/start-postgres.sh)"`.

#[path = "support/pg.rs"]
mod pg;
use pg::{VAR, server_url, with_database};

#[path = "support/journal_flow.rs"]
mod flow;

use flightdeck::backend::store::{Backend, redact};
use sqlx::{AnyConnection, Connection};

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
