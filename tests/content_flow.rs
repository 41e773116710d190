//! The content check in `update`, message by message (no IO): a step after
//! a passed gate waits for `BackendEvent::Content`; changed content stops
//! it, journals `content_changed` and reopens the gate; the same content
//! lets it start. Also which files a runbook's content covers.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::{AppState, HeadlessEvent};
use flightdeck::app::update::update;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::content::{
    ClusterRef, ClusterSource, ContentManifest, ContentRequest, referenced_paths,
};
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::progress::StepStatus;

/// Content with the demo runbook as loaded (or `runbook` instead), one
/// referenced file and maybe a cluster.
fn manifest(runbook: Option<&str>, file: &[u8], cluster: Option<&str>) -> ContentManifest {
    let cluster = cluster.map(|ns| ClusterRef {
        context: "kind".into(),
        namespace: ns.into(),
        server: "https://127.0.0.1:6443".into(),
    });
    let files = [("deploy/app.yaml".to_string(), Some(file.to_vec()))];
    let mut m = ContentManifest::new(b"", &files, "staging", cluster, &BTreeMap::new());
    m.runbook = match runbook {
        Some(r) => r.to_string(),
        None => {
            flightdeck::runbook::load(Path::new("config/runbooks/demo.yaml"))
                .unwrap()
                .content_hash
        }
    };
    m
}

/// The demo release with every step up to `announce` done and its gate
/// signed off by bob on `approved`'s hash.
fn past_the_gate(approved: &ContentManifest) -> AppState {
    let b = StateBuilder::file("config/runbooks/demo.yaml")
        .release_id("r-content")
        .env("staging");
    let mut release = b.new_release();
    for s in release
        .steps
        .iter_mut()
        .take_while(|s| s.step_id != "announce")
    {
        s.status = StepStatus::Succeeded;
        s.attempts = 1;
    }
    release.signoffs.push(Signoff {
        gate: "release-approval".into(),
        person: "bob".into(),
        host: "h".into(),
        role: "release-approver".into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: approved.hash(),
        at: 900,
    });
    let mut state = b.release(release).build();
    flightdeck::app::content::set_current(&mut state, approved.clone(), vec![approved.clone()]);
    state
}

fn run_to_gate(s: &mut AppState) -> Vec<Command> {
    update(
        s,
        Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE)),
    )
}

fn content(step: usize, manifest: ContentManifest) -> Msg {
    Msg::Backend(BackendEvent::Content { step, manifest })
}

#[test]
fn unchanged_content_lets_the_step_start() {
    let approved = manifest(None, b"v1", None);
    let mut s = past_the_gate(&approved);
    let announce = s.runbook.step_index("announce").unwrap();
    let c = run_to_gate(&mut s);
    let [Command::CheckContent { step, request }] = &c[..] else {
        panic!("{c:?}")
    };
    assert_eq!(*step, announce);
    assert_eq!(request.environment, "staging");
    // Nothing else starts while the check is out.
    assert!(run_to_gate(&mut s).is_empty());
    let c = update(&mut s, content(announce, approved.clone()));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepStarted { step_id, .. }, .. }] if step_id == "announce"),
        "{c:?}"
    );
}

#[test]
fn changed_content_stops_the_step_and_reopens_the_gate() {
    let approved = manifest(None, b"v1", Some("prod"));
    let mut s = past_the_gate(&approved);
    let announce = s.runbook.step_index("announce").unwrap();
    let gate = s.runbook.step_index("release-approval").unwrap();
    run_to_gate(&mut s);
    let moved = manifest(None, b"v2", Some("other"));
    let c = update(&mut s, content(announce, moved.clone()));
    let [
        Command::Journal {
            entry:
                JournalEntry::ContentChanged {
                    old_hash,
                    new_hash,
                    changed,
                    ..
                },
            ..
        },
        Command::Journal {
            entry: JournalEntry::StepStarted {
                step_id, attempt, ..
            },
            ..
        },
    ] = &c[..]
    else {
        panic!("{c:?}")
    };
    assert_eq!(old_hash.as_deref(), Some(approved.hash().as_str()));
    assert_eq!(new_hash, &moved.hash());
    assert_eq!(
        changed,
        &vec!["file deploy/app.yaml".to_string(), "cluster".to_string()]
    );
    assert_eq!((step_id.as_str(), *attempt), ("release-approval", 2));
    assert_eq!(s.approval_hash, moved.hash());
    assert_eq!(s.release.steps[announce].status, StepStatus::Pending);
    assert_eq!(s.release.steps[gate].status, StepStatus::Waiting);
    let notice = s.view.notice.clone().unwrap().text;
    assert!(notice.contains("file deploy/app.yaml, cluster"), "{notice}");
    assert!(s.plumbing.events.iter().any(
        |e| matches!(e, HeadlessEvent::ContentChanged { gate, .. } if gate == "release-approval")
    ));

    // A fresh sign-off on the new content opens the gate again.
    let ops: Vec<u64> = c
        .iter()
        .filter_map(|c| match c {
            Command::Journal { op, .. } => Some(*op),
            _ => None,
        })
        .collect();
    for op in ops {
        update(
            &mut s,
            Msg::Backend(BackendEvent::Journaled { op, error: None }),
        );
    }
    assert_eq!(s.release.steps[gate].status, StepStatus::Waiting);
    let mut fresh = s.release.signoffs.clone();
    fresh.push(Signoff {
        approved_hash: moved.hash(),
        person: "carol".into(),
        at: 2_000,
        ..fresh[0].clone()
    });
    let c = update(&mut s, Msg::Backend(BackendEvent::Signoffs(fresh)));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepFinished { step_id, status, .. }, .. }] if step_id == "release-approval" && status == "succeeded"),
        "{c:?}"
    );
}

