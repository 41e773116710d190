//! `flightdeck watch` survives the API server stopping for 15 s: the list
//! and the opened rollout say "reconnecting", then "live" again, and a
//! change made after the restart shows. A control plane of its own (as
//! kube_apiserver_restart.rs), so the shared cluster never stops.

#[path = "support/kube.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use flightdeck::backend::kube::fleet::{self, Scope};
use flightdeck::backend::kube::{Reporter, watch};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::{ConnState, KubeEvent};
use flightdeck::protocol::watch::WatchEvent;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::*;
use tokio::sync::mpsc;

async fn list_until(
    rx: &mut mpsc::UnboundedReceiver<WatchEvent>,
    what: &str,
    mut f: impl FnMut(&WatchEvent) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the list never showed {what}"))
            .expect("list ended");
        if f(&ev) {
            return;
        }
    }
}

async fn pane_until(
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    what: &str,
    mut f: impl FnMut(&KubeEvent) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the pane never showed {what}"))
            .expect("observe ended");
        if let BackendEvent::Kube { event, .. } = ev
            && f(&event)
        {
            return;
        }
    }
}

#[test]
fn watch_survives_the_api_server_stopping() {
    let _ = kubeconfig();
    let _cluster = OwnCluster::start();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(restart_mid_watch());
}

async fn restart_mid_watch() {
    let ns = TestNs::new("watchrestart").await;
    ns.deployment("web", "registry.local/web:v1", 2, json!(null))
        .await;
    let (ltx, mut lrx) = mpsc::unbounded_channel();
    let scope = Scope {
        namespace: Some(ns.name.clone()),
        ..Default::default()
    };
    let list = tokio::spawn(fleet::run(ns.client.clone(), scope, ltx));
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let (client, name) = (ns.client.clone(), ns.name.clone());
    let pane = tokio::spawn(async move {
        watch::observe(&client, &name, "web", &Reporter { step: 1, tx: ptx }).await
    });
    list_until(
        &mut lrx,
        "web complete",
        |e| matches!(e, WatchEvent::Rows(r) if r.len() == 1 && r[0].verdict == "complete"),
    )
    .await;
    pane_until(&mut prx, "live", |e| {
        matches!(e, KubeEvent::Connection(ConnState::Live))
    })
    .await;

    let run_dir = PathBuf::from(kubeconfig()).parent().unwrap().to_path_buf();
    let restart = tokio::process::Command::new("bash")
        .arg(k8s_dir().join("restart-apiserver.sh"))
        .arg(&run_dir)
        .arg("15")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("restart-apiserver.sh");
    list_until(&mut lrx, "reconnecting", |e| {
        matches!(e, WatchEvent::ListConn(ConnState::Reconnecting { .. }))
    })
    .await;
    pane_until(&mut prx, "reconnecting", |e| {
        matches!(e, KubeEvent::Connection(ConnState::Reconnecting { .. }))
    })
    .await;
    let status = restart.wait_with_output().await.unwrap().status;
    assert!(status.success(), "restart-apiserver.sh failed");
    list_until(&mut lrx, "live again", |e| {
        matches!(e, WatchEvent::ListConn(ConnState::Live))
    })
    .await;
    pane_until(&mut prx, "live again", |e| {
        matches!(e, KubeEvent::Connection(ConnState::Live))
    })
    .await;

    // A change after the restart shows in the list and the pane.
    ns.deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 3 } })),
        )
        .await
        .unwrap();
    list_until(
        &mut lrx,
        "3 desired",
        |e| matches!(e, WatchEvent::Rows(r) if r.len() == 1 && r[0].desired == 3),
    )
    .await;
    pane_until(&mut prx, "3 replicas", |e| {
        matches!(e, KubeEvent::Snapshot(s) if s.deployment.as_ref().is_some_and(|d| d.replicas == 3))
    })
    .await;
    list.abort();
    pane.abort();
}
