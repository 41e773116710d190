//! Shared by the kube test binaries (`#[path] mod`): the test cluster from
//! FLIGHTDECK_TEST_KUBECONFIG, a namespace per test, fixtures, the runner.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use flightdeck::backend::kube::client;
use flightdeck::backend::runner;
use flightdeck::protocol::command::Command;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::KubeEvent;
use flightdeck::runbook::StepAction;
use flightdeck::runbook::kube::{Cluster, KubeAction, KubeOp};
use flightdeck::runbook::progress::Outcome;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The kubeconfig of the test cluster; fails loudly when unset.
pub fn kubeconfig() -> String {
    std::env::var("FLIGHTDECK_TEST_KUBECONFIG").expect(
        "FLIGHTDECK_TEST_KUBECONFIG is not set: start the test cluster (tests/run.sh does, or \
         eval \"$(bash tests/support/start-k8s.sh)\")",
    )
}

/// A namespace of its own, deleted on drop.
pub struct TestNs {
    pub name: String,
    pub client: Client,
    pub cluster: Cluster,
}

impl TestNs {
    pub async fn new(test: &str) -> TestNs {
        let kubeconfig = kubeconfig();
        let cluster = Cluster {
            kubeconfig: Some(kubeconfig),
            context: None,
            namespace: String::new(),
        };
        let client = client::client(&cluster).await.expect("test cluster client");
        let name = format!("fd-{test}-{:04x}", rand::random::<u16>());
        let ns: Namespace =
            serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        TestNs {
            cluster: Cluster {
                namespace: name.clone(),
                ..cluster
            },
            name,
            client,
        }
    }

    pub fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Create a Deployment of `replicas` pods running `image`, and wait
    /// until it is rolled out.
    pub async fn deployment(&self, name: &str, image: &str, replicas: i32, extra: Value) {
        let mut d = deployment_json(name, image, replicas);
        merge(&mut d, extra);
        let d: Deployment = serde_json::from_value(d).unwrap();
        self.deployments()
            .create(&PostParams::default(), &d)
            .await
            .expect("create deployment");
        self.rolled_out(name).await;
    }

    /// Waits up to two minutes: the simulated cluster lags on a loaded CI machine.
    pub async fn rolled_out(&self, name: &str) {
        let api = self.deployments();
        for _ in 0..1200 {
            let d = api.get(name).await.unwrap();
            let s = flightdeck::backend::kube::convert::deployment(&d);
            if s.observed_generation >= s.generation
                && s.updated == s.replicas
                && s.available == s.replicas
                && s.total == s.replicas
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deployment {name} never rolled out");
    }

    pub async fn image(&self, name: &str) -> String {
        let d = self.deployments().get(name).await.unwrap();
        d.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .clone()
            .unwrap()
    }

    pub fn action(&self, op: KubeOp) -> KubeAction {
        KubeAction {
            op,
            namespace: None,
            rollback_on: None,
            cluster: self.cluster.clone(),
            undo: None,
        }
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let client = self.client.clone();
        let name = self.name.clone();
        // Drop cannot await: delete from a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let _ = Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::default())
                    .await;
            });
        })
        .join();
    }
}

pub fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) if !b.is_null() => *a = b,
        _ => {}
    }
}

pub fn deployment_json(name: &str, image: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "labels": { "app": name } },
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 600,
            "selector": { "matchLabels": { "app": name } },
            "strategy": { "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } },
            "template": {
                "metadata": {
                    "labels": { "app": name },
                    "annotations": { "fake.flightdeck.dev/start-delay": "300ms" }
                },
                "spec": { "containers": [{
                    "name": "web",
                    "image": image,
                    "readinessProbe": { "httpGet": { "path": "/ready", "port": 8080 } }
                }] }
            }
        }
    })
}

pub struct Runner {
    pub cmds: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<BackendEvent>,
}

pub fn runner() -> Runner {
    let (cmds, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, events) = mpsc::unbounded_channel();
    tokio::spawn(runner::run(cmd_rx, ev_tx));
    Runner { cmds, events }
}

/// What a step reported, in order, and how it ended.
#[derive(Debug, Default)]
pub struct Seen {
    pub kube: Vec<(std::time::Instant, KubeEvent)>,
    pub output: Vec<String>,
}

impl Seen {
    pub fn snapshots(
        &self,
    ) -> impl Iterator<Item = &flightdeck::runbook::rollout::RolloutSnapshot> {
        self.kube.iter().filter_map(|(_, e)| match e {
            KubeEvent::Snapshot(s) => Some(&**s),
            _ => None,
        })
    }
}

impl Runner {
    pub fn start(&self, step: usize, action: StepAction, timeout: Option<Duration>) {
        self.cmds
            .send(Command::RunStep {
                step,
                attempt: 1,
                action,
                timeout,
                env: BTreeMap::new(),
            })
            .unwrap();
    }

    /// Run a step to its end, gathering what it reported.
    pub async fn run(&mut self, action: StepAction, timeout: Option<Duration>) -> (Outcome, Seen) {
        self.start(1, action, timeout);
        self.until_finished(1, Duration::from_secs(120)).await
    }

    pub async fn until_finished(&mut self, step: usize, limit: Duration) -> (Outcome, Seen) {
        let mut seen = Seen::default();
        loop {
            let ev = tokio::time::timeout(limit, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no StepFinished; output so far: {:#?}", seen.output))
                .expect("runner ended");
            match ev {
                BackendEvent::StepFinished {
                    step: s, outcome, ..
                } if s == step => return (outcome, seen),
                BackendEvent::StepOutput { lines, .. } => {
                    seen.output.extend(lines.into_iter().map(|(_, l)| l))
                }
                BackendEvent::Kube { event, .. } => {
                    seen.kube.push((std::time::Instant::now(), event))
                }
                _ => {}
            }
        }
    }
}

/// `../shared/k8s` (or FLIGHTDECK_K8S_DIR when run from elsewhere).
pub fn k8s_dir() -> PathBuf {
    std::env::var_os("FLIGHTDECK_K8S_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/k8s"))
}

/// A control plane for this test alone, stopped on drop.
pub struct OwnCluster {
    run: tempfile::TempDir,
}

impl OwnCluster {
    /// Start it and point FLIGHTDECK_TEST_KUBECONFIG at it (this binary
    /// holds one test, so nothing else reads the variable meanwhile).
    pub fn start() -> OwnCluster {
        let run = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("bash")
            .arg(k8s_dir().join("up.sh"))
            .arg(run.path())
            .stderr(std::process::Stdio::null())
            .output()
            .expect("../shared/k8s/up.sh");
        assert!(
            out.status.success(),
            "up.sh failed to start a control plane"
        );
        // SAFETY: set before any thread of this test reads the environment.
        unsafe { std::env::set_var("FLIGHTDECK_TEST_KUBECONFIG", run.path().join("kubeconfig")) };
        OwnCluster { run }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(k8s_dir().join("down.sh"))
            .arg(self.run.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
