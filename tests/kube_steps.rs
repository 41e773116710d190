//! Every kube step kind, the rollback triggers and pod logs, against the
//! real control plane named by FLIGHTDECK_TEST_KUBECONFIG (each test in a
//! namespace of its own), through the step runner as the app uses it.

#[path = "support/kube.rs"]
mod support;

use std::time::{Duration, Instant};

use flightdeck::protocol::kube::{ConnState, KubeEvent};
use flightdeck::runbook::kube::{KubeCheck, KubeOp, PatchType, Permission, RollbackOn};
use flightdeck::runbook::progress::Outcome;
use flightdeck::runbook::rollout::{Verdict, verdict, why_stuck};
use flightdeck::runbook::{CheckSpec, StepAction};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use support::*;

fn failed(o: &Outcome) -> &str {
    match o {
        Outcome::Failure { reason, .. } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn succeeded(o: &Outcome) -> String {
    match o {
        Outcome::Success { note, .. } => note.clone().unwrap_or_default(),
        other => panic!("expected success, got {other:?}"),
    }
}

fn set_image(ns: &TestNs, deployment: &str, image: &str) -> flightdeck::runbook::kube::KubeAction {
    ns.action(KubeOp::Rollout {
        deployment: deployment.into(),
        images: vec![("web".into(), image.into())],
        manifests: vec![],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_sets_the_image_and_the_pane_follows_it_live() {
    let ns = TestNs::new("rollout").await;
    ns.deployment("web", "registry.local/web:v1", 3, json!(null))
        .await;
    let mut r = runner();
    let (outcome, seen) = r
        .run(
            StepAction::Kube(set_image(&ns, "web", "registry.local/web:v2")),
            Some(Duration::from_secs(60)),
        )
        .await;
    let note = succeeded(&outcome);
    assert!(note.contains("successfully rolled out"), "{note}");
    assert!(note.contains("revision 2"), "{note}");
    assert_eq!(ns.image("web").await, "registry.local/web:v2");
    // Live: the pane saw the rollout in progress, then done.
    let verdicts: Vec<Verdict> = seen.snapshots().map(verdict).collect();
    assert!(
        verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Progressing(_))),
        "{verdicts:?}"
    );
    assert_eq!(verdicts.last(), Some(&Verdict::Complete));
    let last = seen.snapshots().last().unwrap();
    assert_eq!(last.replica_sets.len(), 2);
    assert!(last.replica_sets[0].is_new && last.replica_sets[0].revision == 2);
    assert_eq!(last.new_pods().count(), 3);
    assert!(
        seen.kube
            .iter()
            .any(|(_, e)| *e == KubeEvent::Connection(ConnState::Live))
    );
    assert!(
        seen.output
            .iter()
            .any(|l| l.contains("out of 3 new replicas have been updated")
                || l.contains("old replicas are pending termination")
                || l.contains("updated replicas are available")),
        "{:#?}",
        seen.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_image_is_rolled_back_automatically() {
    let ns = TestNs::new("crashloop").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let mut action = set_image(&ns, "web", "registry.local/web:v2-crashloop");
    action.rollback_on = Some(RollbackOn {
        crash_loops: Some(3),
        ..Default::default()
    });
    let started = Instant::now();
    let (outcome, seen) = r
        .run(StepAction::Kube(action), Some(Duration::from_secs(150)))
        .await;
    let reason = failed(&outcome);
    assert!(reason.contains("rolled back automatically"), "{reason}");
    assert!(reason.contains("crash_loops"), "{reason}");
    assert!(reason.contains("undo done"), "{reason}");
    assert!(seen.kube.iter().any(
        |(_, e)| matches!(e, KubeEvent::RollbackStarted { trigger, .. } if trigger == "crash_loops")
    ),);
    // The undo rollout was followed too, to completion.
    assert!(
        seen.kube
            .iter()
            .any(|(_, e)| matches!(e, KubeEvent::Watching { phase, .. } if phase == "undo"))
    );
    assert_eq!(verdict(seen.snapshots().last().unwrap()), Verdict::Complete);
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
    ns.rolled_out("web").await;
    // Detection itself is fast (a restart every ~3 s); the bound leaves room
    // for a slow, shared CI machine.
    assert!(started.elapsed() < Duration::from_secs(150));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_says_why_within_seconds() {
    let ns = TestNs::new("notfound").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let started = Instant::now();
    let (outcome, seen) = r
        .run(
            StepAction::Kube(set_image(&ns, "web", "registry.local/web:v2-notfound")),
            Some(Duration::from_secs(60)),
        )
        .await;
    let reason = failed(&outcome);
    assert!(reason.contains("not found"), "{reason}");
    assert!(
        reason.contains("ErrImagePull") || reason.contains("ImagePullBackOff"),
        "{reason}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(
        seen.snapshots().last().map(verdict),
        Some(Verdict::Failed(_))
    ));
    // No rollback asked for: the Deployment stays where the runbook left it.
    assert_eq!(ns.image("web").await, "registry.local/web:v2-notfound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_rollout_says_why_with_the_deadline_countdown() {
    let ns = TestNs::new("stuck").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let (outcome, seen) = r
        .run(
            StepAction::Kube(set_image(&ns, "web", "registry.local/web:v2-unready")),
            Some(Duration::from_secs(8)),
        )
        .await;
    let reason = failed(&outcome);
    assert!(reason.starts_with("timed out after 8"), "{reason}");
    assert!(
        reason.contains(": waiting on updatedReplicas 1 < replicas 2"),
        "{reason}"
    );
    assert!(reason.contains("to the progress deadline"), "{reason}");
    let (at, last) = seen
        .kube
        .iter()
        .rev()
        .find_map(|(at, e)| match e {
            KubeEvent::Snapshot(s) => Some((*at, s.clone())),
            _ => None,
        })
        .unwrap();
    let _ = at;
    let now = flightdeck::clock::now_ms();
    let why = why_stuck(&last, now).expect("stuck");
    let left = why.deadline_left_ms.expect("a countdown");
    assert!((580_000..=600_000).contains(&left), "{left}");
    let line = why.line();
    assert!(
        line.contains("readiness probe of container web (GET /ready on :8080)"),
        "{line}"
    );
    assert!(line.contains("to the progress deadline"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_exceeded_triggers_a_rollback_when_asked() {
    let ns = TestNs::new("deadline").await;
    ns.deployment(
        "web",
        "registry.local/web:v1",
        1,
        json!({ "spec": { "progressDeadlineSeconds": 3 } }),
    )
    .await;
    let mut r = runner();
    let mut action = set_image(&ns, "web", "registry.local/web:v2-unready");
    action.rollback_on = Some(RollbackOn {
        progress_deadline: true,
        ..Default::default()
    });
    let (outcome, _) = r
        .run(StepAction::Kube(action), Some(Duration::from_secs(60)))
        .await;
    let reason = failed(&outcome);
    assert!(reason.contains("rollback_on.progress_deadline"), "{reason}");
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_follows_an_existing_rollout_to_its_verdict() {
    let ns = TestNs::new("wait").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let (outcome, _) = r
        .run(
            StepAction::Kube(ns.action(KubeOp::Wait {
                deployment: "web".into(),
            })),
            Some(Duration::from_secs(30)),
        )
        .await;
    assert!(succeeded(&outcome).contains("successfully rolled out"));
    let (outcome, _) = r
        .run(
            StepAction::Kube(ns.action(KubeOp::Wait {
                deployment: "nope".into(),
            })),
            Some(Duration::from_secs(30)),
        )
        .await;
    assert!(failed(&outcome).contains("not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_configmap_and_service_selector() {
    let ns = TestNs::new("patch").await;
    let cms: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": { "name": "maintenance" }, "data": { "mode": "off", "keep": "yes" }
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let svcs: Api<Service> = Api::namespaced(ns.client.clone(), &ns.name);
    svcs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": { "name": "shop" },
            "spec": { "selector": { "app": "shop", "color": "blue" }, "ports": [{ "port": 80 }] }
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let mut r = runner();
    let patch = |kind: &str, name: &str, t: PatchType, p: serde_json::Value| {
        StepAction::Kube(ns.action(KubeOp::Patch {
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            patch_type: t,
            patch: p,
        }))
    };
    let (o, _) = r
        .run(
            patch(
                "ConfigMap",
                "maintenance",
                PatchType::Strategic,
                json!({ "data": { "mode": "on" } }),
            ),
            None,
        )
        .await;
    assert!(succeeded(&o).contains("patched ConfigMap maintenance"));
    let cm = cms.get("maintenance").await.unwrap().data.unwrap();
    assert_eq!(cm["mode"], "on");
    assert_eq!(cm["keep"], "yes");
    let (o, _) = r
        .run(
            patch(
                "Service",
                "shop",
                PatchType::Json,
                json!([{ "op": "replace", "path": "/spec/selector/color", "value": "green" }]),
            ),
            None,
        )
        .await;
    succeeded(&o);
    let sel = svcs
        .get("shop")
        .await
        .unwrap()
        .spec
        .unwrap()
        .selector
        .unwrap();
    assert_eq!(sel["color"], "green");
    let (o, _) = r
        .run(
            patch(
                "Service",
                "shop",
                PatchType::Merge,
                json!({ "spec": { "selector": { "color": "blue" } } }),
            ),
            None,
        )
        .await;
    succeeded(&o);
    let (o, _) = r
        .run(
            patch(
                "ConfigMap",
                "missing",
                PatchType::Merge,
                json!({ "data": {} }),
            ),
            None,
        )
        .await;
    assert!(failed(&o).contains("patching ConfigMap missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_scale_follow_their_rollouts() {
    let ns = TestNs::new("restart").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let (o, seen) = r
        .run(
            StepAction::Kube(ns.action(KubeOp::Restart {
                deployment: "web".into(),
                wait: true,
            })),
            Some(Duration::from_secs(60)),
        )
        .await;
    assert!(succeeded(&o).contains("revision 2"));
    assert_eq!(verdict(seen.snapshots().last().unwrap()), Verdict::Complete);
    let (o, seen) = r
        .run(
            StepAction::Kube(ns.action(KubeOp::Scale {
                deployment: "web".into(),
                replicas: "4".into(),
                wait: true,
            })),
            Some(Duration::from_secs(60)),
        )
        .await;
    succeeded(&o);
    let last = seen.snapshots().last().unwrap();
    assert_eq!(last.pods.iter().filter(|p| p.ready).count(), 4);
    assert_eq!(last.deployment.as_ref().unwrap().available, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_goes_back_a_revision_or_to_a_named_one() {
    let ns = TestNs::new("undo").await;
    ns.deployment("web", "registry.local/web:v1", 1, json!(null))
        .await;
    let mut r = runner();
    for v in ["v2", "v3"] {
        let (o, _) = r
            .run(
                StepAction::Kube(set_image(&ns, "web", &format!("registry.local/web:{v}"))),
                Some(Duration::from_secs(60)),
            )
            .await;
        succeeded(&o);
    }
    let undo = |to: Option<&str>| {
        StepAction::Kube(ns.action(KubeOp::Undo {
            deployment: "web".into(),
            to_revision: to.map(str::to_string),
        }))
    };
    let (o, seen) = r.run(undo(None), Some(Duration::from_secs(60))).await;
    let note = succeeded(&o);
    assert!(note.contains("successfully rolled out"), "{note}");
    assert!(
        seen.output
            .iter()
            .any(|l| l.contains("rolled back to revision 2")),
        "{:#?}",
        seen.output
    );
    assert_eq!(ns.image("web").await, "registry.local/web:v2");
    let (o, _) = r.run(undo(Some("1")), Some(Duration::from_secs(60))).await;
    succeeded(&o);
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
    let (o, _) = r.run(undo(Some("42")), Some(Duration::from_secs(60))).await;
    assert!(failed(&o).contains("no revision 42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_by_server_side_apply_of_a_manifest() {
    let ns = TestNs::new("apply").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yaml");
    let mut d = deployment_json("web", "registry.local/web:v7", 2);
    d["metadata"]["namespace"] = json!(ns.name);
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "web-config" }, "data": { "a": "1" } });
    std::fs::write(
        &path,
        format!(
            "{}\n---\n{}\n",
            serde_json::to_string(&cm).unwrap(),
            serde_json::to_string(&d).unwrap()
        ),
    )
    .unwrap();
    let mut r = runner();
    let (o, _) = r
        .run(
            StepAction::Kube(ns.action(KubeOp::Rollout {
                deployment: "web".into(),
                images: vec![],
                manifests: vec![path.display().to_string()],
            })),
            Some(Duration::from_secs(60)),
        )
        .await;
    assert!(succeeded(&o).contains("successfully rolled out"));
    assert_eq!(ns.image("web").await, "registry.local/web:v7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_kube_asks_the_api_and_access_reviews() {
    let ns = TestNs::new("access").await;
    let mut r = runner();
    let needs = set_image(&ns, "web", "x").permissions(&ns.name);
    assert!(needs.contains(&Permission {
        verb: "patch".into(),
        group: "apps".into(),
        resource: "deployments".into(),
        subresource: String::new(),
        namespace: ns.name.clone(),
    }));
    let (o, seen) = r
        .run(
            StepAction::Check(CheckSpec::Kube(KubeCheck::Access {
                namespace: None,
                cluster: ns.cluster.clone(),
                needs,
            })),
            Some(Duration::from_secs(30)),
        )
        .await;
    assert!(succeeded(&o).contains("permission(s) allowed"));
    assert!(
        seen.output
            .iter()
            .any(|l| l.starts_with("API server answers: Kubernetes v1.20"))
    );
    assert!(
        seen.output
            .iter()
            .any(|l| l == &format!("✔ may get pods/log in {}", ns.name))
    );
    let mut bad = ns.cluster.clone();
    bad.context = Some("no-such-context".into());
    let (o, _) = r
        .run(
            StepAction::Check(CheckSpec::Kube(KubeCheck::Access {
                namespace: None,
                cluster: bad,
                needs: vec![],
            })),
            Some(Duration::from_secs(30)),
        )
        .await;
    assert!(failed(&o).contains("no-such-context"), "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_arrive_with_their_pod_and_hostile_text_is_neutralized() {
    let ns = TestNs::new("logs").await;
    let hostile = r"evil\e]0;pwned\x07 title\e[2J\e[31mred\u202eesrever\x00nul\r\nsecond";
    let mut r = runner();
    // A rollout that never completes, followed for a few seconds.
    ns.deployment(
        "chatty",
        "registry.local/web:v1",
        1,
        json!({ "spec": { "template": { "metadata": { "annotations": {
            "fake.flightdeck.dev/log-text": hostile,
            "fake.flightdeck.dev/log-rate": "50"
        } } } } }),
    )
    .await;
    let mut wait = set_image(&ns, "chatty", "registry.local/web:v2-unready");
    wait.rollback_on = None;
    r.start(2, StepAction::Kube(wait), Some(Duration::from_secs(5)));
    let (_, seen) = r.until_finished(2, Duration::from_secs(30)).await;
    let lines: Vec<_> = seen
        .kube
        .iter()
        .filter_map(|(_, e)| match e {
            KubeEvent::PodLogs { lines, .. } => Some(lines.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(lines.len() > 20, "{} lines", lines.len());
    assert!(lines.iter().all(|l| l.source.starts_with("chatty-")));
    assert!(
        lines.iter().any(|l| l.new) && lines.iter().any(|l| !l.new),
        "new and old pods"
    );
    let evil = lines
        .iter()
        .find(|l| l.text.contains("evil"))
        .expect("the hostile line arrived");
    // Raw, it would drive the terminal ...
    assert!(evil.text.contains('\x1b') && evil.text.contains('\u{202e}'));
    // ... sanitized, nothing of it is left.
    let clean = flightdeck::sanitize::sanitize_line(&evil.text);
    for bad in ['\x1b', '\x07', '\u{202e}', '\0', '\r'] {
        assert!(!clean.contains(bad), "{clean:?}");
    }
    assert!(
        clean.contains("evil") && clean.contains("title"),
        "{clean:?}"
    );
    // No line seen twice from one pod (reconnects resume after the last timestamp).
    let mut steady: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l.text.contains("seq="))
        .map(|l| (&*l.source, l.text.as_str()))
        .collect();
    let n = steady.len();
    steady.sort();
    steady.dedup();
    assert_eq!(steady.len(), n, "duplicate log lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_rollback_runs_the_undo_and_follows_it() {
    let ns = TestNs::new("manual").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let mut r = runner();
    let rollout = set_image(&ns, "web", "registry.local/web:v2");
    // Generous: on a loaded 2-core CI machine the simulated cluster can lag.
    let (o, _) = r
        .run(
            StepAction::Kube(rollout.clone()),
            Some(Duration::from_secs(180)),
        )
        .await;
    succeeded(&o);
    r.cmds
        .send(flightdeck::protocol::command::Command::KubeRollback {
            step: 1,
            action: StepAction::Kube(rollout.default_undo().unwrap()),
            reason: "rolled back by alice".into(),
        })
        .unwrap();
    let mut started = false;
    let done = loop {
        let ev = tokio::time::timeout(Duration::from_secs(180), r.events.recv())
            .await
            .expect("RollbackDone")
            .unwrap();
        if let flightdeck::protocol::event::BackendEvent::Kube { step: 1, event } = ev {
            match event {
                KubeEvent::RollbackStarted { trigger, .. } => started = trigger == "manual",
                KubeEvent::RollbackDone { ok, detail } => break (ok, detail),
                _ => {}
            }
        }
    };
    assert!(started);
    assert!(done.0, "{}", done.1);
    assert!(
        done.1.contains("rolled back to revision 1") || done.1.contains("successfully rolled out"),
        "{}",
        done.1
    );
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
}
