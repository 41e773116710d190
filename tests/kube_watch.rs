//! `flightdeck watch` against the real control plane (FLIGHTDECK_TEST_KUBECONFIG,
//! a namespace per test): the list's verdicts for a complete, a progressing
//! and a crash-looping Deployment, and an opened rollout's snapshots and
//! pod logs through the same watches a release step uses.

#[path = "support/kube.rs"]
mod support;

use std::time::{Duration, Instant};

use flightdeck::backend::kube::fleet::{self, Scope};
use flightdeck::backend::kube::{Reporter, watch};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::{ConnState, KubeEvent};
use flightdeck::protocol::watch::WatchEvent;
use flightdeck::runbook::watch::{DeploymentRow, Health};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::PostParams;
use serde_json::json;
use tokio::sync::mpsc;

use support::{TestNs, deployment_json, merge};

async fn create(ns: &TestNs, name: &str, image: &str, replicas: i32, delay: &str) {
    let mut d = deployment_json(name, image, replicas);
    merge(
        &mut d,
        json!({ "spec": { "template": { "metadata": { "annotations": {
            "fake.flightdeck.dev/start-delay": delay
        } } } } }),
    );
    let d: Deployment = serde_json::from_value(d).unwrap();
    ns.deployments()
        .create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
}

/// Rows until `done` holds for them (or 60 s pass: the last rows, failing).
async fn rows_until(
    rx: &mut mpsc::UnboundedReceiver<WatchEvent>,
    done: impl Fn(&[DeploymentRow]) -> bool,
) -> Vec<DeploymentRow> {
    let end = Instant::now() + Duration::from_secs(60);
    let mut last = Vec::new();
    while Instant::now() < end {
        match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
            Ok(Some(WatchEvent::Rows(rows))) => {
                if done(&rows) {
                    return rows;
                }
                last = rows;
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => break,
        }
    }
    panic!("rows never settled: {last:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_says_complete_progressing_and_failing_with_the_reason() {
    let ns = TestNs::new("watchlist").await;
    ns.deployment("cart", "registry/cart:1", 2, json!({})).await;
    create(&ns, "search", "registry/search:1", 2, "120s").await;
    create(&ns, "api", "registry/api-crashloop:2", 1, "0s").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let scope = Scope {
        namespace: Some(ns.name.clone()),
        ..Default::default()
    };
    let task = tokio::spawn(fleet::run(ns.client.clone(), scope, tx));
    let rows = rows_until(&mut rx, |rows| {
        rows.len() == 3 && rows[0].health == Health::Failed
    })
    .await;
    task.abort();
    let by = |n: &str| rows.iter().find(|r| r.name == n).unwrap().clone();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["api", "search", "cart"], "problems first");
    let api = by("api");
    assert_eq!(api.verdict, "failed");
    assert!(
        api.why.starts_with("CrashLoopBackOff") && api.why.contains("last exit code 1"),
        "{}",
        api.why
    );
    let search = by("search");
    assert_eq!(search.health, Health::Progressing);
    assert_eq!(search.verdict, "progressing 0/2");
    assert!(
        search.deadline_at_ms.is_some(),
        "a deadline to count down to"
    );
    assert!(
        search.why.contains("waiting for availability"),
        "{}",
        search.why
    );
    assert_eq!(by("cart").verdict, "complete");
    assert_eq!((by("cart").ready, by("cart").desired), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_and_names_narrow_the_list() {
    let ns = TestNs::new("watchsel").await;
    ns.deployment("cart", "registry/cart:1", 1, json!({})).await;
    ns.deployment("shop", "registry/shop:1", 1, json!({})).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let scope = Scope {
        namespace: Some(ns.name.clone()),
        selector: Some("app=shop".into()),
        names: vec![],
    };
    let task = tokio::spawn(fleet::run(ns.client.clone(), scope, tx));
    let rows = rows_until(&mut rx, |rows| !rows.is_empty()).await;
    task.abort();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_rollout_streams_snapshots_like_a_release_step() {
    let ns = TestNs::new("watchopen").await;
    create(&ns, "api", "registry/api-crashloop:2", 2, "0s").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = ns.client.clone();
    let name = ns.name.clone();
    let task = tokio::spawn(async move {
        let report = Reporter { step: 7, tx };
        watch::observe(&client, &name, "api", &report).await
    });
    let end = Instant::now() + Duration::from_secs(60);
    let (mut live, mut crashing) = (false, false);
    while Instant::now() < end && !(live && crashing) {
        let Ok(Some(BackendEvent::Kube { step, event })) =
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await
        else {
            continue;
        };
        assert_eq!(step, 7, "events carry the open they belong to");
        match event {
            KubeEvent::Connection(ConnState::Live) => live = true,
            KubeEvent::Snapshot(s) => {
                let rows = flightdeck::runbook::watch::pod_rows(&s);
                crashing = rows.len() == 2
                    && rows[0].reason.starts_with("CrashLoopBackOff")
                    && rows[0].trouble == flightdeck::runbook::watch::Trouble::Doomed;
            }
            _ => {}
        }
    }
    task.abort();
    assert!(live && crashing, "live {live}, crash loop seen {crashing}");
}