#[test]
fn a_runbook_edited_under_a_running_session_stops_it() {
    let approved = manifest(None, b"v1", None);
    let mut s = past_the_gate(&approved);
    let announce = s.runbook.step_index("announce").unwrap();
    run_to_gate(&mut s);
    // Approvers would sign the file's new content; this session still holds
    // the steps it loaded, so it must not run them under that approval.
    let c = update(
        &mut s,
        content(announce, manifest(Some("edited"), b"v1", None)),
    );
    assert!(c.is_empty(), "{c:?}");
    assert_eq!(s.approval_hash, approved.hash());
    assert!(s.view.notice_text().contains("quit and reopen"));
    assert!(run_to_gate(&mut s).is_empty());
    assert_eq!(s.release.steps[announce].status, StepStatus::Pending);
}

#[test]
fn every_referenced_file_is_covered() {
    let text = r#"name: refs
environments:
  prod:
    kube: { context: kind, namespace: shop }
inputs:
  version: { default: v1 }
stages:
  - id: s
    title: S
    steps:
      - id: deploy
        kube.rollout:
          deployment: api
          manifests:
            - deploy/api-${inputs.version}.yaml
            - deploy/svc.yaml
      - id: migrate
        migrate:
          dsn: postgres://db/app
          dir: migrations
      - id: script
        command: { run: "bash scripts/smoke.sh ${inputs.version}", cwd: ops }
"#;
    let loaded = flightdeck::runbook::parse_str(text, Path::new("refs.yaml")).unwrap();
    let inputs = BTreeMap::from([("version".to_string(), "v7".to_string())]);
    let paths: Vec<(String, bool)> = referenced_paths(&loaded.runbook, &inputs)
        .into_iter()
        .map(|r| (r.path, r.dir))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("deploy/api-v7.yaml".to_string(), false),
            ("deploy/svc.yaml".to_string(), false),
            ("migrations".to_string(), true),
            ("ops/scripts/smoke.sh".to_string(), false),
        ]
    );
    // Kube steps bring the cluster into the content; without them it stays out.
    let cluster = ClusterSource::Resolve {
        kubeconfig: None,
        context: "kind".into(),
        namespace: "shop".into(),
    };
    let req = ContentRequest::new(
        &loaded.runbook,
        "refs.yaml",
        "prod",
        Some(cluster.clone()),
        &inputs,
    );
    assert_eq!(req.cluster, Some(cluster.clone()));
    let demo = flightdeck::runbook::load(Path::new("config/runbooks/demo.yaml")).unwrap();
    let req = ContentRequest::new(
        &demo.runbook,
        "demo.yaml",
        "staging",
        Some(cluster),
        &inputs,
    );
    assert_eq!(req.cluster, None);
}

#[test]
fn ticking_a_checklist_after_a_gate_opens_its_dialog_once_checked() {
    let text = "name: t\nstages:\n  - id: s\n    title: S\n    steps:\n      - id: approval\n        gate: { roles: { approver: 1 } }\n      - id: look\n        manual: { items: [Looked] }\n";
    let b = StateBuilder::yaml(text, "t.yaml").release_id("r-tick");
    let mut release = b.new_release();
    release.steps[0].status = StepStatus::Succeeded;
    release.steps[0].attempts = 1;
    let mut approved = ContentManifest::new(b"", &[], "default", None, &BTreeMap::new());
    approved.runbook = flightdeck::runbook::content_hash(text.as_bytes());
    release.signoffs.push(Signoff {
        gate: "approval".into(),
        person: "bob".into(),
        host: "h".into(),
        role: "approver".into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: approved.hash(),
        at: 900,
    });
    let mut s = b.release(release).build();
    flightdeck::app::content::set_current(&mut s, approved.clone(), vec![]);
    s.view.selected = 1;
    let c = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE)),
    );
    assert!(
        matches!(&c[..], [Command::CheckContent { step: 1, .. }]),
        "{c:?}"
    );
    assert!(s.view.dialog.is_none());
    update(&mut s, content(1, approved));
    assert!(
        matches!(
            s.view.dialog,
            Some(flightdeck::app::state::Dialog::Tick { step: 1, .. })
        ),
        "{:?}",
        s.view.dialog
    );
}
