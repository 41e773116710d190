//! `flightdeck watch`'s read-only look at the journal, on SQLite and on
//! PostgreSQL: the releases touching a Deployment come from the verified
//! chain and the kube steps of the runbook as recorded; nothing is created
//! or written; a missing journal, key or an older schema is one line.

#[path = "support/pg.rs"]
mod pg;

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::backend::store::ReadOnlyError;
use flightdeck::backend::store::readonly::open_read_only;
use flightdeck::backend::store::{AuditKey, Store};
use flightdeck::backend::watch_journal::touching;
use flightdeck::protocol::command::JournalEntry;
use flightdeck::runbook::progress::Release;
use sqlx::{AnyConnection, Connection};

const RUNBOOK: &str = r#"name: shop-release
environments:
  prod:
    kube: { namespace: shop }
inputs:
  app: { default: web }
stages:
  - id: s
    title: S
    steps:
      - id: pre
        title: Pre
        manual: { items: [Looked] }
      - id: roll
        title: Roll
        kube.restart:
          deployment: ${inputs.app}
      - id: other
        title: Other
        kube.wait:
          deployment: cache
          namespace: infra
"#;

async fn apply(store: &Store, e: JournalEntry) {
    store.apply(&e, "alice", "host-a").await.unwrap();
}

fn started(id: &str, step: &str) -> JournalEntry {
    JournalEntry::StepStarted {
        release_id: id.into(),
        step_id: step.into(),
        attempt: 1,
        at: 2_000,
    }
}

async fn audit_rows(raw_url: &str) -> i64 {
    let mut c = AnyConnection::connect(raw_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    n
}

/// The whole flow on one journal `target` (`raw_url`: the same database
/// for a plain sqlx connection).
async fn flow(target: &str, raw_url: &str, dir: &Path) {
    sqlx::any::install_default_drivers();
    let rb_path = dir.join("shop.yaml");
    std::fs::write(&rb_path, RUNBOOK).unwrap();
    let loaded = flightdeck::runbook::load(&rb_path).unwrap();
    let key_path = dir.join("audit.key");
    let store = Store::open(target, AuditKey::load_or_create(&key_path).unwrap())
        .await
        .unwrap();
    let inputs = BTreeMap::from([("app".to_string(), "web".to_string())]);
    let release = Release::new(
        "r1".into(),
        &loaded.runbook,
        loaded.content_hash.clone(),
        "prod".into(),
        inputs,
        "alice".into(),
        1_000,
    );
    apply(
        &store,
        JournalEntry::ReleaseStarted {
            release: Box::new(release.clone()),
            runbook_path: rb_path.display().to_string(),
        },
    )
    .await;
    apply(&store, started("r1", "pre")).await;
    apply(
        &store,
        JournalEntry::StepFinished {
            release_id: "r1".into(),
            step_id: "pre".into(),
            attempt: 1,
            status: "succeeded".into(),
            exit_code: None,
            detail: None,
            at: 3_000,
            output: vec![],
        },
    )
    .await;
    apply(&store, started("r1", "roll")).await;
    // A release written with another key (a forged row): never counted.
    let forger = Store::open(target, AuditKey::from_bytes([7; 32]))
        .await
        .unwrap();
    let mut forged = release.clone();
    forged.id = "r-forged".into();
    forger
        .apply(
            &JournalEntry::ReleaseStarted {
                release: Box::new(forged),
                runbook_path: rb_path.display().to_string(),
            },
            "mallory",
            "host-m",
        )
        .await
        .unwrap();
    forger.close().await;
    let before = audit_rows(raw_url).await;

    let mut reader = open_read_only(target, &key_path).await.unwrap();
    assert!(reader.refresh().await.unwrap());
    let (rows, note) = touching(&reader, "");
    let got: Vec<(String, String, String, usize, usize, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.namespace.clone(),
                r.deployment.clone(),
                r.step,
                r.steps,
                r.driver.clone(),
                r.state.clone(),
            )
        })
        .collect();
    let row = |ns: &str, d: &str| {
        (
            "r1".to_string(),
            ns.to_string(),
            d.to_string(),
            2,
            3,
            "alice".to_string(),
            "running".to_string(),
        )
    };
    // Sorted by namespace: the step's own namespace, the environment's pin.
    assert_eq!(got, [row("infra", "cache"), row("shop", "web")]);
    assert_eq!(rows[1].step_id, "roll");
    assert_eq!(rows[1].runbook, "shop-release");
    assert!(note.contains("1 release running"), "{note}");
    assert!(note.contains("1 audit entries not counted"), "{note}");
    // Nothing new read: nothing changes.
    assert!(!reader.refresh().await.unwrap());

    // The runbook file edited since: which Deployments it touches is not
    // known any more, and the note says so.
    std::fs::write(&rb_path, RUNBOOK.replace("cache", "other")).unwrap();
    let (rows, note) = touching(&reader, "");
    assert!(rows.is_empty(), "{rows:?}");
    assert!(
        note.contains("r1: runbook") && note.contains("changed since"),
        "{note}"
    );
    std::fs::write(&rb_path, RUNBOOK).unwrap();

    // Another cluster's release does not touch these Deployments.
    // (No content record here: the server is unknown, so it still counts.)
    assert_eq!(touching(&reader, "https://elsewhere:6443").0.len(), 2);

    // Ended: gone from the rows on the next read.
    apply(
        &store,
        JournalEntry::ReleaseEnded {
            release_id: "r1".into(),
            status: "succeeded".into(),
            at: 9_000,
        },
    )
    .await;
    assert!(reader.refresh().await.unwrap());
    let (rows, note) = touching(&reader, "");
    assert!(rows.is_empty(), "{rows:?}");
    assert!(note.contains("0 releases running"), "{note}");
    reader.close().await;
    // The reader wrote nothing.
    assert_eq!(audit_rows(raw_url).await, before + 1);
    store.close().await;

    // No key: one line, and no key file made.
    let no_key = dir.join("nokey/audit.key");
    let err = open_read_only(target, &no_key).await.err().unwrap();
    assert!(matches!(err, ReadOnlyError::NoKey(_)), "{err}");
    assert!(err.to_string().contains("no audit key"), "{err}");
    assert!(!no_key.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_touching_deployments_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    flow(
        &path.display().to_string(),
        &format!("sqlite://{}", path.display()),
        dir.path(),
    )
    .await;
}

