//! `flightdeck plan` against the test control plane: the blue-green
//! runbook shows the idle colour's live image against the new one, a
//! manifests rollout shows the field diff of a real server-side dry run
//! (and the dry run changes nothing), a patch shows the live value against
//! the new, and an unreachable cluster is named per step while the rest of
//! the plan still prints. Each test has a namespace of its own.

#[path = "support/kube.rs"]
mod support;

use std::process::Output;

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::Api;
use serde_json::{Value, json};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

async fn run_plan(kubeconfig: &str, args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KUBECONFIG", kubeconfig)
        .env("FLIGHTDECK_CONFIG_DIR", dir.path().join("config"))
        .env("FLIGHTDECK_DATA_DIR", dir.path().join("data"))
        .env("FLIGHTDECK_USER", "alice")
        .arg("plan")
        .args(args);
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("plan finished")
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

/// `plan` that must succeed; its JSON.
async fn plan_ok(kubeconfig: &str, args: &[&str]) -> Value {
    let (out, plan) = run_plan(kubeconfig, args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    plan
}

fn step<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {plan:#}"))
}

/// Blue live, green idle on an older image than blue.
async fn shop(ns: &TestNs) {
    let path = format!(
        "{}/tests/fixtures/k8s/blue-green.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut docs: Vec<Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for d in docs
        .iter_mut()
        .filter(|d| d["metadata"]["name"] == "shop-green")
    {
        d["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("registry.local/shop:v0-green");
    }
    for d in docs.iter().filter(|d| d.is_object()) {
        flightdeck::backend::kube::ops::create_dynamic(&ns.client, &ns.name, d)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_plan_shows_the_idle_colours_live_image_against_the_new_one() {
    let ns = TestNs::new("plan-bg").await;
    shop(&ns).await;
    let plan = plan_ok(
        &kubeconfig(),
        &[
            "config/runbooks/blue-green.yaml",
            "--env",
            "test",
            "--namespace",
            &ns.name,
            "--set",
            "image=registry.local/shop:v3",
            "--format",
            "json",
        ],
    )
    .await;
    let roll = &step(&plan, "roll-idle")["cluster"];
    assert_eq!(roll["state"], "read", "{roll:#}");
    assert_eq!(roll["change"]["kind"], "images");
    assert_eq!(roll["change"]["deployment"], "shop-green");
    let c = &roll["change"]["containers"][0];
    assert_eq!(c["container"], "web");
    assert_eq!(c["live"], "registry.local/shop:v0-green");
    assert_eq!(c["new"], "registry.local/shop:v3");
    // The Service switch: the live selector against the patched one, from a dry run.
    let switch = &step(&plan, "switch-service");
    assert_eq!(switch["risk"], "risky");
    let changes = &switch["cluster"]["change"]["objects"][0]["changes"];
    assert_eq!(
        changes,
        &json!([{ "path": "spec.selector.color", "live": "blue", "new": "green" }]),
        "{switch:#}"
    );
    // The dry run changed nothing.
    let svc = Api::<Service>::namespaced(ns.client.clone(), &ns.name)
        .get("shop")
        .await
        .unwrap();
    assert_eq!(svc.spec.unwrap().selector.unwrap()["color"], "blue");
    assert_eq!(ns.image("shop-green").await, "registry.local/shop:v0-green");
    // The same in text, as a person reads it.
    let (out, _) = run_plan(
        &kubeconfig(),
        &[
            "config/runbooks/blue-green.yaml",
            "--env",
            "test",
            "--namespace",
            &ns.name,
            "--set",
            "image=registry.local/shop:v3",
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("~ web: registry.local/shop:v0-green → registry.local/shop:v3"),
        "{text}"
    );
    assert!(
        text.contains("~ spec.selector.color: blue → green"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifests_rollout_shows_the_field_diff_of_a_server_side_dry_run() {
    let ns = TestNs::new("plan-ssa").await;
    ns.deployment("web", "registry.local/web:v1", 1, json!({}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("web.yaml");
    let mut d = deployment_json("web", "registry.local/web:v2", 1);
    d["metadata"]["labels"] = json!({ "app": "web", "team": "shop" });
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "web-settings" },
        "data": { "mode": "fast" }
    });
    std::fs::write(
        &manifest,
        format!(
            "{}\n---\n{}\n",
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(&cm).unwrap()
        ),
    )
    .unwrap();
    let runbook = dir.path().join("ssa.yaml");
    std::fs::write(
        &runbook,
        format!(
            "name: ssa\nstages:\n  - id: s\n    title: Ship\n    steps:\n      - id: apply\n        kube.rollout:\n          deployment: web\n          manifests: [{}]\n",
            manifest.display()
        ),
    )
    .unwrap();
    let plan = plan_ok(
        &kubeconfig(),
        &[
            runbook.to_str().unwrap(),
            "--namespace",
            &ns.name,
            "--format",
            "json",
        ],
    )
    .await;
    let slot = &step(&plan, "apply")["cluster"];
    assert_eq!(slot["state"], "read", "{slot:#}");
    let objects = slot["change"]["objects"].as_array().unwrap();
    let deploy = objects
        .iter()
        .find(|o| o["object"] == "Deployment/web")
        .unwrap();
    assert_eq!(deploy["created"], false);
    let changes = deploy["changes"].as_array().unwrap();
    assert!(
        changes.contains(&json!({
            "path": "spec.template.spec.containers[web].image",
            "live": "registry.local/web:v1",
            "new": "registry.local/web:v2"
        })),
        "{changes:#?}"
    );
    assert!(
        changes.contains(&json!({ "path": "metadata.labels.team", "live": null, "new": "shop" })),
        "{changes:#?}"
    );
    // Nothing the server maintains by itself shows up as a change.
    assert!(
        changes.iter().all(|c| {
            let p = c["path"].as_str().unwrap();
            !p.contains("managedFields")
                && !p.starts_with("status")
                && !p.contains("resourceVersion")
        }),
        "{changes:#?}"
    );
    let created = objects
        .iter()
        .find(|o| o["object"] == "ConfigMap/web-settings")
        .unwrap();
    assert_eq!(created["created"], true);
    assert!(
        created["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({ "path": "data.mode", "live": null, "new": "fast" }))
    );
    // A dry run: the live objects are as they were.
    assert_eq!(ns.image("web").await, "registry.local/web:v1");
    let cms = Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name);
    assert!(cms.get_opt("web-settings").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_named_per_step_and_the_rest_still_prints() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: flightdeck-test\nclusters:\n- name: c\n  cluster: { server: 'https://127.0.0.1:9' }\ncontexts:\n- name: flightdeck-test\n  context: { cluster: c, user: u }\nusers:\n- name: u\n  user: { token: t }\n",
    )
    .unwrap();
    let plan = plan_ok(
        kc.to_str().unwrap(),
        &[
            "config/runbooks/blue-green.yaml",
            "--env",
            "test",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(plan["steps"].as_array().unwrap().len(), 5);
    for id in [
        "live-healthy",
        "roll-idle",
        "switch-service",
        "hold-under-traffic",
    ] {
        let slot = &step(&plan, id)["cluster"];
        assert_eq!(slot["state"], "unavailable", "{id}: {slot:#}");
        assert!(
            slot["reason"]
                .as_str()
                .unwrap()
                .contains("cluster unreachable"),
            "{id}: {slot:#}"
        );
    }
    // Steps that change nothing outside have no cluster part.
    assert_eq!(step(&plan, "cluster-access")["cluster"]["state"], "none");
    assert!(
        step(&plan, "roll-idle")["details"]
            .as_array()
            .unwrap()
            .contains(&json!("container web -> registry.local/shop:v2"))
    );
}
