//! The record's attacks on a shared PostgreSQL journal: a forged sign-off
//! row, a deleted tail, edited entries, a missing key. Needs
//! FLIGHTDECK_TEST_DATABASE_URL (a role that may CREATE DATABASE).

#[path = "support/pg.rs"]
mod pg;
use pg::{server_url, with_database};

#[path = "support/record_attacks.rs"]
mod attacks;

use attacks::{Sandbox, block};
use sqlx::{AnyConnection, Connection};

/// A fresh database for one test, dropped at the end.
struct Database {
    name: String,
    sandbox: Sandbox,
}

impl Database {
    fn new() -> Database {
        let server = server_url();
        let name = format!("fd_record_{}", rand::random::<u32>());
        block(async {
            sqlx::any::install_default_drivers();
            let mut admin = AnyConnection::connect(&server).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
        });
        Database {
            sandbox: Sandbox::postgres(with_database(&server, &name)),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let server = server_url();
        let name = self.name.clone();
        block(async move {
            if let Ok(mut admin) = AnyConnection::connect(&server).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
            }
        });
    }
}

#[test]
fn forged_signoff_row_opens_nothing_on_postgres() {
    attacks::forged_signoff_row_opens_nothing(&Database::new().sandbox);
}

#[test]
fn deleted_tail_is_caught_by_the_witness_on_postgres() {
    attacks::deleted_tail_is_caught_by_the_witness(&Database::new().sandbox);
}

#[test]
fn every_edited_entry_is_named_on_postgres() {
    attacks::every_edited_entry_is_named(&Database::new().sandbox);
}

#[test]
fn a_missing_key_stops_commands_on_postgres() {
    attacks::a_missing_key_stops_commands(&Database::new().sandbox);
}
