//! The test PostgreSQL server (`tests/support/start-postgres.sh`) and fresh
//! databases on it, for the tests that need a real PostgreSQL journal.
#![allow(dead_code)]

pub const VAR: &str = "FLIGHTDECK_TEST_DATABASE_URL";

/// The server's URL; a clear panic when it is not set.
pub fn server_url() -> String {
    match std::env::var(VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{VAR} is not set, so the PostgreSQL tests cannot run.\n\
             Start a throwaway server with `eval \"$(bash tests/support/start-postgres.sh)\"` \
             (or point {VAR} at a postgres:// URL whose role may CREATE DATABASE) and run again."
        ),
    }
}

/// `url` with its database replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let end = base[start..].find('/').map_or(base.len(), |i| start + i);
    format!("{}/{name}{query}", &base[..end])
}

/// A fresh database `fd_{tag}_<random>` on the test server; its URL.
pub async fn fresh_database(tag: &str) -> String {
    use sqlx::Connection;
    let server = server_url();
    let name = format!("fd_{tag}_{:08x}", rand::random::<u32>());
    let mut admin = sqlx::postgres::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL ({VAR}): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    with_database(&server, &name)
}

#[test]
fn with_database_keeps_host_and_query() {
    assert_eq!(
        with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
        "postgres://u@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
}
