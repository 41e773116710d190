//! One fold for everyone: a release driven through the real `update` with
//! a real journal, then rebuilt the ways resume, a watcher and `verify`
//! do, from the same audit entries. All must equal what the driver had.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use flightdeck::app::headless::Headless;
use flightdeck::app::msg::Msg;
use flightdeck::app::state::AppState;
use flightdeck::app::update::on_resume;
use flightdeck::backend::store::team::GateRule;
use flightdeck::backend::store::{self, AuditKey, Store};
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::progress::{Outcome, Release, ReleaseStatus, StepStatus};
use flightdeck::runbook::{self, StepAction, record};

const RUNBOOK: &str = r#"
name: fold
environments:
  staging: {}
stages:
  - id: s
    steps:
      - id: build
        command: 'echo build'
      - id: notes
        manual: { items: [release notes read] }
      - id: approval
        gate: { roles: { approver: 1 } }
      - id: deploy
        command: 'echo deploy'
        retries: 1
      - id: announce
        command: 'echo announce'
"#;

const RID: &str = "r20261130-000000-f01d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_resume_watcher_and_verify_fold_the_same_release() {
    let dir = tempfile::tempdir().unwrap();
    let key = AuditKey::load_or_create(&dir.path().join("audit.key")).unwrap();
    let store = Store::open(&dir.path().join("j.db").display().to_string(), key)
        .await
        .unwrap();
    let loaded = runbook::parse_str(RUNBOOK, Path::new("fold.yaml")).unwrap();
    let rb = loaded.runbook.clone();
    let release = Release::new(
        RID.into(),
        &rb,
        loaded.content_hash.clone(),
        "staging".into(),
        BTreeMap::new(),
        "alice".into(),
        1_000,
    );
    store
        .apply(
            &JournalEntry::ReleaseStarted {
                release: Box::new(release.clone()),
                runbook_path: "/rb/fold.yaml".into(),
            },
            "alice",
            "alice-laptop",
        )
        .await
        .unwrap();
    let setup = |release: Release| {
        StateBuilder::loaded(loaded.clone(), "/rb/fold.yaml")
            .host("alice-laptop")
            .bin("flightdeck")
            .ack("notes")
            .release(release)
            .build()
    };
    let gate = rb.step_index("approval").unwrap();
    let StepAction::Gate(spec) = &rb.step(gate).unwrap().action else {
        panic!("approval is a gate")
    };
    let deploy = rb.step_index("deploy").unwrap();

    // Headless, the driver runs until the gate waits for a person.
    let mut state = setup(release);
    drive(&store, &mut state, vec![Msg::Tick(2_000)], deploy).await;
    assert_eq!(state.release.steps[gate].status, StepStatus::Waiting);
    let stored = store.load_release(RID).await.unwrap().unwrap();
    assert_eq!(store::rebuild(&rb, &stored), state.release, "at the gate");

    // Bob signs from another terminal.
    let bob = Signoff {
        gate: "approval".into(),
        person: "bob".into(),
        host: "bob-laptop".into(),
        role: "approver".into(),
        decision: Decision::Approve,
        comment: "ship it".into(),
        approved_hash: state.approval_hash.clone(),
        at: 50_000,
    };
    let rule = GateRule {
        spec,
        members: &rb.roles,
        current_hash: &state.approval_hash,
    };
    store
        .record_signoff(RID, &bob, None, rule)
        .await
        .unwrap()
        .unwrap();

    // Resume: a new driver from the journal, through the fold.
    let stored = store.load_release(RID).await.unwrap().unwrap();
    let mut state = setup(store::rebuild(&rb, &stored));
    let first = on_resume(&mut state);
    drive_with(&store, &mut state, first, vec![Msg::Tick(60_000)], deploy).await;
    assert_eq!(state.release.status, ReleaseStatus::Succeeded, "{state:?}");
    assert_eq!(state.release.steps[deploy].attempts, 2);

    // Resume and a watcher both rebuild through load_release (the fold).
    let stored = store.load_release(RID).await.unwrap().unwrap();
    assert!(stored.discarded.is_empty(), "{:?}", stored.discarded);
    let rebuilt = store::rebuild(&rb, &stored);
    assert_eq!(
        rebuilt, state.release,
        "resume rebuilds the driver's release"
    );

    // The whole chain folded at once (verify's way) gives the same record,
    // and every table row agrees with it.
    let (report, entries) = store.verify_chain().await.unwrap();
    assert!(report.ok(), "{report}");
    let (records, foreign) = record::fold_all(&entries);
    assert!(foreign.is_empty(), "{foreign:?}");
    let (one, _) = store.release_record(RID).await.unwrap();
    assert_eq!(records.get(RID), one.as_ref());
    assert_eq!(store.disagreements(&records).await.unwrap(), vec![]);
    let rec = one.unwrap();
    assert_eq!(rec.signoffs.len(), 1);
    assert_eq!(rec.attempt("deploy", 1).unwrap().exit_code, Some(1));
    store.close().await;
}

