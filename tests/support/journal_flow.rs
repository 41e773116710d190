//! The journal flow both backends must pass, against a real database.
//! Included by tests/journal_sqlite.rs and tests/journal_postgres.rs.

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::backend::store::{self, AuditKey, Backend, BrokenWhy, Store, StoreError};
use flightdeck::protocol::command::JournalEntry;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::progress::{Release, ReleaseStatus, StepStatus};
use flightdeck::runbook::{self, Runbook};
use sqlx::{AnyConnection, Connection, Row};

pub const RUNBOOK: &str = r#"
name: journal-test
description: Steps of every kind.
environments:
  staging:
    description: Staging.
stages:
  - id: main
    title: Main
    steps:
      - id: build
        title: Build
        command:
          run: echo build
      - id: checklist
        title: Checklist
        manual:
          items: [notes reviewed]
      - id: approval
        title: Approval
        gate:
          roles:
            approver: 1
      - id: deploy
        title: Deploy
        command:
          run: echo deploy
      - id: announce
        title: Announce
        command:
          run: echo announce
"#;

/// Where the journal under test lives.
pub struct Db {
    /// What `Store::open` is given.
    pub target: String,
    /// A URL for raw SQL from outside the store (the tampering).
    pub raw_url: String,
    pub backend: Backend,
}

impl Db {
    /// Statements that remove the append-only guard, as an attacker would.
    fn unguard(&self) -> &'static [&'static str] {
        match self.backend {
            Backend::Sqlite => &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
            ],
            Backend::Postgres => &["DROP TRIGGER audit_log_no_change ON audit_log"],
        }
    }
}

const RID: &str = "r20250101-000000-abcd";

fn runbook() -> Runbook {
    runbook::parse_str(RUNBOOK, Path::new("journal-test.yaml"))
        .unwrap_or_else(|e| panic!("test runbook: {e}"))
        .runbook
}

fn release(rb: &Runbook) -> Release {
    let inputs = BTreeMap::from([("version".to_string(), "v1.2.3".to_string())]);
    Release::new(
        RID.into(),
        rb,
        "hash-1".into(),
        "staging".into(),
        inputs,
        "alice".into(),
        1_000,
    )
}

fn started(step: &str, attempt: u32, at: i64) -> JournalEntry {
    JournalEntry::StepStarted {
        release_id: RID.into(),
        step_id: step.into(),
        attempt,
        at,
    }
}

fn finished(
    step: &str,
    attempt: u32,
    status: &str,
    detail: Option<&str>,
    output: &[&str],
) -> JournalEntry {
    JournalEntry::StepFinished {
        release_id: RID.into(),
        step_id: step.into(),
        attempt,
        status: status.into(),
        exit_code: match status {
            "succeeded" => Some(0),
            "failed" => Some(3),
            _ => None,
        },
        detail: detail.map(str::to_string),
        at: 5_000,
        output: output.iter().map(|s| s.to_string()).collect(),
    }
}

fn signoff() -> Signoff {
    Signoff {
        gate: "approval".into(),
        person: "bob".into(),
        host: "bob-laptop".into(),
        role: "approver".into(),
        decision: Decision::Approve,
        comment: "looks good".into(),
        approved_hash: "approved-hash".into(),
        at: 4_000,
    }
}

async fn apply(store: &Store, e: JournalEntry) {
    store
        .apply(&e, "alice", "alice-laptop")
        .await
        .unwrap_or_else(|err| panic!("apply {e:?}: {err}"));
}

async fn rebuilt(store: &Store, rb: &Runbook) -> (Release, Vec<Vec<String>>) {
    let stored = store
        .load_release(RID)
        .await
        .unwrap()
        .expect("release is stored");
    (
        store::rebuild(rb, &stored),
        store::step_outputs(rb, &stored),
    )
}

fn status_of<'a>(r: &'a Release, step: &str) -> &'a StepStatus {
    &r.steps.iter().find(|s| s.step_id == step).unwrap().status
}

async fn audit_count(store: &Store, key: &AuditKey) -> u64 {
    let report = store.verify_audit(key).await.unwrap();
    assert!(report.ok(), "{report}");
    report.entries
}