#[tokio::test]
async fn a_missing_or_older_sqlite_journal_is_one_line_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    AuditKey::load_or_create(&key).unwrap();
    let missing = dir.path().join("none/journal.db");
    let err = open_read_only(&missing.display().to_string(), &key)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ReadOnlyError::NoJournal(_)), "{err}");
    assert!(err.to_string().contains("no journal at"), "{err}");
    assert!(!missing.exists() && !missing.parent().unwrap().exists());

    // A journal from before the migrations this version knows.
    sqlx::any::install_default_drivers();
    let old = dir.path().join("old.db");
    let mut c = AnyConnection::connect(&format!("sqlite://{}?mode=rwc", old.display()))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let err = open_read_only(&old.display().to_string(), &key)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ReadOnlyError::OlderSchema(_)), "{err}");
    assert!(err.to_string().contains("older schema"), "{err}");
    let mut c = AnyConnection::connect(&format!("sqlite://{}", old.display()))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert_eq!(tables, ["audit_log"], "nothing was migrated or created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_touching_deployments_on_postgres() {
    let server = pg::server_url();
    sqlx::any::install_default_drivers();
    let mut admin = AnyConnection::connect(&server).await.unwrap();
    let name = format!("fd_watch_{}", rand::random::<u32>());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = pg::with_database(&server, &name);
    let dir = tempfile::tempdir().unwrap();
    let u = url.clone();
    let outcome = tokio::spawn(async move { flow(&u, &u, dir.path()).await }).await;
    // An empty database: an older (no) schema, and still nothing created.
    let empty = format!("fd_watch_empty_{}", rand::random::<u32>());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {empty}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let kdir = tempfile::tempdir().unwrap();
    let key = kdir.path().join("audit.key");
    AuditKey::load_or_create(&key).unwrap();
    let err = open_read_only(&pg::with_database(&server, &empty), &key)
        .await
        .err();
    for db in [&name, &empty] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    admin.close().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    let err = err.expect("an empty database is refused");
    assert!(matches!(err, ReadOnlyError::OlderSchema(_)), "{err}");
    assert!(err.to_string().contains("older schema"), "{err}");
}
