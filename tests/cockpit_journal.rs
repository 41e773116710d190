//! Home's lists read from a real journal: releases made by the binary
//! (`run --headless`), read back by `HomeReader` as two people would see
//! them. SQLite here; PostgreSQL (LISTEN) when
//! FLIGHTDECK_TEST_DATABASE_URL is set.

use std::path::PathBuf;
use std::process::{Command, Output};

use flightdeck::backend::store::{AuditKey, Store};
use flightdeck::runbook::home::{Phase, WaitingKind};
use flightdeck::settings::Settings;
use flightdeck::subcommands::home_read::HomeReader;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

const GATED: &str = r#"
name: gated
environments:
  staging: {}
inputs:
  version: { pattern: 'v\d+' }
stages:
  - id: s
    title: S
    steps:
      - id: build
        command: { run: "true" }
      - id: approval
        title: Release approval
        gate: { roles: { release-approver: 1 } }
      - id: after
        command: { run: "true" }
"#;

const FAILS: &str = r#"
name: fails
stages:
  - id: s
    steps:
      - id: one
        command: { run: "true" }
      - id: two
        command: { run: "exit 3" }
"#;

const PASSES: &str = r#"
name: passes
stages:
  - id: s
    steps:
      - id: one
        command: { run: "true" }
"#;

struct Sandbox {
    dir: tempfile::TempDir,
    journal: String,
}

impl Sandbox {
    fn new(journal: Option<String>) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let journal =
            journal.unwrap_or_else(|| dir.path().join("data/journal.db").display().to_string());
        let sb = Sandbox { dir, journal };
        std::fs::create_dir_all(sb.runbooks()).unwrap();
        sb
    }

    fn runbooks(&self) -> PathBuf {
        self.dir.path().join("config/runbooks")
    }

    fn runbook(&self, name: &str, text: &str) -> String {
        let p = self.runbooks().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_STATE_DIR", self.dir.path().join(user))
            .env("FLIGHTDECK_USER", user)
            .env("FLIGHTDECK_JOURNAL", &self.journal)
            .env("FLIGHTDECK_AUDIT_KEY_FILE", self.key())
            .args(args)
            .output()
            .unwrap()
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("audit.key")
    }

    fn settings(&self, person: &str) -> Settings {
        Settings {
            config_dir: self.dir.path().join("config"),
            data_dir: self.dir.path().join("data"),
            state_dir: self.dir.path().join(format!("{person}-state")),
            journal: self.journal.clone(),
            person: person.into(),
            host: "test".into(),
            keymap: flightdeck::app::keymap::Keymap::defaults(),
            audit_key_path: self.key(),
            roles: Default::default(),
            ssh_key: None,
        }
    }

    async fn read(&self, person: &str) -> flightdeck::runbook::home::HomeSnapshot {
        let key = AuditKey::load(&self.key()).unwrap().unwrap();
        let store = Store::open(&self.journal, key).await.unwrap();
        // The working dir holds no runbooks: only the config dir's are found.
        let snap = HomeReader::default()
            .read(&store, &self.settings(person), self.dir.path())
            .await;
        store.close().await;
        snap
    }
}

fn release_of(o: &Output) -> String {
    let first = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    v["release"].as_str().unwrap().to_string()
}

/// Three releases: one waiting at a gate, one failed, one succeeded.
fn populate(sb: &Sandbox) -> (String, String, String) {
    let gated = sb.runbook("gated.yaml", GATED);
    let fails = sb.runbook("fails.yaml", FAILS);
    let passes = sb.runbook("passes.yaml", PASSES);
    sb.runbook("broken.yaml", "name: broken\nstages: 3\n");
    let g = sb.run(
        "alice",
        &["run", &gated, "--headless", "--set", "version=v7"],
    );
    assert_eq!(g.status.code(), Some(3), "waits at the gate");
    let f = sb.run("alice", &["run", &fails, "--headless"]);
    assert_eq!(f.status.code(), Some(1));
    let p = sb.run("carol", &["run", &passes, "--headless"]);
    assert_eq!(p.status.code(), Some(0));
    (release_of(&g), release_of(&f), release_of(&p))
}

