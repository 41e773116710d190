//! Gate rules of team mode, pure (docs/semantics.md, "Sign-off gates"):
//! per-role counts of distinct people, one person once per gate, role
//! membership from runbook or config, no self-approval, rejections, the
//! approval hash, soak and expiry.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use flightdeck::runbook::gates::{
    self, Decision, GateTiming, Refusal, Signoff, approval_hash, may_sign, members, tally, timing,
};
use flightdeck::runbook::{self, GateSpec, StepAction};

fn spec(roles: &[(&str, u32)]) -> GateSpec {
    GateSpec {
        roles: roles.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        soak: None,
        expires: None,
        identity: None,
    }
}

fn s(person: &str, role: &str, at: i64) -> Signoff {
    Signoff {
        gate: "g".into(),
        person: person.into(),
        host: "h".into(),
        role: role.into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: "H".into(),
        at,
    }
}

fn open() -> BTreeMap<String, Vec<String>> {
    BTreeMap::new()
}

#[test]
fn per_role_counts_of_distinct_people() {
    let g = spec(&[("engineering", 2), ("security", 1)]);
    let t = tally(&g, &[s("ann", "engineering", 1)], "H");
    assert!(!t.satisfied());
    assert_eq!(t.roles[0].missing(), 1);
    assert_eq!(t.still_needed(), ["1 × engineering", "1 × security"]);
    assert_eq!(t.met_at, None);
    let all = [
        s("ann", "engineering", 1),
        s("ben", "engineering", 2),
        s("cat", "security", 3),
    ];
    let t = tally(&g, &all, "H");
    assert!(t.satisfied());
    assert!(t.still_needed().is_empty());
    assert_eq!(Decision::Approve.done(), "signed off");
    assert_eq!(Decision::Reject.done(), "rejected");
    assert_eq!(t.met_at, Some(3), "met when the last role filled");
}

#[test]
fn one_person_counts_once_per_gate_whatever_roles() {
    let g = spec(&[("engineering", 1), ("security", 1)]);
    let both = [s("ann", "engineering", 1), s("ann", "security", 2)];
    let t = tally(&g, &both, "H");
    assert!(!t.satisfied());
    assert_eq!(t.roles[1].signed, Vec::<String>::new());
    let refused = may_sign(
        &g,
        &open(),
        &both[..1],
        "H",
        "ini",
        "ann",
        "security",
        Decision::Approve,
        "",
    );
    assert_eq!(
        refused,
        Err(Refusal::AlreadySigned {
            role: "engineering".into()
        })
    );
}

#[test]
fn initiator_cannot_approve_and_full_roles_take_no_more() {
    let g = spec(&[("approver", 1)]);
    assert_eq!(
        may_sign(
            &g,
            &open(),
            &[],
            "H",
            "ann",
            "ann",
            "approver",
            Decision::Approve,
            ""
        ),
        Err(Refusal::Initiator)
    );
    assert!(
        Refusal::Initiator
            .to_string()
            .contains("you started this release")
    );
    let done = [s("ben", "approver", 1)];
    assert_eq!(
        may_sign(
            &g,
            &open(),
            &done,
            "H",
            "ann",
            "cat",
            "approver",
            Decision::Approve,
            ""
        ),
        Err(Refusal::RoleFull {
            role: "approver".into()
        })
    );
    assert!(matches!(
        may_sign(
            &g,
            &open(),
            &[],
            "H",
            "ann",
            "cat",
            "nope",
            Decision::Approve,
            ""
        ),
        Err(Refusal::UnknownRole { .. })
    ));
}

#[test]
fn membership_from_runbook_or_config_runbook_wins() {
    let rb = BTreeMap::from([("security".to_string(), vec!["sec1".to_string()])]);
    let cfg = BTreeMap::from([
        ("security".to_string(), vec!["mallory".to_string()]),
        ("product".to_string(), vec!["pm".to_string()]),
    ]);
    let m = members(&rb, &cfg);
    assert_eq!(m["security"], vec!["sec1"]);
    assert_eq!(m["product"], vec!["pm"]);
    let g = spec(&[("security", 1), ("product", 1)]);
    assert_eq!(
        may_sign(
            &g,
            &m,
            &[],
            "H",
            "ini",
            "mallory",
            "security",
            Decision::Approve,
            ""
        ),
        Err(Refusal::NotMember {
            role: "security".into()
        })
    );
    assert!(
        may_sign(
            &g,
            &m,
            &[],
            "H",
            "ini",
            "pm",
            "product",
            Decision::Approve,
            ""
        )
        .is_ok()
    );
    assert!(
        may_sign(
            &g,
            &m,
            &[],
            "H",
            "ini",
            "sec1",
            "security",
            Decision::Approve,
            ""
        )
        .is_ok()
    );
}

