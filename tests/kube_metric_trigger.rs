//! A metric condition as a rollback trigger (OffGridFlow: "error rate
//! above 5%"): sustained breaches roll the Deployment back; a query with no
//! data never fires it and never lets the step pass.

#[path = "support/kube.rs"]
mod support;

use std::time::Duration;

use flightdeck::demo_service::{DemoExtras, DemoOptions, serve_with};
use flightdeck::runbook::StepAction;
use flightdeck::runbook::data::{CmpOp, PromSpec};
use flightdeck::runbook::kube::{KubeOp, RollbackOn};
use flightdeck::runbook::progress::Outcome;
use serde_json::json;
use support::*;

/// A Prometheus-compatible endpoint answering `error_rate` with `value`.
async fn prometheus(value: f64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let extras = DemoExtras::parse(&[format!("error_rate={value}")], &[]).unwrap();
    tokio::spawn(serve_with(listener, DemoOptions::default(), extras));
    format!("http://{addr}")
}

fn error_rate_below_5_percent(url: String, query: &str) -> RollbackOn {
    RollbackOn {
        progress_deadline: false,
        crash_loops: None,
        doomed_pod: false,
        health: None,
        metric: Some(Box::new(PromSpec {
            url,
            query: query.into(),
            op: CmpOp::Lt,
            threshold: 0.05,
            range: None,
            step: Duration::from_secs(15),
            sustain: Some(Duration::from_millis(1500)),
            interval: Duration::from_millis(300),
        })),
    }
}

fn rollout(ns: &TestNs, image: &str, on: RollbackOn) -> StepAction {
    let mut a = ns.action(KubeOp::Rollout {
        deployment: "web".into(),
        images: vec![("web".into(), image.into())],
        manifests: vec![],
    });
    a.rollback_on = Some(on);
    StepAction::Kube(a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_error_rate_breach_rolls_back() {
    let ns = TestNs::new("metric").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let prom = prometheus(0.08).await;
    let mut r = runner();
    let (outcome, _) = r
        .run(
            rollout(
                &ns,
                "registry.local/web:v2",
                error_rate_below_5_percent(prom, "error_rate"),
            ),
            Some(Duration::from_secs(60)),
        )
        .await;
    let Outcome::Failure { reason, .. } = &outcome else {
        panic!("expected a rollback, got {outcome:?}")
    };
    assert!(reason.contains("rollback_on.metric"), "{reason}");
    assert!(reason.contains("error_rate"), "{reason}");
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_metric_lets_the_rollout_pass_and_no_data_never_does() {
    let ns = TestNs::new("metricok").await;
    ns.deployment("web", "registry.local/web:v1", 1, json!(null))
        .await;
    let prom = prometheus(0.01).await;
    let mut r = runner();
    let (outcome, _) = r
        .run(
            rollout(
                &ns,
                "registry.local/web:v2",
                error_rate_below_5_percent(prom.clone(), "error_rate"),
            ),
            Some(Duration::from_secs(60)),
        )
        .await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert_eq!(ns.image("web").await, "registry.local/web:v2");
    // A query nobody answers: inconclusive, not a pass and not a rollback.
    let (outcome, _) = r
        .run(
            rollout(
                &ns,
                "registry.local/web:v3",
                error_rate_below_5_percent(prom, "latency_p95"),
            ),
            Some(Duration::from_secs(60)),
        )
        .await;
    assert!(
        matches!(outcome, Outcome::Inconclusive { .. }),
        "{outcome:?}"
    );
    assert_eq!(ns.image("web").await, "registry.local/web:v3");
}
