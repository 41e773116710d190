//! The API server stops for 30 s in the middle of a watched rollout: the
//! pane says "reconnecting", and once the server is back the watches
//! resume with neither duplicate nor lost objects. It starts a control
//! plane of its own (../shared/k8s/up.sh in a temp dir), so stopping the API
//! server never slows the shared test cluster the other tests use.

#[path = "support/kube.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use flightdeck::protocol::command::Command;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::{ConnState, KubeEvent};
use flightdeck::runbook::StepAction;
use flightdeck::runbook::kube::KubeOp;
use flightdeck::runbook::rollout::RolloutSnapshot;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use serde_json::json;
use support::*;

/// Wait for the next kube event of step 1 that `f` accepts.
async fn until(
    r: &mut Runner,
    limit: Duration,
    mut f: impl FnMut(&KubeEvent) -> bool,
) -> Vec<KubeEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let ev = tokio::time::timeout_at(deadline, r.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "not seen in {limit:?}; saw {:#?}",
                    seen.iter()
                        .filter(|e| !matches!(e, KubeEvent::PodLogs { .. }))
                        .collect::<Vec<_>>()
                )
            })
            .expect("runner ended");
        match ev {
            BackendEvent::Kube { step: 1, event } => {
                let hit = f(&event);
                seen.push(event);
                if hit {
                    return seen;
                }
            }
            BackendEvent::StepFinished {
                step: 1, outcome, ..
            } => {
                panic!("the step ended early: {outcome:?}")
            }
            _ => {}
        }
    }
}

fn names(s: &RolloutSnapshot) -> BTreeSet<String> {
    s.pods.iter().map(|p| p.name.clone()).collect()
}

#[test]
fn watches_survive_the_api_server_stopping_for_30_seconds() {
    // Fail loudly without the shared cluster, like the other kube tests.
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
    let ns = TestNs::new("apiserver").await;
    ns.deployment("web", "registry.local/web:v1", 3, json!(null))
        .await;
    let mut r = runner();
    // A rollout that stays stuck (the new pod never gets ready): watched
    // for as long as the test needs.
    r.start(
        1,
        StepAction::Kube(ns.action(KubeOp::Rollout {
            deployment: "web".into(),
            images: vec![("web".into(), "registry.local/web:v2-unready".into())],
            manifests: vec![],
        })),
        Some(Duration::from_secs(240)),
    );
    let mut last = RolloutSnapshot::default();
    until(&mut r, Duration::from_secs(30), |e| match e {
        KubeEvent::Snapshot(s) => {
            last = (**s).clone();
            s.new_pods().count() == 1 && s.pods.len() == 4
        }
        _ => false,
    })
    .await;
    let before = names(&last);

    // Stop the API server for 30 s (in the background: the script blocks).
    let run_dir = PathBuf::from(kubeconfig()).parent().unwrap().to_path_buf();
    let script = k8s_dir().join("restart-apiserver.sh");
    let restart = tokio::process::Command::new("bash")
        .arg(&script)
        .arg(&run_dir)
        .arg("30")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("restart-apiserver.sh");
    let seen = until(&mut r, Duration::from_secs(30), |e| {
        matches!(e, KubeEvent::Connection(ConnState::Reconnecting { .. }))
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, KubeEvent::Connection(ConnState::Reconnecting { .. })))
    );
    let status = restart.wait_with_output().await.unwrap().status;
    assert!(status.success(), "restart-apiserver.sh failed");
    // Back: "live" again, within a few seconds of the server answering.
    until(&mut r, Duration::from_secs(30), |e| {
        matches!(e, KubeEvent::Connection(ConnState::Live))
    })
    .await;

    // A change after the restart is seen: the stuck new pod is replaced.
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let new_pod = last.new_pods().next().unwrap().name.clone();
    pods.delete(&new_pod, &DeleteParams::default())
        .await
        .unwrap();
    let mut after = RolloutSnapshot::default();
    // The replacement comes from the controller manager, which itself has
    // to find the API server again (its back-off can pass 30 s on a loaded
    // machine); the watch shows it as soon as it exists.
    until(&mut r, Duration::from_secs(90), |e| match e {
        KubeEvent::Snapshot(s) => {
            after = (**s).clone();
            !names(s).contains(&new_pod) && s.new_pods().count() == 1 && s.pods.len() == 4
        }
        _ => false,
    })
    .await;
    // Nothing lost, nothing twice: what the watch shows is what the API lists.
    let listed: BTreeSet<String> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(names(&after), listed);
    assert_eq!(after.pods.len(), listed.len(), "no duplicate pods");
    let old: BTreeSet<_> = before.iter().filter(|n| **n != new_pod).cloned().collect();
    assert!(old.is_subset(&names(&after)), "old pods kept");
    assert_eq!(after.replica_sets.len(), 2);
    r.cmds.send(Command::CancelStep { step: 1 }).unwrap();
}
