//! The example runbooks (config/runbooks/blue-green.yaml, canary.yaml) run
//! through with the built binary, headless, against the test control plane;
//! the shop they release is created from tests/fixtures/k8s/.

#[path = "support/kube.rs"]
mod support;

use std::process::Output;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

async fn shop(ns: &TestNs, fixture: &str) {
    let path = format!(
        "{}/tests/fixtures/k8s/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for d in docs.iter().filter(|d| d.is_object()) {
        flightdeck::backend::kube::ops::create_dynamic(&ns.client, &ns.name, d)
            .await
            .unwrap();
    }
    for d in &docs {
        if d["kind"] == "Deployment" {
            ns.rolled_out(d["metadata"]["name"].as_str().unwrap()).await;
        }
    }
}

async fn run(ns: &TestNs, args: &[&str]) -> (Output, Vec<Value>) {
    run_in(ns, "test", args).await
}

async fn run_in(ns: &TestNs, env: &str, args: &[&str]) -> (Output, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env("KUBECONFIG", kubeconfig())
        .env("FLIGHTDECK_CONFIG_DIR", dir.path().join("config"))
        .env("FLIGHTDECK_DATA_DIR", dir.path().join("data"))
        .env("FLIGHTDECK_USER", "alice")
        .args(["run", "--headless", "--env", env, "--namespace", &ns.name])
        .args(args);
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), cmd.output())
        .await
        .expect("the run finished")
        .unwrap();
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out, events)
}

fn finished(events: &[Value], step: &str) -> Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .cloned()
        .unwrap_or_else(|| panic!("no step_finished for {step}: {events:#?}"))
}

fn selector(svc: &Service) -> std::collections::BTreeMap<String, String> {
    svc.spec.clone().unwrap().selector.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_switches_the_service_to_the_new_colour() {
    let ns = TestNs::new("bluegreen").await;
    shop(&ns, "blue-green.yaml").await;
    let (out, events) = run(
        &ns,
        &[
            "config/runbooks/blue-green.yaml",
            "--set",
            "image=registry.local/shop:v2",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}\n{events:#?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(finished(&events, "cluster-access")["status"], "succeeded");
    assert_eq!(finished(&events, "roll-idle")["status"], "succeeded");
    let svc = Api::<Service>::namespaced(ns.client.clone(), &ns.name)
        .get("shop")
        .await
        .unwrap();
    assert_eq!(selector(&svc)["color"], "green");
    assert_eq!(ns.image("shop-green").await, "registry.local/shop:v2");
    assert_eq!(ns.image("shop-blue").await, "registry.local/shop:v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_with_a_crashing_image_rolls_the_idle_colour_back_and_never_switches() {
    let ns = TestNs::new("bluegreen-bad").await;
    shop(&ns, "blue-green.yaml").await;
    let (out, events) = run(
        &ns,
        &[
            "config/runbooks/blue-green.yaml",
            "--set",
            "image=registry.local/shop:v2-crashloop",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{events:#?}");
    let roll = finished(&events, "roll-idle");
    assert_eq!(roll["status"], "failed");
    let detail = roll["detail"].as_str().unwrap();
    assert!(detail.contains("rolled back automatically"), "{detail}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "release_ended" && e["status"] == "failed")
    );
    assert_eq!(ns.image("shop-green").await, "registry.local/shop:v1");
    let svc = Api::<Service>::namespaced(ns.client.clone(), &ns.name)
        .get("shop")
        .await
        .unwrap();
    assert_eq!(selector(&svc)["color"], "blue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_takes_a_share_then_is_promoted() {
    let ns = TestNs::new("canary").await;
    shop(&ns, "canary.yaml").await;
    let (out, events) = run(
        &ns,
        &[
            "config/runbooks/canary.yaml",
            "--set",
            "image=registry.local/shop:v2",
            "--ack",
            "canary-verdict",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}\n{events:#?}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "canary-image",
        "canary-share",
        "canary-holds",
        "promote-stable",
        "canary-down",
    ] {
        assert_eq!(finished(&events, step)["status"], "succeeded", "{step}");
    }
    assert_eq!(ns.image("shop-stable").await, "registry.local/shop:v2");
    let canary = ns.deployments().get("shop-canary").await.unwrap();
    assert_eq!(canary.spec.unwrap().replicas, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_pinned_to_another_context_refuses_its_kube_steps() {
    let ns = TestNs::new("pinned").await;
    let (out, events) = run(
        &ns,
        &[
            "config/runbooks/canary.yaml",
            "--context",
            "no-such-context",
        ],
    )
    .await;
    assert_ne!(out.status.code(), Some(0));
    let _ = events;
    let (out, events) = run_in(&ns, "production", &["config/runbooks/canary.yaml"]).await;
    let _ = out;
    let access = finished(&events, "cluster-access");
    assert_eq!(access["status"], "failed");
    let detail = access["detail"].as_str().unwrap();
    assert!(
        detail.contains("expects kube context \"prod\"")
            && detail.contains("current context is \"flightdeck-test\""),
        "{detail}"
    );
}