/// The whole flow: write, rebuild, refuse, acknowledge, survive a reopen,
/// and catch tampering.
pub async fn core_flow(db: &Db, config_dir: &Path) {
    let key = AuditKey::load_or_create(&config_dir.join("audit.key")).unwrap();
    let store = Store::open(&db.target, key.clone()).await.unwrap();
    assert_eq!(store.backend(), db.backend);
    let rb = runbook();

    // An empty journal verifies.
    assert_eq!(audit_count(&store, &key).await, 0);
    assert_eq!(store.latest_release().await.unwrap(), None);

    apply(
        &store,
        JournalEntry::ReleaseStarted {
            release: Box::new(release(&rb)),
            runbook_path: "/runbooks/journal-test.yaml".into(),
        },
    )
    .await;
    assert_eq!(
        store
            .latest_open_release("journal-test", "staging")
            .await
            .unwrap()
            .as_deref(),
        Some(RID)
    );
    assert_eq!(
        store
            .latest_open_release("journal-test", "prod")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.latest_release().await.unwrap().as_deref(), Some(RID));

    // Intent without an outcome: after a crash that is Interrupted, never Running.
    apply(&store, started("build", 1, 2_000)).await;
    let (r, _) = rebuilt(&store, &rb).await;
    assert_eq!(*status_of(&r, "build"), StepStatus::Interrupted);
    assert_eq!(r.steps[0].attempts, 1);
    assert_eq!(r.steps[0].started_at, Some(2_000));
    assert_eq!(*status_of(&r, "deploy"), StepStatus::Pending);
    assert_eq!(r.inputs.get("version").map(String::as_str), Some("v1.2.3"));
    assert_eq!(r.status, ReleaseStatus::Running);

    // The outcome settles it, with its output.
    apply(
        &store,
        finished(
            "build",
            1,
            "succeeded",
            None,
            &["compiling SECRET-FREE", "done"],
        ),
    )
    .await;
    let (r, outputs) = rebuilt(&store, &rb).await;
    assert_eq!(*status_of(&r, "build"), StepStatus::Succeeded);
    assert_eq!(r.steps[0].exit_code, Some(0));
    assert_eq!(
        outputs[0],
        vec!["compiling SECRET-FREE".to_string(), "done".to_string()]
    );

    // A manual step started and not finished waits for its person again.
    apply(&store, started("checklist", 1, 2_500)).await;
    assert_eq!(
        *status_of(&rebuilt(&store, &rb).await.0, "checklist"),
        StepStatus::Waiting
    );
    apply(
        &store,
        finished("checklist", 1, "succeeded", Some("all read"), &[]),
    )
    .await;
    let (r, _) = rebuilt(&store, &rb).await;
    assert_eq!(r.steps[1].note.as_deref(), Some("all read"));

    // A gate: waiting, then a sign-off round-trips.
    apply(&store, started("approval", 1, 3_000)).await;
    assert_eq!(
        *status_of(&rebuilt(&store, &rb).await.0, "approval"),
        StepStatus::Waiting
    );
    apply(
        &store,
        JournalEntry::Signoff {
            release_id: RID.into(),
            signoff: signoff(),
        },
    )
    .await;
    apply(&store, finished("approval", 1, "succeeded", None, &[])).await;
    let (r, _) = rebuilt(&store, &rb).await;
    assert_eq!(r.signoffs, vec![signoff()]);
    assert_eq!(*status_of(&r, "approval"), StepStatus::Succeeded);

    // A failure, a retry that is interrupted, and the operator's choice.
    apply(&store, started("deploy", 1, 6_000)).await;
    apply(
        &store,
        finished("deploy", 1, "failed", Some("exit status 3"), &["boom"]),
    )
    .await;
    assert_eq!(
        *status_of(&rebuilt(&store, &rb).await.0, "deploy"),
        StepStatus::Failed {
            reason: "exit status 3".into()
        }
    );
    apply(&store, started("deploy", 2, 7_000)).await;
    let (r, outputs) = rebuilt(&store, &rb).await;
    assert_eq!(*status_of(&r, "deploy"), StepStatus::Interrupted);
    assert_eq!(r.steps[3].attempts, 2);
    assert!(
        outputs[3].is_empty(),
        "the interrupted attempt stored no output"
    );
    apply(
        &store,
        JournalEntry::ResumeChoice {
            release_id: RID.into(),
            step_id: "deploy".into(),
            choice: "mark-done".into(),
            person: "alice".into(),
            at: 8_000,
        },
    )
    .await;
    apply(
        &store,
        finished("deploy", 2, "succeeded", Some("checked by hand"), &[]),
    )
    .await;

    // A skip of a step that never started is journaled as attempt 0.
    apply(
        &store,
        finished("announce", 0, "skipped", Some("quiet release"), &[]),
    )
    .await;
    let stored = store.load_release(RID).await.unwrap().unwrap();
    let r = store::rebuild(&rb, &stored);
    assert_eq!(
        *status_of(&r, "announce"),
        StepStatus::Skipped {
            reason: "quiet release".into()
        }
    );
    assert_eq!((r.steps[4].attempts, r.steps[4].started_at), (0, None));
    assert_eq!(*status_of(&r, "deploy"), StepStatus::Succeeded);
    assert_eq!(stored.resume_choices.len(), 1);
    assert_eq!(stored.resume_choices[0].choice, "mark-done");
    assert_eq!(stored.host, "alice-laptop");
    assert!(
        r.steps
            .iter()
            .all(|s| !matches!(s.status, StepStatus::Running { .. }))
    );

    // Refused entries write nothing, not even an audit entry.
    let before = audit_count(&store, &key).await;
    let bad_status = finished("deploy", 2, "interrupted", None, &[]);
    assert!(matches!(
        store.apply(&bad_status, "alice", "h").await,
        Err(StoreError::Invalid(store::Invalid::StepOutcome(_)))
    ));
    let orphan = JournalEntry::StepStarted {
        release_id: "no-such-release".into(),
        step_id: "build".into(),
        attempt: 1,
        at: 1,
    };
    assert!(
        store.apply(&orphan, "alice", "h").await.is_err(),
        "foreign keys are on"
    );
    assert!(
        store
            .apply(&started("build", 1, 9), "alice", "h")
            .await
            .is_err(),
        "an attempt starts once"
    );
    let end_orphan = JournalEntry::ReleaseEnded {
        release_id: "no-such-release".into(),
        status: "aborted".into(),
        at: 1,
    };
    assert!(store.apply(&end_orphan, "alice", "h").await.is_err());
    assert_eq!(audit_count(&store, &key).await, before);

    // The backend task: in order, acknowledged only once committed.
    let (jtx, jrx) = tokio::sync::mpsc::unbounded_channel();
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(store::run(
        store.clone(),
        "alice".into(),
        "alice-laptop".into(),
        jrx,
        etx,
    ));
    jtx.send((41, bad_status)).unwrap();
    jtx.send((
        42,
        JournalEntry::ReleaseEnded {
            release_id: RID.into(),
            status: "succeeded".into(),
            at: 10_000,
        },
    ))
    .unwrap();
    drop(jtx);
    match erx.recv().await {
        Some(BackendEvent::Journaled {
            op: 41,
            error: Some(e),
        }) => assert!(e.contains("interrupted"), "{e}"),
        other => panic!("expected op 41 to fail: {other:?}"),
    }
    assert_eq!(
        erx.recv().await,
        Some(BackendEvent::Journaled {
            op: 42,
            error: None
        })
    );
    task.await.unwrap();
    assert_eq!(
        store
            .latest_open_release("journal-test", "staging")
            .await
            .unwrap(),
        None
    );
    let list = store.list_releases(10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].status, list[0].finished_at),
        (ReleaseStatus::Succeeded, Some(10_000))
    );

    // Appends from two handles at once (two operators) never fork the chain.
    let other = Store::open(&db.target, key.clone()).await.unwrap();
    let before = audit_count(&store, &key).await;
    let writes = (0..16).map(|i| {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        async move {
            let e = JournalEntry::ResumeChoice {
                release_id: RID.into(),
                step_id: "deploy".into(),
                choice: format!("re-check {i}"),
                person: "carol".into(),
                at: 11_000 + i,
            };
            s.apply(&e, "carol", "carol-laptop").await
        }
    });
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    other.close().await;
    assert_eq!(audit_count(&store, &key).await, before + 16);

    // Audit details carry ids and outcomes, never step output.
    let mut raw = raw_connection(db).await;
    let details: Vec<String> = sqlx::query_scalar("SELECT detail_json FROM audit_log ORDER BY seq")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert!(
        details.iter().all(|d| !d.contains("SECRET-FREE")),
        "output leaked into the audit log"
    );
    assert!(details.iter().any(|d| d.contains("exit status 3")));

    // Durability: drop the store, reopen, everything is still there.
    let snapshot = store.load_release(RID).await.unwrap().unwrap();
    let total = audit_count(&store, &key).await;
    store.close().await;
    drop(store);
    let store = Store::open(&db.target, key.clone()).await.unwrap();
    assert_eq!(
        store.load_release(RID).await.unwrap().as_ref(),
        Some(&snapshot)
    );
    assert_eq!(audit_count(&store, &key).await, total);

    // A different key does not verify.
    let stranger = AuditKey::from_bytes([7; 32]);
    let report = store.verify_audit(&stranger).await.unwrap();
    assert_eq!(
        report.broken.map(|b| (b.seq, b.why)),
        Some((1, BrokenWhy::MacMismatch))
    );

    tamper(db, &store, &key, &mut raw, total).await;
    store.close().await;
    raw.close().await.unwrap();
}

