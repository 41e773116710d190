use serde_json::json;

use super::*;
use crate::runbook::gates::Decision;
use crate::runbook::progress::ReleaseStatus;

fn entry(seq: i64, kind: &str, detail: serde_json::Value) -> Entry {
    Entry {
        stamp: crate::runbook::record::Stamp {
            seq,
            release_id: Some("r1".into()),
            at: 100 + seq,
            actor: "alice".into(),
            host: "alice-laptop".into(),
            kind: kind.into(),
        },
        detail,
    }
}

fn opened(seq: i64) -> Entry {
    entry(
        seq,
        "release_started",
        json!({
            "runbook_name": "demo", "runbook_path": "/rb/demo.yaml", "runbook_hash": "h1",
            "environment": "staging", "inputs": {"version": "v1"}, "initiator": "alice",
            "started_at": 10,
        }),
    )
}

fn signoff(seq: i64, person: &str) -> Entry {
    entry(
        seq,
        "signoff",
        json!({
            "gate": "approval", "person": person, "host": "h", "role": "approver",
            "decision": "approve", "comment": "ok", "approved_hash": "a1", "at": 50,
            "signature": null,
        }),
    )
}

#[test]
fn a_release_folds_from_its_entries() {
    let entries = vec![
        opened(1),
        entry(
            2,
            "lease_acquired",
            json!({"token": 1, "holder": "alice", "host": "h", "previous": null}),
        ),
        entry(
            3,
            "step_started",
            json!({"step_id": "build", "attempt": 1, "at": 20}),
        ),
        entry(
            4,
            "step_finished",
            json!({"step_id": "build", "attempt": 1, "status": "failed", "exit_code": 2, "detail": "boom", "at": 30, "output_lines": 3}),
        ),
        entry(
            5,
            "step_started",
            json!({"step_id": "build", "attempt": 2, "at": 31}),
        ),
        entry(
            6,
            "resume_choice",
            json!({"step_id": "build", "choice": "retry", "person": "alice", "at": 32}),
        ),
        signoff(7, "bob"),
        entry(
            8,
            "step_finished",
            json!({"step_id": "notes", "attempt": 0, "status": "skipped", "exit_code": null, "detail": "quiet", "at": 33}),
        ),
        entry(
            9,
            "content_changed",
            json!({"old_hash": "a1", "new_hash": "a2", "changed": ["deploy.sh"], "at": 34}),
        ),
        entry(
            10,
            "break_glass",
            json!({"environment": "prod", "reason": "outage", "violations": ["freeze"]}),
        ),
        entry(11, "something_newer", json!({"x": 1})),
        entry(12, "release_ended", json!({"status": "failed", "at": 40})),
    ];
    let (rec, foreign) = fold("r1", &entries);
    assert!(foreign.is_empty(), "{foreign:?}");
    let rec = rec.unwrap();
    let h = rec.header.as_ref().unwrap();
    assert_eq!(
        (
            h.opened.initiator.as_str(),
            h.host.as_str(),
            h.opened.inputs["version"].as_str()
        ),
        ("alice", "alice-laptop", "v1")
    );
    assert_eq!(rec.attempts.len(), 3);
    let first = rec.attempt("build", 1).unwrap();
    assert_eq!(
        (
            first.state,
            first.exit_code,
            first.detail.as_deref(),
            first.seq
        ),
        (RunState::Failed, Some(2), Some("boom"), 4)
    );
    assert_eq!(rec.attempt("build", 2).unwrap().state, RunState::Started);
    assert_eq!(rec.attempt("notes", 0).unwrap().started_at, None);
    assert_eq!(rec.signoffs[0].signoff.person, "bob");
    assert_eq!(rec.signoffs[0].signoff.decision, Decision::Approve);
    assert_eq!(rec.resume_choices[0].host, "alice-laptop");
    assert_eq!(rec.content_hashes, vec!["a1", "a2"]);
    assert_eq!(rec.break_glass[0].person, "alice");
    assert_eq!(rec.leases[0].token, 1);
    assert_eq!(rec.ignored, vec![(11, "something_newer".to_string())]);
    assert_eq!(
        (rec.status, rec.finished_at),
        (ReleaseStatus::Failed, Some(40))
    );
}

