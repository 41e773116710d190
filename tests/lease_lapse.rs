//! Issue 11 part 6 on a REAL PostgreSQL: a driver whose lease renewals stop
//! getting through keeps its own monotonic deadline; once it passes, it
//! starts no new step (what runs is left alone) and its header says it no
//! longer drives, until a renewal succeeds again.
//!
//! The renewals are held up by a row lock on the lease (the journal itself
//! keeps answering), so what stops the next step is the lapse alone.
//! Needs FLIGHTDECK_TEST_DATABASE_URL (a role that may CREATE DATABASE).

#[path = "support/pg.rs"]
mod pg;
use pg::{server_url, with_database};

#[path = "support/tmux.rs"]
mod tmux;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tmux::Tmux;

use sqlx::{AnyConnection, Connection};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

/// A fresh database, dropped at the end.
struct Db {
    name: String,
    url: String,
}

impl Db {
    async fn new() -> Db {
        sqlx::any::install_default_drivers();
        let server = server_url();
        let name = format!("fd_lapse_{}", rand::random::<u32>());
        let mut admin = AnyConnection::connect(&server).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Db {
            url: with_database(&server, &name),
            name,
        }
    }

    async fn drop_it(self) {
        if let Ok(mut admin) = AnyConnection::connect(&server_url()).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

async fn wait_for(tmux: &Tmux, text: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let s = tmux.screen(0);
        if s.contains(text) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} did not appear within {within:?}; screen:\n{s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn runbook(dir: &Path) -> PathBuf {
    let go = dir.join("go");
    let next = dir.join("next-ran");
    let p = dir.join("lapse.yaml");
    std::fs::write(
        &p,
        format!(
            "name: lapse
stages:
  - id: main
    steps:
      - id: hold
        title: Hold until told
        command: 'while [ ! -f {go} ]; do sleep 0.1; done; echo held step done'
      - id: next
        title: Next step
        command: 'touch {next}'
",
            go = go.display(),
            next = next.display()
        ),
    )
    .unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_whose_renewals_fail_stops_starting_steps_until_renewed() {
    let db = Db::new().await;
    let dir = tempfile::tempdir().unwrap();
    let rb = runbook(dir.path());
    let env = format!(
        "FLIGHTDECK_CONFIG_DIR='{c}' FLIGHTDECK_DATA_DIR='{d}' FLIGHTDECK_USER=alice \
         FLIGHTDECK_JOURNAL='{url}' FLIGHTDECK_AUDIT_KEY_FILE='{k}'",
        c = dir.path().join("config").display(),
        d = dir.path().join("data").display(),
        url = db.url,
        k = dir.path().join("audit.key").display(),
    );
    let tmux = Tmux::start("lapse", 1);
    let line = format!("{env} {BIN} tui {} --env default", rb.display());
    tmux.send(0, &[&line, "Enter"]);
    wait_for(&tmux, "you drive", Duration::from_secs(30)).await;
    tmux.send(0, &["g"]);
    wait_for(&tmux, "started pid", Duration::from_secs(30)).await;

    // Hold every renewal: lock the lease row in an open transaction.
    let mut lock = AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut lock).await.unwrap();
    sqlx::raw_sql("SELECT token FROM release_leases FOR UPDATE")
        .execute(&mut lock)
        .await
        .unwrap();
    let locked_at = Instant::now();
    let screen = wait_for(&tmux, "NOT DRIVING", Duration::from_secs(20)).await;
    // Not before the lease could have run out (10 s, less a margin; the
    // last renewal may have been up to 3 s before the lock).
    assert!(
        locked_at.elapsed() >= Duration::from_secs(5),
        "lapsed after {:?}:\n{screen}",
        locked_at.elapsed()
    );

    // The running step is left alone and ends; the next one does not start.
    std::fs::write(dir.path().join("go"), "").unwrap();
    wait_for(&tmux, "no step starts", Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !dir.path().join("next-ran").exists(),
        "a step started while the lease had lapsed:\n{}",
        tmux.screen(0)
    );
    assert!(tmux.screen(0).contains("NOT DRIVING"));

    // Renewals get through again: it drives on.
    sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
    wait_for(&tmux, "you drive", Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("next-ran").exists() {
        assert!(
            Instant::now() < deadline,
            "the next step never ran after the lease was renewed:\n{}",
            tmux.screen(0)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tmux.send(0, &["q"]);
    drop(tmux);
    lock.close().await.unwrap();
    db.drop_it().await;
}