async fn raw_connection(db: &Db) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&db.raw_url)
        .await
        .expect("raw connection for tampering")
}

async fn tamper(db: &Db, store: &Store, key: &AuditKey, raw: &mut AnyConnection, total: u64) {
    // The guard refuses casual edits...
    let edit = sqlx::query("UPDATE audit_log SET detail_json = '{}' WHERE seq = 3")
        .execute(&mut *raw)
        .await;
    assert!(edit.is_err(), "audit_log must refuse UPDATE");
    assert!(
        sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&mut *raw)
            .await
            .is_err()
    );
    // ...but an attacker drops it; the chain still tells.
    for sql in db.unguard() {
        sqlx::query(*sql).execute(&mut *raw).await.unwrap();
    }

    // Edit: the edited entry is named.
    let original: String = sqlx::query("SELECT detail_json FROM audit_log WHERE seq = 3")
        .fetch_one(&mut *raw)
        .await
        .unwrap()
        .get(0);
    sqlx::query("UPDATE audit_log SET detail_json = $1 WHERE seq = 3")
        .bind(original.replace("\"at\"", "\"at \""))
        .execute(&mut *raw)
        .await
        .unwrap();
    let report = store.verify_audit(key).await.unwrap();
    assert!(!report.ok());
    let broken = report.broken.clone().unwrap();
    assert_eq!(
        (broken.seq, broken.why.clone()),
        (3, BrokenWhy::MacMismatch),
        "{report}"
    );
    assert!(report.to_string().contains("entry 3"), "{report}");

    // Restored, it verifies again.
    sqlx::query("UPDATE audit_log SET detail_json = $1 WHERE seq = 3")
        .bind(&original)
        .execute(&mut *raw)
        .await
        .unwrap();
    assert_eq!(audit_count(store, key).await, total);

    // Delete: the gap is found at the next entry.
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(&mut *raw)
        .await
        .unwrap();
    let report = store.verify_audit(key).await.unwrap();
    assert_eq!(
        report.broken.map(|b| (b.seq, b.why)),
        Some((6, BrokenWhy::SeqGap { expected: 5 }))
    );

    // Delete and renumber to hide the gap: the chain link is missing.
    sqlx::query("UPDATE audit_log SET seq = 5 WHERE seq = 6")
        .execute(&mut *raw)
        .await
        .unwrap();
    let report = store.verify_audit(key).await.unwrap();
    assert_eq!(
        report.broken.map(|b| (b.seq, b.why)),
        Some((5, BrokenWhy::PrevMacMismatch))
    );
}