#[test]
fn entries_that_do_not_fit_are_foreign_and_change_nothing() {
    let mut other = signoff(9, "bob");
    other.stamp.release_id = Some("r2".into());
    let entries = vec![
        signoff(1, "mallory"), // before the release was opened
        opened(2),
        opened(3), // second start
        entry(
            4,
            "step_finished",
            json!({"step_id": "deploy", "attempt": 1, "status": "succeeded", "exit_code": 0, "detail": null, "at": 5}),
        ),
        entry(
            5,
            "step_started",
            json!({"step_id": "build", "attempt": 1, "at": 20}),
        ),
        entry(
            6,
            "step_started",
            json!({"step_id": "build", "attempt": 1, "at": 21}),
        ),
        entry(7, "signoff", json!({"gate": "approval"})), // malformed
        entry(8, "release_ended", json!({"status": "succeeded", "at": 40})),
        other,
        entry(10, "release_ended", json!({"status": "aborted", "at": 41})),
        entry(
            8,
            "resume_choice",
            json!({"step_id": "b", "choice": "c", "person": "p", "at": 1}),
        ),
    ];
    let (rec, foreign) = fold("r1", &entries);
    let rec = rec.unwrap();
    let seqs: Vec<i64> = foreign.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, vec![1, 3, 4, 6, 7, 9, 10, 8], "{foreign:#?}");
    assert!(
        foreign[0].to_string().contains("never opened"),
        "{}",
        foreign[0]
    );
    assert!(foreign[4].why.contains(": missing"), "{}", foreign[4]);
    assert!(foreign[7].why.contains("out of order"), "{}", foreign[7]);
    assert!(rec.signoffs.is_empty());
    assert_eq!(rec.attempts.len(), 1);
    assert_eq!(rec.status, ReleaseStatus::Succeeded);
    assert!(rec.resume_choices.is_empty());
}

#[test]
fn a_journal_without_a_start_opens_nothing() {
    let entries = vec![signoff(1, "bob")];
    let (records, foreign) = fold_all(&entries);
    assert!(records.is_empty());
    assert_eq!(foreign.len(), 1);
}

#[test]
fn the_tally_recounts_every_rule() {
    use crate::runbook::GateSpec;
    use crate::runbook::gates::{self, Refusal, Signoff};
    use std::collections::BTreeMap;
    let spec = GateSpec {
        roles: vec![("approver".into(), 2)],
        soak: None,
        expires: None,
        identity: None,
    };
    let members = BTreeMap::from([(
        "approver".to_string(),
        vec!["alice".to_string(), "bob".to_string(), "carol".to_string()],
    )]);
    let s = |person: &str, role: &str, hash: &str| Signoff {
        gate: "approval".into(),
        person: person.into(),
        host: "h".into(),
        role: role.into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: hash.into(),
        at: 1,
    };
    let all = vec![
        s("alice", "approver", "a1"),   // the initiator
        s("mallory", "approver", "a1"), // not a member
        s("bob", "security", "a1"),     // not a role of this gate
        s("bob", "approver", "a1"),
        s("bob", "approver", "a1"),   // twice
        s("carol", "approver", "a0"), // another content
    ];
    let (ok, refused) = gates::admissible(&spec, &members, "alice", &all);
    assert_eq!(ok.len(), 3);
    assert_eq!(refused[0].1, Refusal::Initiator);
    assert!(matches!(refused[1].1, Refusal::NotMember { .. }));
    assert!(matches!(refused[2].1, Refusal::UnknownRole { .. }));
    let t = gates::counted(&spec, &members, "alice", &all, "a1");
    assert_eq!(t.roles[0].signed, vec!["bob".to_string()]);
    assert!(!t.satisfied());
    // Plain `tally` would have counted the initiator and the stranger.
    assert!(gates::tally(&spec, &all, "a1").satisfied());
}

#[test]
fn a_malformed_detail_names_its_field_and_flaw() {
    use crate::runbook::record::{Entry, Flaw, Malformed};
    let entry = |kind: &str, detail: serde_json::Value| Entry {
        stamp: crate::runbook::record::Stamp {
            seq: 1,
            release_id: Some("r".into()),
            at: 0,
            actor: "ann".into(),
            host: "h".into(),
            kind: kind.into(),
        },
        detail,
    };
    let e = entry(
        "step_started",
        serde_json::json!({ "step_id": "a", "attempt": -1, "at": 5 }),
    )
    .fact()
    .unwrap_err();
    assert_eq!(
        e,
        Malformed {
            field: "attempt".into(),
            flaw: Flaw::OutOfRange(-1)
        }
    );
    assert_eq!(e.to_string(), "attempt: -1 is out of range");
    let e = entry(
        "checklist_ticked",
        serde_json::json!({ "step_id": "a", "attempt": 1, "person": "ann", "at": 5,
            "items": [{ "item": "x", "at": 1 }, { "item": "y" }] }),
    )
    .fact()
    .unwrap_err();
    assert_eq!(e.to_string(), "items[1].at: missing");
    let e = entry(
        "step_finished",
        serde_json::json!({ "step_id": "a", "attempt": 1, "status": "started", "at": 5 }),
    )
    .fact()
    .unwrap_err();
    assert_eq!(e.flaw, Flaw::NotOutcome("started".into()));
}
