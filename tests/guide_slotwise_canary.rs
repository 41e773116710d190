//! SlotWise's Istio canary (config/runbooks/slotwise-canary.yaml) headless
//! against the test cluster, with the VirtualService CRD registered (the
//! schema only; no Istio runs): the weights go 10 -> 50 -> 100 with the
//! canary's health and error rate checked between, then everything back to
//! stable; a canary that turns unhealthy at 50 % aborts and the weights go
//! back to 100 % stable.

#[path = "support/guides.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RUNBOOK: &str = "config/runbooks/slotwise-canary.yaml";
const FIXTURE: &str = "tests/fixtures/guides/slotwise/k8s-canary.yaml";
const CRD: &str = "tests/fixtures/guides/slotwise/istio-virtualservice-crd.yaml";
const ACKS: &[&str] = &["pre-checklist", "during-checklist", "post-checklist"];

/// Register the VirtualService CRD (once per cluster; other tests may race
/// us to it) and wait until the API server serves the kind.
async fn virtualservice_crd() {
    let text = std::fs::read_to_string(std::path::Path::new(ROOT).join(CRD)).unwrap();
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    let ns = TestNs::new("crd").await;
    if let Err(e) = flightdeck::backend::kube::ops::create_dynamic(&ns.client, "", &crd).await {
        assert!(
            e.to_string().contains("already exists"),
            "register the CRD: {e}"
        );
    }
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1beta1", "VirtualService");
    for _ in 0..100 {
        if kube::discovery::pinned_kind(&ns.client, &gvk).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the VirtualService CRD was never served");
}

fn virtualservices(g: &Guide) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1beta1", "VirtualService");
    Api::namespaced_with(
        g.ns.client.clone(),
        &g.ns.name,
        &ApiResource::from_gvk(&gvk),
    )
}

/// (stable, canary) weights of the VirtualService's last (unmatched) route.
async fn weights(g: &Guide) -> (i64, i64) {
    let vs = virtualservices(g).get("auth-service").await.unwrap();
    route_weights(&vs.data)
}

