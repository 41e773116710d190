//! SlotWise "Deployment Standards" as runbooks, headless against the test
//! cluster: the rolling update (config/runbooks/slotwise.yaml) to success,
//! and the blue-green variant (slotwise-blue-green.yaml) switching the
//! Service only after the idle colour's health checks pass, and never
//! switching when they fail.

#[path = "support/app_front.rs"]
mod app_front;
#[path = "support/guides.rs"]
mod support;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use serde_json::json;
use support::*;

const ROLLING: &str = "config/runbooks/slotwise.yaml";
const BLUE_GREEN: &str = "config/runbooks/slotwise-blue-green.yaml";

/// auth-service's /health as the guide's HealthHandler answers it.
fn health(nats: &str) -> serde_json::Value {
    let status = if nats == "healthy" {
        "healthy"
    } else {
        "unhealthy"
    };
    json!({
        "status": status,
        "checks": {
            "database": "healthy",
            "redis": "healthy",
            "nats": nats,
            "version": "v1.2.3",
            "uptime": "42s"
        }
    })
}

/// The service: guide-shaped /health and /ready, the rest (metrics,
/// Prometheus API) from demo-service.
async fn auth_service(g: &mut Guide, healthy: bool) -> String {
    let demo = g.demo(&["--metric", "http_requests_total=0.002"]);
    let (code, nats) = if healthy {
        (200, "healthy")
    } else {
        (503, "unhealthy")
    };
    app_front::start(
        Some(demo),
        vec![
            ("/health", code, health(nats)),
            ("/ready", code, json!({ "ready": healthy })),
        ],
    )
    .await
}

async fn selector(g: &Guide) -> std::collections::BTreeMap<String, String> {
    let svc = Api::<Service>::namespaced(g.ns.client.clone(), &g.ns.name)
        .get("auth-service")
        .await
        .unwrap();
    svc.spec.unwrap().selector.unwrap()
}

fn succeeded(events: &[serde_json::Value], steps: &[&str]) {
    for s in steps {
        assert_eq!(
            finished(events, s)["status"],
            "succeeded",
            "{s}: {events:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_rolling_update_to_success() {
    let mut g = Guide::new("slotwise", "tests/fixtures/guides/slotwise/k8s.yaml").await;
    let url = auth_service(&mut g, true).await;
    let prom = g.base_url();
    // The guide-true health window (every 10s for 2m) shortened through
    // inputs: the runbook itself runs, not a copy.
    let rolling = ROLLING;
    let sets = [
        "image=ghcr.io/slotwise/auth-service:v1.2.3".to_string(),
        "health_every=1s".to_string(),
        "health_for=2s".to_string(),
        format!("service_url={url}"),
        format!("prom_url={prom}"),
    ];
    // Without the checklists ticked, the release waits for a person.
    let (code, events) = g.run_headless(rolling, "staging", &sets, &[]).await;
    assert_eq!(code, 3, "{events:#?}");
    assert!(!started(&events, "cluster-access"));
    let release = release_id(&events);
    let (code, events) = g
        .run_headless_with(
            rolling,
            "staging",
            &sets,
            &["pre-checklist", "during-checklist", "post-checklist"],
            &["--release", &release],
        )
        .await;
    assert_eq!(code, 0, "{events:#?}");
    succeeded(
        &events,
        &[
            "cluster-access",
            "rolling-strategy",
            "current-healthy",
            "rolling-update",
            "health",
            "ready",
            "error-rate",
            "all-healthy",
            "rollout-settled",
        ],
    );
    assert_eq!(release_status(&events).as_deref(), Some("succeeded"));
    assert_eq!(
        g.ns.image("auth-service").await,
        "ghcr.io/slotwise/auth-service:v1.2.3"
    );
    let d = g.ns.deployments().get("auth-service").await.unwrap();
    let strategy = d.spec.unwrap().strategy.unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let ru = strategy.rolling_update.unwrap();
    assert_eq!(
        serde_json::to_value(&ru).unwrap(),
        json!({ "maxSurge": 1, "maxUnavailable": 0 })
    );
    let report = g.report_json(&release).await;
    let checks = report["checklist"]["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["status"] == "passed"),
        "{checks:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_blue_green_switches_after_the_idle_colour_is_healthy() {
    let mut g = Guide::new(
        "slotwisebg",
        "tests/fixtures/guides/slotwise/k8s-blue-green.yaml",
    )
    .await;
    let url = auth_service(&mut g, true).await;
    let sets = [
        "image=ghcr.io/slotwise/auth-service:v1.2.3".to_string(),
        "replicas=2".to_string(),
        format!("idle_url={url}"),
        format!("service_url={url}"),
    ];
    let (code, events) = g
        .run_headless(
            BLUE_GREEN,
            "staging",
            &sets,
            &["pre-checklist", "during-checklist", "post-checklist"],
        )
        .await;
    assert_eq!(code, 0, "{events:#?}");
    succeeded(
        &events,
        &[
            "idle-rollout",
            "idle-health-components",
            "idle-ready",
            "switch-service",
            "verify-traffic",
            "hold-under-traffic",
            "retire-old",
        ],
    );
    assert_eq!(selector(&g).await["color"], "green");
    assert_eq!(
        g.ns.image("auth-service-green").await,
        "ghcr.io/slotwise/auth-service:v1.2.3"
    );
    let blue = g.ns.deployments().get("auth-service-blue").await.unwrap();
    assert_eq!(blue.spec.unwrap().replicas, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_blue_green_with_an_unhealthy_idle_colour_never_switches_traffic() {
    let mut g = Guide::new(
        "slotwisebgx",
        "tests/fixtures/guides/slotwise/k8s-blue-green.yaml",
    )
    .await;
    // The idle colour's nats check fails: /health answers 503, unhealthy.
    let idle = auth_service(&mut g, false).await;
    let live = app_front::start(None, vec![("/health", 200, health("healthy"))]).await;
    let sets = [
        "image=ghcr.io/slotwise/auth-service:v1.2.3".to_string(),
        "replicas=2".to_string(),
        format!("idle_url={idle}"),
        format!("service_url={live}"),
    ];
    let (code, events) = g
        .run_headless(
            BLUE_GREEN,
            "staging",
            &sets,
            &["pre-checklist", "during-checklist", "post-checklist"],
        )
        .await;
    assert_eq!(code, 1, "{events:#?}");
    let health = finished(&events, "idle-health-components");
    assert_eq!(health["status"], "failed");
    let detail = health["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("503"), "{detail}");
    assert_eq!(release_status(&events).as_deref(), Some("failed"));
    // Traffic never moved: the selector still names blue, blue still runs.
    for step in ["switch-service", "verify-traffic", "retire-old"] {
        assert!(!started(&events, step), "{step} ran");
    }
    assert_eq!(selector(&g).await["color"], "blue");
    let blue = g.ns.deployments().get("auth-service-blue").await.unwrap();
    assert_eq!(blue.spec.unwrap().replicas, Some(2));
    assert_eq!(
        g.ns.image("auth-service-blue").await,
        "ghcr.io/slotwise/auth-service:v1.2.2"
    );
}
