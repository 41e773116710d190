//! `flightdeck watch`'s list on the real control plane: a Deployment whose
//! image is not found is failed (SEMANTICS: fail fast on `ErrImagePull` /
//! `ImagePullBackOff` with "not found"), from pod status, and stays failed
//! once the kubelet only says "Back-off pulling image"; a list started after
//! that reads the pod's own events once to know.

#[path = "support/kube.rs"]
mod support;

use std::time::{Duration, Instant};

use flightdeck::backend::kube::fleet::{self, Scope};
use flightdeck::protocol::watch::WatchEvent;
use flightdeck::runbook::watch::{DeploymentRow, Health};
use serde_json::json;
use tokio::sync::mpsc;

use support::TestNs;

/// Every row list for `secs` seconds.
async fn rows_for(
    rx: &mut mpsc::UnboundedReceiver<WatchEvent>,
    secs: u64,
) -> Vec<Vec<DeploymentRow>> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut all = Vec::new();
    while Instant::now() < end {
        if let Ok(Some(WatchEvent::Rows(rows))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            all.push(rows);
        }
    }
    all
}

fn api(rows: &[DeploymentRow]) -> Option<&DeploymentRow> {
    rows.iter().find(|r| r.name == "api")
}

fn failed_not_found(r: &DeploymentRow) -> bool {
    r.health == Health::Failed && r.why.contains("not found")
}

async fn roll_to_missing_image(ns: &TestNs) {
    ns.deployment("api", "registry/api:1", 1, json!({})).await;
    let patch = json!({ "spec": { "template": { "spec": { "containers": [
        { "name": "web", "image": "registry/api-notfound:2" }
    ] } } } });
    ns.deployments()
        .patch(
            "api",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Strategic(patch),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_fails_the_row_and_stays_failed_after_the_back_off() {
    let ns = TestNs::new("watchpull").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let scope = Scope {
        namespace: Some(ns.name.clone()),
        ..Default::default()
    };
    let task = tokio::spawn(fleet::run(ns.client.clone(), scope, tx));
    roll_to_missing_image(&ns).await;
    // ErrImagePull for 2 s, then ImagePullBackOff: watch well past that.
    let seen = rows_for(&mut rx, 12).await;
    task.abort();
    let verdicts: Vec<(Health, String)> = seen
        .iter()
        .filter_map(|r| api(r))
        .map(|r| (r.health, r.why.clone()))
        .collect();
    let first = seen
        .iter()
        .position(|r| api(r).is_some_and(failed_not_found))
        .unwrap_or_else(|| panic!("never failed: {verdicts:#?}"));
    for rows in &seen[first..] {
        let r = api(rows).unwrap();
        assert!(failed_not_found(r), "flipped back: {verdicts:#?}");
    }
    assert!(
        api(seen.last().unwrap())
            .unwrap()
            .why
            .starts_with("ImagePullBackOff")
            || api(seen.last().unwrap())
                .unwrap()
                .why
                .starts_with("ErrImagePull"),
        "{verdicts:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_started_after_the_back_off_reads_the_pods_events_once() {
    let ns = TestNs::new("watchpull2").await;
    roll_to_missing_image(&ns).await;
    // Past ErrImagePull: the status now only says "Back-off pulling image".
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let scope = Scope {
        namespace: Some(ns.name.clone()),
        ..Default::default()
    };
    let task = tokio::spawn(fleet::run(ns.client.clone(), scope, tx));
    let seen = rows_for(&mut rx, 20).await;
    task.abort();
    let last = seen.last().and_then(|r| api(r)).expect("rows");
    assert!(failed_not_found(last), "{last:#?}");
    assert!(last.why.contains("registry/api-notfound:2"), "{}", last.why);
}