/// The canary's /health as the guide's HealthHandler answers it, healthy
/// while `healthy` holds.
async fn canary_health(healthy: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let ok = healthy.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let (code, state) = if ok {
                    (200, "healthy")
                } else {
                    (503, "unhealthy")
                };
                let body = json!({
                    "status": state,
                    "checks": { "database": "healthy", "redis": "healthy", "nats": state }
                })
                .to_string();
                let reply = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

async fn canary_guide(prefix: &str, healthy: Arc<AtomicBool>) -> (Guide, Vec<String>, String) {
    virtualservice_crd().await;
    let mut g = Guide::new(prefix, FIXTURE).await;
    let prom = g.demo(&["--metric", "http_requests_total=0.002"]);
    let canary = canary_health(healthy).await;
    // The holds' 2-minute health window, shortened through inputs: the
    // runbook itself, not a copy.
    let runbook = RUNBOOK.to_string();
    let sets = vec![
        "image=ghcr.io/slotwise/auth-service:v1.2.3".to_string(),
        "canary_replicas=1".to_string(),
        "health_every=300ms".to_string(),
        "health_for=1500ms".to_string(),
        "max_error_rate=0.01".to_string(),
        format!("canary_url={canary}"),
        format!("prom_url={prom}"),
    ];
    (g, sets, runbook)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_canary_shifts_10_50_100_then_promotes() {
    let (g, sets, runbook) = canary_guide("swcanary", Arc::new(AtomicBool::new(true))).await;
    assert_eq!(weights(&g).await, (100, 0));
    // Record every weight the VirtualService passes through.
    let seen = Arc::new(std::sync::Mutex::new(vec![(100, 0)]));
    let watcher = {
        let (api, seen) = (virtualservices(&g), seen.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(vs) = api.get("auth-service").await {
                    let w = route_weights(&vs.data);
                    let mut s = seen.lock().unwrap();
                    if s.last() != Some(&w) {
                        s.push(w);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (code, events) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    watcher.abort();
    assert_eq!(code, 0, "{events:#?}");
    for step in [
        "canary-rollout",
        "canary-scale",
        "canary-health",
        "weight-10",
        "hold-10",
        "error-rate-10",
        "weight-50",
        "hold-50",
        "error-rate-50",
        "weight-100",
        "hold-100",
        "error-rate-100",
        "promote-stable",
        "all-stable",
        "canary-down",
    ] {
        assert_eq!(finished(&events, step)["status"], "succeeded", "{step}");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(100, 0), (90, 10), (50, 50), (0, 100), (100, 0)],
        "the weights' path"
    );
    // The canary=true header route is there while the canary takes traffic
    // and gone once everything is back on stable.
    let vs = virtualservices(&g).get("auth-service").await.unwrap();
    assert_eq!(vs.data["spec"]["http"].as_array().unwrap().len(), 1);
    assert_eq!(
        g.ns.image("auth-service-stable").await,
        "ghcr.io/slotwise/auth-service:v1.2.3"
    );
    let canary = g.ns.deployments().get("auth-service-canary").await.unwrap();
    assert_eq!(canary.spec.unwrap().replicas, Some(0));
}

fn route_weights(vs: &Value) -> (i64, i64) {
    let http = vs["spec"]["http"].as_array().cloned().unwrap_or_default();
    let route = http.last().map(|h| h["route"].clone()).unwrap_or_default();
    let weight = |subset: &str| {
        route
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["destination"]["subset"] == subset)
            .map(|r| r["weight"].as_i64().unwrap_or(0))
            .unwrap_or(0)
    };
    (weight("stable"), weight("canary"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_canary_unhealthy_at_50_aborts_and_weights_go_back() {
    let healthy = Arc::new(AtomicBool::new(true));
    let (g, sets, runbook) = canary_guide("swcanaryx", healthy.clone()).await;
    // The canary turns unhealthy once it takes half the traffic.
    let flip = {
        let api = virtualservices(&g);
        tokio::spawn(async move {
            loop {
                if let Ok(vs) = api.get("auth-service").await
                    && route_weights(&vs.data) == (50, 50)
                {
                    healthy.store(false, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (code, events) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    flip.abort();
    assert_eq!(code, 1, "{events:#?}");
    assert_eq!(finished(&events, "weight-50")["status"], "succeeded");
    let hold = finished(&events, "hold-50");
    assert_eq!(hold["status"], "failed", "{hold}");
    let detail = hold["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("rolled back"), "{detail}");
    for step in ["weight-100", "promote-stable", "all-stable"] {
        assert!(!started(&events, step), "{step} ran");
    }
    assert_eq!(release_status(&events).as_deref(), Some("failed"));
    // Abort: all traffic back on stable, the stable Deployment untouched.
    assert_eq!(weights(&g).await, (100, 0));
    assert_eq!(
        g.ns.image("auth-service-stable").await,
        "ghcr.io/slotwise/auth-service:v1.2.2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slotwise_canary_refuses_to_start_on_a_duration_or_threshold_that_is_none() {
    let (g, sets, runbook) = canary_guide("swcanarybad", Arc::new(AtomicBool::new(true))).await;
    for (set, field, said) in [
        (
            "health_for=soon",
            "stages[1].steps[4].kube.wait.rollback_on.health.for: ${inputs.health_for} is \"soon\"",
            "is not a duration",
        ),
        (
            "max_error_rate=1%",
            "stages[1].steps[5].prometheus.threshold: ${inputs.max_error_rate} is \"1%\"",
            "expected a number",
        ),
    ] {
        let mut sets = sets.clone();
        sets.push(set.to_string());
        let mut args = vec![
            "run",
            RUNBOOK,
            "--headless",
            "--env",
            "staging",
            "--namespace",
            &g.ns.name,
        ];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        let out = g.output("alice", &args).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{set}: {err}");
        // The same located error as validating the file: file:line:column: field.
        let line = err
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("{set}: {err}"));
        let at = line.find(RUNBOOK).unwrap_or_else(|| panic!("{line}"));
        let place: Vec<&str> = line[at + RUNBOOK.len()..].splitn(4, ':').collect();
        assert!(
            place[1].parse::<u32>().is_ok() && place[2].parse::<u32>().is_ok(),
            "file:line:column: {line}"
        );
        assert!(line.contains(said), "{line}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .all(|l| !l.contains("release_started"))
        );
    }
    // Nothing changed: no release started, the weights untouched.
    assert_eq!(weights(&g).await, (100, 0));
    let _ = runbook;
}