#[test]
fn rejection_needs_a_reason_and_stops_the_gate() {
    let g = spec(&[("approver", 2)]);
    assert_eq!(
        may_sign(
            &g,
            &open(),
            &[],
            "H",
            "ini",
            "ben",
            "approver",
            Decision::Reject,
            " "
        ),
        Err(Refusal::EmptyReason)
    );
    let mut r = s("ben", "approver", 5);
    r.decision = Decision::Reject;
    r.comment = "smoke tests red".into();
    let t = tally(&g, &[s("ann", "approver", 1), r], "H");
    assert!(t.rejection.is_some() && !t.satisfied());
    assert_eq!(timing(&g, &t, Some(0), 10), GateTiming::Rejected);
}

#[test]
fn signoffs_bound_to_another_hash_stop_counting() {
    let inputs = BTreeMap::from([("version".to_string(), "1.0".to_string())]);
    let h1 = approval_hash("rb", "prod", &inputs);
    let changed = BTreeMap::from([("version".to_string(), "1.1".to_string())]);
    let h2 = approval_hash("rb", "prod", &changed);
    assert_ne!(h1, h2, "changing an input changes what is approved");
    let g = spec(&[("approver", 1)]);
    let mut old = s("ann", "approver", 1);
    old.approved_hash = h1.clone();
    let t = tally(&g, std::slice::from_ref(&old), &h2);
    assert!(!t.satisfied());
    assert_eq!(t.stale, vec![old.clone()]);
    // The same person may approve the new content.
    assert!(
        may_sign(
            &g,
            &open(),
            &[old],
            &h2,
            "ini",
            "ann",
            "approver",
            Decision::Approve,
            ""
        )
        .is_ok()
    );
}

#[test]
fn soak_waits_after_the_counts_are_met() {
    let mut g = spec(&[("approver", 1)]);
    g.soak = Some(Duration::from_secs(600));
    let t = tally(&g, &[s("ann", "approver", 1_000)], "H");
    assert_eq!(
        timing(&g, &t, Some(0), 2_000),
        GateTiming::Soaking { until: 601_000 }
    );
    assert_eq!(timing(&g, &t, Some(0), 601_000), GateTiming::Open);
}

#[test]
fn expiry_fails_a_gate_still_short() {
    let mut g = spec(&[("approver", 2)]);
    g.expires = Some(Duration::from_secs(7200));
    let t = tally(&g, &[s("ann", "approver", 10)], "H");
    assert_eq!(
        timing(&g, &t, Some(0), 1_000),
        GateTiming::Waiting {
            deadline: Some(7_200_000)
        }
    );
    assert_eq!(
        timing(&g, &t, Some(0), 7_200_000),
        GateTiming::Expired {
            deadline: 7_200_000
        }
    );
    // Met before the deadline: it opens, expiry no longer applies.
    let t = tally(
        &g,
        &[s("ann", "approver", 10), s("ben", "approver", 20)],
        "H",
    );
    assert_eq!(timing(&g, &t, Some(0), 9_000_000), GateTiming::Open);
}

#[test]
fn runbooks_declare_soak_and_expiry() {
    let text = r#"
name: soak
stages:
  - id: s
    steps:
      - id: g
        gate:
          roles: { approver: 1 }
          soak: 10m
          expires: 2h
"#;
    let rb = runbook::parse_str(text, Path::new("soak.yaml"))
        .unwrap()
        .runbook;
    let StepAction::Gate(g) = &rb.steps().next().unwrap().action else {
        panic!("a gate")
    };
    assert_eq!(g.soak, Some(Duration::from_secs(600)));
    assert_eq!(g.expires, Some(Duration::from_secs(7200)));
    let bad = text.replace("10m", "soon");
    assert!(runbook::parse_str(&bad, Path::new("soak.yaml")).is_err());
    let _ = gates::Decision::parse("approve");
}

/// A comment is shown to every approver and kept for years: control
/// characters are refused wherever it was typed (TUI dialog or CLI).
#[test]
fn a_comment_with_control_characters_is_refused() {
    let g = spec(&[("approver", 1)]);
    for (decision, comment) in [
        (Decision::Approve, "ok\x1b]2;pwned\x07"),
        (Decision::Reject, "no\nreally"),
    ] {
        let r = may_sign(
            &g,
            &open(),
            &[],
            "H",
            "ini",
            "ben",
            "approver",
            decision,
            comment,
        );
        match r {
            Err(Refusal::UnsafeComment(why)) => {
                assert_eq!(why.field, "the comment");
                assert!(why.to_string().starts_with("the comment contains"), "{why}")
            }
            other => panic!("{comment:?} was not refused: {other:?}"),
        }
    }
}
