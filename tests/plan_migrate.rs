//! `flightdeck plan` of a `migrate` step against the real PostgreSQL of
//! tests/support/start-postgres.sh: the schema version and the pending
//! migrations, read from the version table in a read-only session; an
//! irreversible one pending makes the step the point of no return. A
//! database that cannot be reached is named on the step.

#[path = "support/pg.rs"]
mod pg;

use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

/// A fresh database on which migration 1 is applied (as sqlx records it).
async fn at_version_1() -> String {
    let dsn = pg::fresh_database("plan").await;
    let mut db = PgConnection::connect(&dsn).await.unwrap();
    for sql in [
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
         checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
        "INSERT INTO _sqlx_migrations VALUES (1, 'add email', now(), true, '\\x00', 1)",
    ] {
        sqlx::query(sql).execute(&mut db).await.unwrap();
    }
    dsn
}

async fn plan(dsn: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("mig.yaml");
    std::fs::write(
        &runbook,
        format!(
            "name: mig\ninputs:\n  dsn: {{ pattern: 'postgres://.*' }}\nstages:\n  - id: db\n    title: Database\n    steps:\n      - id: migrate\n        migrate: {{ dsn: \"${{inputs.dsn}}\", dir: {}/tests/fixtures/migrations/data_flow }}\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(BIN)
        .env("FLIGHTDECK_CONFIG_DIR", dir.path().join("config"))
        .env("FLIGHTDECK_DATA_DIR", dir.path().join("data"))
        .args([
            "plan",
            runbook.to_str().unwrap(),
            "--format",
            "json",
            "--set",
        ])
        .arg(format!("dsn={dsn}"))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_plan_lists_pending_migrations_and_the_point_of_no_return() {
    let dsn = at_version_1().await;
    let plan = plan(&dsn).await;
    let step = &plan["steps"][0];
    assert_eq!(step["cluster"]["state"], "read", "{step:#}");
    assert_eq!(
        step["cluster"]["change"],
        json!({
            "kind": "migrations",
            "version": 1,
            "pending": [{ "version": 2, "description": "drop nickname", "irreversible": true }]
        })
    );
    assert_eq!(step["risk"], "irreversible");
    assert_eq!(plan["point_of_no_return"], "migrate");
    // Read only: the database is still at version 1.
    let mut db = PgConnection::connect(&dsn).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn an_unreachable_database_is_named_on_its_step() {
    let plan = plan("postgres://nobody@127.0.0.1:1/none").await;
    let slot = &plan["steps"][0]["cluster"];
    assert_eq!(slot["state"], "unavailable", "{slot:#}");
    assert!(
        slot["reason"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{slot:#}"
    );
}
