//! Rollout verdicts, why-stuck lines and rollback triggers on fixtures
//! captured from the test control plane (tests/fixtures/k8s/*.json: a
//! Deployment with its ReplicaSets, pods and events, as `kubectl get -o
//! json` returned them), plus hand-made variations for what the simulated
//! node cannot produce (FailedScheduling, ContainerCannotRun).

use std::time::Duration;

use flightdeck::backend::kube::convert;
use flightdeck::runbook::kube::{HealthTrigger, RollbackOn};
use flightdeck::runbook::rollout::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::Value;

struct Fixture {
    deployment: Deployment,
    replica_sets: Vec<ReplicaSet>,
    pods: Vec<Pod>,
    events: Vec<Event>,
}

fn raw(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/k8s/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

fn parse(v: Value) -> Fixture {
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    Fixture {
        deployment: serde_json::from_value(v["deployment"].clone()).unwrap(),
        replica_sets: list("replicaSets")
            .into_iter()
            .map(|x| serde_json::from_value(x).unwrap())
            .collect(),
        pods: list("pods")
            .into_iter()
            .map(|x| serde_json::from_value(x).unwrap())
            .collect(),
        events: list("events")
            .into_iter()
            .map(|x| serde_json::from_value(x).unwrap())
            .collect(),
    }
}

fn snap(f: &Fixture) -> RolloutSnapshot {
    convert::snapshot(
        Some(&f.deployment),
        &f.replica_sets,
        f.pods.iter().map(convert::pod).collect(),
        f.events.iter().map(convert::event).collect(),
    )
}

fn load(name: &str) -> RolloutSnapshot {
    snap(&parse(raw(name)))
}

fn progressing_since(s: &RolloutSnapshot) -> i64 {
    s.deployment
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.kind == "Progressing")
        .and_then(|c| c.last_update_ms)
        .unwrap()
}

#[test]
fn a_finished_rollout_is_complete_in_kubectls_words() {
    let s = load("complete");
    assert_eq!(verdict(&s), Verdict::Complete);
    assert_eq!(
        verdict(&s).words("complete"),
        "deployment \"complete\" successfully rolled out"
    );
    let new = s.new_replica_set().expect("a new replica set");
    assert_eq!(new.revision, 2);
    assert!(new.images[0].1.ends_with(":v2"));
    // New first, then older revisions.
    assert!(s.replica_sets[0].is_new);
    assert_eq!(s.replica_sets[1].revision, 1);
    assert!(s.pods.iter().all(|p| s.is_new_pod(p) && p.ready));
    assert!(why_stuck(&s, 0).is_none());
}