async fn check(sb: &Sandbox) {
    let (gated, failed, passed) = populate(sb);
    let bob = sb.read("bob").await;
    assert_eq!(bob.problem, None);
    assert_eq!(bob.discarded, 0);
    // The approver sees the gate, in the roles the gate rules allow.
    assert_eq!(bob.waiting.len(), 1, "{:?}", bob.waiting);
    let w = &bob.waiting[0];
    assert_eq!(w.release_id, gated);
    assert_eq!(w.title, "Release approval");
    match &w.kind {
        WaitingKind::Gate { gate, roles, tally } => {
            assert_eq!(gate, "approval");
            assert_eq!(roles, &["release-approver".to_string()]);
            assert!(tally.contains("0/1"), "{tally}");
        }
        other => panic!("a gate: {other:?}"),
    }
    // Open first, then failed, then the rest.
    let ids: Vec<&str> = bob.releases.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [gated.as_str(), failed.as_str(), passed.as_str()]);
    let r = &bob.releases[0];
    assert_eq!(r.phase, Phase::Waiting);
    assert_eq!((r.done, r.total), (1, Some(3)));
    assert_eq!(r.at_step.as_deref(), Some("Release approval"));
    assert_eq!(bob.releases[1].phase, Phase::Failed);
    assert_eq!(bob.releases[2].phase, Phase::Succeeded);
    assert_eq!((bob.releases[2].done, bob.releases[2].total), (1, Some(1)));
    // Runbooks: the valid ones, then the broken one with file:line.
    let names: Vec<&str> = bob.runbooks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["fails", "gated", "passes", "broken"]);
    let err = bob.runbooks[3].error.as_deref().unwrap();
    assert!(err.contains("broken.yaml:2:"), "{err}");
    // The initiator may not sign their own gate: nothing waits for alice.
    let alice = sb.read("alice").await;
    assert!(alice.waiting.is_empty(), "{:?}", alice.waiting);
    // Once bob signs, the gate is gone from his list.
    let out = sb.run(
        "bob",
        &[
            "approve",
            &gated,
            "--gate",
            "approval",
            "--role",
            "release-approver",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bob = sb.read("bob").await;
    assert!(bob.waiting.is_empty(), "{:?}", bob.waiting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_lists_releases_gates_and_runbooks_from_a_sqlite_journal() {
    let sb = Sandbox::new(None);
    check(&sb).await;
    assert!(sb.read("bob").await.journal.starts_with("sqlite "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_release_row_is_not_listed() {
    let sb = Sandbox::new(None);
    populate(&sb);
    // A row written straight into the table, with no audit entry.
    let url = format!("sqlite://{}", sb.journal);
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO releases (id, runbook_name, runbook_path, runbook_hash, environment, inputs_json, initiator, host, status, started_at) \
             VALUES ('forged', 'gated', '/x', 'h', 'staging', '{}', 'mallory', 'x', 'running', 1)",
        )
        .execute(&mut c)
        .await
        .unwrap();
    }
    let bob = sb.read("bob").await;
    assert!(bob.releases.iter().all(|r| r.id != "forged"));
    assert_eq!(bob.releases.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_reads_a_postgres_journal_and_hears_its_writes() {
    let Ok(base) = std::env::var("FLIGHTDECK_TEST_DATABASE_URL") else {
        eprintln!("skipped: FLIGHTDECK_TEST_DATABASE_URL is not set");
        return;
    };
    let url = fresh_database(&base).await;
    let sb = Sandbox::new(Some(url.clone()));
    // LISTEN on every release: a write to any one is heard.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(flightdeck::backend::store::changes::listen_all(
        url.clone(),
        tx,
    ));
    assert_eq!(
        rx.recv().await,
        Some(flightdeck::backend::store::changes::Change::Resync)
    );
    check(&sb).await;
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .expect("a write is heard");
    assert!(matches!(
        heard,
        Some(flightdeck::backend::store::changes::Change::Write { .. })
    ));
    listener.abort();
    let bob = sb.read("bob").await;
    assert!(bob.journal.starts_with("postgres "), "{}", bob.journal);
    assert!(!bob.journal.contains("password"), "{}", bob.journal);
}

/// A new database on the test server, for this test alone.
async fn fresh_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("fd_home_{}", std::process::id());
    let mut c = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .unwrap();
    let (head, _) = base.rsplit_once('/').unwrap();
    format!("{head}/{name}")
}

const CHECKLIST: &str = r#"
name: checklist
stages:
  - id: s
    steps:
      - id: check
        manual:
          items:
            - Changelog written
            - On-call told
"#;

/// Ticked items are audit entries: folded into the record, and in the
/// report with who ticked each and when.
#[test]
fn ticked_items_are_in_the_record_and_the_report() {
    let sb = Sandbox::new(None);
    let rb = sb.runbook("checklist.yaml", CHECKLIST);
    let out = sb.run("alice", &["run", &rb, "--headless", "--ack", "check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = release_of(&out);
    let rep = sb.run("alice", &["report", &id, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&rep.stdout).unwrap();
    let ticks = &v["checklists_ticked"];
    assert_eq!(ticks.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(ticks[0]["person"], "alice");
    assert_eq!(ticks[0]["step"], "check");
    let items: Vec<&str> = ticks[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["Changelog written", "On-call told"]);
    let md = String::from_utf8_lossy(&sb.run("alice", &["show", &id]).stdout).to_string();
    assert!(md.contains("## Checklists ticked"), "{md}");
    assert!(md.contains("| check | 1 | On-call told | alice@"), "{md}");
    // The chain still verifies with the new kind in it.
    assert!(sb.run("alice", &["verify"]).status.success());
}