/// The driver's loop with the store as its backend: journal writes are
/// applied and acknowledged, steps finish at once (deploy fails its first
/// attempt), sign-off refreshes read the journal.
async fn drive(store: &Store, state: &mut AppState, msgs: Vec<Msg>, deploy: usize) {
    drive_with(store, state, Vec::new(), msgs, deploy).await
}

async fn drive_with(
    store: &Store,
    state: &mut AppState,
    first: Vec<Command>,
    msgs: Vec<Msg>,
    deploy: usize,
) {
    // A headless run: the driver on top of `update`.
    let mut driver = Headless::default();
    let mut msgs: VecDeque<Msg> = msgs.into();
    let mut cmds: Vec<Command> = first;
    let mut now = 60_000;
    for _ in 0..500 {
        for c in cmds.drain(..) {
            match c {
                Command::Journal { op, entry } => {
                    let error = store
                        .apply(&entry, "alice", "alice-laptop")
                        .await
                        .err()
                        .map(|e| e.to_string());
                    assert_eq!(error, None, "{entry:?}");
                    msgs.push_back(Msg::Backend(BackendEvent::Journaled { op, error }));
                }
                Command::RunStep { step, attempt, .. } => {
                    let outcome = if step == deploy && attempt == 1 {
                        Outcome::Failure {
                            reason: "exit status 1".into(),
                            exit_code: Some(1),
                        }
                    } else {
                        Outcome::Success {
                            exit_code: Some(0),
                            note: None,
                        }
                    };
                    msgs.push_back(Msg::Backend(BackendEvent::StepFinished {
                        step,
                        attempt,
                        outcome,
                    }));
                }
                Command::RefreshSignoffs { release_id } => {
                    let seen = store.load_release(&release_id).await.unwrap().unwrap();
                    msgs.push_back(Msg::Backend(BackendEvent::Signoffs(seen.signoffs)));
                }
                _ => {}
            }
        }
        let msg = match msgs.pop_front() {
            Some(m) => m,
            None if state.plumbing.quitting || state.release.status.is_final() => return,
            None => {
                now += 1_000;
                Msg::Tick(now)
            }
        };
        cmds = driver.update(state, msg);
    }
    panic!("the driver never settled: {:?}", state.release);
}

/// A sign-off that made it into the chain past the rules (written by a
/// key holder, not through `record_signoff`) is recorded but not counted:
/// the tally re-checks every rule on the entries.
#[tokio::test]
async fn the_tally_recounts_the_rules_on_recorded_signoffs() {
    let dir = tempfile::tempdir().unwrap();
    let key = AuditKey::load_or_create(&dir.path().join("audit.key")).unwrap();
    let store = Store::open(&dir.path().join("j.db").display().to_string(), key)
        .await
        .unwrap();
    let loaded = runbook::parse_str(RUNBOOK, Path::new("fold.yaml")).unwrap();
    let rb = loaded.runbook;
    let release = Release::new(
        RID.into(),
        &rb,
        loaded.content_hash.clone(),
        "staging".into(),
        BTreeMap::new(),
        "alice".into(),
        1_000,
    );
    let hash = flightdeck::runbook::gates::approval_hash(
        &release.runbook_hash,
        &release.environment,
        &release.inputs,
    );
    let s = |person: &str| Signoff {
        gate: "approval".into(),
        person: person.into(),
        host: "h".into(),
        role: "approver".into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: hash.clone(),
        at: 2_000,
    };
    for entry in [
        JournalEntry::ReleaseStarted {
            release: Box::new(release.clone()),
            runbook_path: "/rb/fold.yaml".into(),
        },
        // The initiator approving her own release, straight into the log.
        JournalEntry::Signoff {
            release_id: RID.into(),
            signoff: s("alice"),
        },
    ] {
        store.apply(&entry, "alice", "alice-laptop").await.unwrap();
    }
    let gate = rb.steps().find(|st| st.id == "approval").unwrap();
    let StepAction::Gate(spec) = &gate.action else {
        panic!("a gate")
    };
    let two = flightdeck::runbook::GateSpec {
        roles: vec![("approver".into(), 2)],
        ..spec.clone()
    };
    let rule = GateRule {
        spec: &two,
        members: &rb.roles,
        current_hash: &hash,
    };
    let tally = store
        .record_signoff(RID, &s("bob"), None, rule)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tally.roles[0].signed, vec!["bob".to_string()]);
    assert!(!tally.satisfied());
    let stored = store.load_release(RID).await.unwrap().unwrap();
    assert_eq!(stored.signoffs.len(), 2, "both are in the record");
    let t = flightdeck::runbook::gates::counted(&two, &rb.roles, "alice", &stored.signoffs, &hash);
    assert_eq!(t.roles[0].signed, vec!["bob".to_string()]);
}