#[test]
fn deadline_exceeded_fails_before_anything_else() {
    let s = load("deadline");
    match verdict(&s) {
        Verdict::Failed(Failure::DeadlineExceeded { message }) => {
            assert!(message.contains("has timed out progressing"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        verdict(&s).words("deadline"),
        "deployment \"deadline\" exceeded its progress deadline"
    );
    let on = RollbackOn {
        progress_deadline: true,
        ..Default::default()
    };
    let fired = trigger(&on, &s, &HealthTracker::default()).expect("fires");
    assert_eq!(fired.trigger, Trigger::ProgressDeadline);
    // Without the trigger asked for, the runbook decides: nothing fires.
    assert!(trigger(&RollbackOn::default(), &s, &HealthTracker::default()).is_none());
}

#[test]
fn a_crash_looping_new_pod_dooms_the_rollout_with_its_exit_code() {
    let s = load("crashloop-progressing");
    let Verdict::Failed(Failure::Doomed(d)) = verdict(&s) else {
        panic!("{:?}", verdict(&s));
    };
    assert_eq!(d.reason, "CrashLoopBackOff");
    assert!(d.detail.contains("last exit code 1"), "{}", d.detail);
    assert!(s.is_new_pod(s.pods.iter().find(|p| p.name == d.pod).unwrap()));
    let on = RollbackOn {
        crash_loops: Some(3),
        ..Default::default()
    };
    let fired = trigger(&on, &s, &HealthTracker::default()).expect("fires");
    assert_eq!(fired.trigger, Trigger::CrashLoops);
    assert!(
        fired.reason.contains("CrashLoopBackOff"),
        "{}",
        fired.reason
    );
}

#[test]
fn restarts_above_the_limit_fire_crash_loops_even_while_running() {
    let mut s = load("crashloop-progressing");
    for p in &mut s.pods {
        for c in &mut p.containers {
            c.waiting_reason = None;
            c.waiting_message = None;
        }
    }
    let new_restarts = s.new_pods().map(|p| p.restarts).max().unwrap();
    let at = |limit: u32| {
        trigger(
            &RollbackOn {
                crash_loops: Some(limit),
                ..Default::default()
            },
            &s,
            &HealthTracker::default(),
        )
    };
    assert!(at(new_restarts as u32).is_none(), "not above the limit");
    let fired = at(new_restarts as u32 - 1).expect("above the limit");
    assert!(fired.reason.contains("above"), "{}", fired.reason);
    // Old ReplicaSet pods never count.
    for p in &mut s.pods {
        if !s
            .replica_sets
            .iter()
            .any(|r| r.is_new && Some(&r.name) == p.replica_set.as_ref())
        {
            assert_eq!(p.restarts, 0);
        }
    }
}

#[test]
fn an_image_that_is_not_found_dooms_the_rollout() {
    let s = load("notfound-progressing");
    let Verdict::Failed(Failure::Doomed(d)) = verdict(&s) else {
        panic!("{:?}", verdict(&s));
    };
    // The waiting message moved on to "Back-off pulling image"; the
    // "manifest unknown" event still says why.
    assert!(matches!(
        d.reason.as_str(),
        "ImagePullBackOff" | "ErrImagePull"
    ));
    assert!(d.detail.contains("not found"), "{}", d.detail);
    let on = RollbackOn {
        doomed_pod: true,
        ..Default::default()
    };
    assert_eq!(
        trigger(&on, &s, &HealthTracker::default()).unwrap().trigger,
        Trigger::DoomedPod
    );
}

#[test]
fn an_image_pull_backoff_without_not_found_is_not_doomed() {
    let mut f = parse(raw("notfound-progressing"));
    f.events.clear();
    for p in &mut f.pods {
        for cs in p
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .iter_mut()
            .flatten()
        {
            if let Some(w) = cs.state.as_mut().and_then(|s| s.waiting.as_mut()) {
                w.message = Some("rate limited, try later".into());
            }
        }
    }
    let s = snap(&f);
    assert!(
        matches!(verdict(&s), Verdict::Progressing(_)),
        "{:?}",
        verdict(&s)
    );
    let why = why_stuck(&s, progressing_since(&s)).unwrap();
    assert!(why.cause.unwrap().contains("ImagePullBackOff"));
}

#[test]
fn a_missing_secret_dooms_the_rollout() {
    let s = load("configerror-progressing");
    let Verdict::Failed(Failure::Doomed(d)) = verdict(&s) else {
        panic!("{:?}", verdict(&s));
    };
    assert_eq!(d.reason, "CreateContainerConfigError");
    assert!(d.detail.contains("app-secrets"), "{}", d.detail);
}

#[test]
fn an_unready_pod_is_why_stuck_naming_the_probe_with_the_deadline_countdown() {
    let s = load("unready-progressing");
    assert_eq!(
        verdict(&s),
        Verdict::Progressing(Hold::Updating {
            updated: 1,
            desired: 2
        })
    );
    assert_eq!(
        verdict(&s).words("unready"),
        "Waiting for deployment \"unready\" rollout to finish: 1 out of 2 new replicas have been updated..."
    );
    let since = progressing_since(&s);
    let why = why_stuck(&s, since + 28_000).unwrap();
    assert_eq!(why.deadline_left_ms, Some(600_000 - 28_000));
    let line = why.line();
    assert!(line.contains("updatedReplicas 1 < replicas 2"), "{line}");
    assert!(line.contains("9m 32s to the progress deadline"), "{line}");
    assert!(
        line.contains("readiness probe of container web (GET /ready on :8080)"),
        "{line}"
    );
    assert!(line.contains("statuscode: 503"), "{line}");
    // Past the deadline (before the controller says so), the line says so.
    let late = why_stuck(&s, since + 605_000).unwrap().line();
    assert!(late.contains("progress deadline passed 5s ago"), "{late}");
}

#[test]
fn kubectls_order_of_checks() {
    let base = load("complete");
    let with = |f: &dyn Fn(&mut DeploymentSnap)| {
        let mut s = base.clone();
        f(s.deployment.as_mut().unwrap());
        verdict(&s)
    };
    // 1. generation not observed wins over everything, even a missed deadline.
    assert_eq!(
        with(&|d| {
            d.generation = d.observed_generation + 1;
            d.conditions.push(Condition {
                kind: "Progressing".into(),
                reason: "ProgressDeadlineExceeded".into(),
                ..Default::default()
            });
        }),
        Verdict::Progressing(Hold::SpecNotObserved)
    );
    // 3. still updating.
    assert_eq!(
        with(&|d| d.updated = 1),
        Verdict::Progressing(Hold::Updating {
            updated: 1,
            desired: 2
        })
    );
    // 4. old replicas pending termination.
    assert_eq!(
        with(&|d| d.total = 3),
        Verdict::Progressing(Hold::OldReplicasPending { pending: 1 })
    );
    // 5. waiting for availability.
    let v = with(&|d| d.available = 1);
    assert_eq!(
        v,
        Verdict::Progressing(Hold::Availability {
            available: 1,
            updated: 2
        })
    );
    assert!(
        v.words("web")
            .contains("1 of 2 updated replicas are available")
    );
    assert_eq!(verdict(&RolloutSnapshot::default()), Verdict::Missing);
}

#[test]
fn failed_scheduling_for_cpu_is_the_likely_cause() {
    let mut s = load("unready-progressing");
    let new_pod = s.new_pods().next().unwrap().name.clone();
    for p in &mut s.pods {
        if p.name == new_pod {
            p.phase = "Pending".into();
            p.ready = false;
        }
    }
    s.events.push(EventSnap {
        uid: "x".into(),
        object_kind: "Pod".into(),
        object_name: new_pod,
        reason: "FailedScheduling".into(),
        message: "0/3 nodes are available: 3 Insufficient cpu.".into(),
        warning: true,
        count: 4,
        last_ms: i64::MAX / 2,
        ..Default::default()
    });
    let why = why_stuck(&s, progressing_since(&s)).unwrap();
    let cause = why.cause.unwrap();
    assert!(
        cause.starts_with("FailedScheduling: insufficient cpu"),
        "{cause}"
    );
}

#[test]
fn container_cannot_run_dooms_except_exit_128() {
    let mut s = load("unready-progressing");
    let name = s.new_pods().next().unwrap().name.clone();
    let set = |s: &mut RolloutSnapshot, exit| {
        for p in &mut s.pods {
            if p.name == name {
                p.containers[0].terminated_reason = Some("ContainerCannotRun".into());
                p.containers[0].terminated_exit = Some(exit);
            }
        }
    };
    set(&mut s, 128);
    assert!(matches!(verdict(&s), Verdict::Progressing(_)));
    set(&mut s, 127);
    let Verdict::Failed(Failure::Doomed(d)) = verdict(&s) else {
        panic!()
    };
    assert_eq!(d.reason, "ContainerCannotRun");
}

#[test]
fn sustained_health_failures_fire_after_for_over_every() {
    let s = load("complete");
    let on = RollbackOn {
        health: Some(HealthTrigger {
            url: "http://127.0.0.1:1/health".into(),
            every: Duration::from_secs(10),
            sustained: Duration::from_secs(120),
        }),
        ..Default::default()
    };
    let mut h = HealthTracker::default();
    for _ in 0..11 {
        h.record(false);
    }
    assert!(
        trigger(&on, &s, &h).is_none(),
        "11 failures are not 2 minutes"
    );
    h.record(true);
    for _ in 0..11 {
        h.record(false);
    }
    assert!(trigger(&on, &s, &h).is_none(), "a pass resets the count");
    h.record(false);
    let fired = trigger(&on, &s, &h).expect("12 in a row");
    assert_eq!(fired.trigger, Trigger::Health);
}

#[test]
fn events_are_bounded_and_ordered() {
    let mut s = load("complete");
    for i in 0..(MAX_EVENTS as i64 + 20) {
        s.events.push(EventSnap {
            uid: format!("e{i}"),
            last_ms: 10_000 - i,
            ..Default::default()
        });
    }
    s.normalize();
    assert_eq!(s.events.len(), MAX_EVENTS);
    assert!(s.events.windows(2).all(|w| w[0].last_ms <= w[1].last_ms));
}

#[test]
fn the_clock_reads_like_a_person_would() {
    assert_eq!(clock(272_000), "4m 32s");
    assert_eq!(clock(59_001), "1m 00s");
    assert_eq!(clock(5_000), "5s");
    assert_eq!(clock(3_700_000), "1h 01m");
}

#[test]
fn a_crash_looping_pod_between_two_back_offs_is_still_doomed() {
    // The moment a crash-looping container runs again, its waiting reason
    // is gone; the verdict must not flip back to "progressing".
    let mut s = load("crashloop-progressing");
    for p in &mut s.pods {
        for c in &mut p.containers {
            c.waiting_reason = None;
            c.waiting_message = None;
        }
    }
    let Verdict::Failed(Failure::Doomed(d)) = verdict(&s) else {
        panic!("{:?}", verdict(&s));
    };
    assert_eq!(d.reason, "CrashLoopBackOff");
    assert!(d.detail.contains("last exit code 1"), "{}", d.detail);
    // A container that restarted once, or whose last run succeeded, is not.
    for p in &mut s.pods {
        for c in &mut p.containers {
            c.restarts = c.restarts.min(1);
        }
    }
    assert!(!matches!(verdict(&s), Verdict::Failed(Failure::Doomed(_))));
}
