//! Rollout pane figures, no harness: `cargo bench --bench rollout`.
//!
//! In-process (always):
//! 1. Memory: a Deployment with 5,000 pods (converted from k8s-openapi
//!    objects as the pod watch does), its snapshot in the app state and
//!    drawn, plus 100,000 pod log lines through the app's bounded buffer.
//! 2. Watch event -> drawn frame: one pod changes among 5,000; convert,
//!    rebuild the snapshot, `update`, draw (200x60). p50/p95/p99, plus the
//!    worst-case coalescing the real loop adds (snapshot throttle + frame).
//! 3. Log throughput: 10 streams write 10,000 lines each (10,000 lines/s
//!    each, in bursts) into the shared batch the log followers use; the
//!    flusher sends batches; the app sanitizes and keeps them. Lines/s
//!    through to the app, drops counted.
//!
//! Against the test cluster (when FLIGHTDECK_TEST_KUBECONFIG is set):
//! 4. Watch event -> snapshot: a pod deleted through the API until the
//!    runner reports a snapshot without it (20 times).
//! 5. Log throughput: 10 pods logging 5,000 lines/s each, followed 6 s.
//! 6. Idle CPU while watching a settled rollout (15 s).
//!
//! Goals: memory <= 150 MB, p95 <= 100 ms, >= 50,000 lines/s, idle <= 0.5% of a core.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightdeck::app::keymap::Keymap;
use flightdeck::app::msg::Msg;
use flightdeck::app::setup::Setup;
use flightdeck::app::state::{AppState, Identity};
use flightdeck::app::update::update;
use flightdeck::backend::kube::{convert, logs, watch};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::{KubeEvent, LogLine};
use flightdeck::runbook::progress::Release;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

const PODS: usize = 5_000;
const LOG_LINES: usize = 100_000;
const STREAMS: usize = 10;
const MEMORY_GOAL_MB: f64 = 150.0;
const LATENCY_GOAL_MS: f64 = 100.0;
const LINES_GOAL: f64 = 50_000.0;
const IDLE_GOAL_PCT: f64 = 0.5;
const NOW: i64 = 1_800_000_000_000;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn cpu_seconds() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn state() -> AppState {
    let loaded = flightdeck::runbook::load(Path::new("config/runbooks/blue-green.yaml")).unwrap();
    let inputs = flightdeck::runbook::inputs::resolve(&loaded.runbook, &BTreeMap::new()).unwrap();
    let mut release = Release::new(
        "r-bench".into(),
        &loaded.runbook,
        loaded.content_hash.clone(),
        "test".into(),
        inputs,
        "alice".into(),
        NOW,
    );
    release.steps[0].status = flightdeck::runbook::progress::StepStatus::Succeeded;
    release.steps[1].status = flightdeck::runbook::progress::StepStatus::Succeeded;
    let rb = loaded.runbook.clone();
    release.begin(&rb, 2, NOW).unwrap();
    let mut s = AppState::new(Setup {
        runbook: loaded.runbook,
        runbook_path: "config/runbooks/blue-green.yaml".into(),
        release,
        identity: Identity {
            person: "alice".into(),
            host: "ops-1".into(),
        },
        process_env: BTreeMap::new(),
        flightdeck_bin: "flightdeck".into(),
        keymap: Keymap::defaults(),
        acks: BTreeSet::new(),
        outputs: Vec::new(),
        now: NOW,
    });
    s.view.selected = 2;
    s
}

fn objects() -> (Deployment, Vec<ReplicaSet>, Vec<Pod>) {
    let template = json!({
        "metadata": { "labels": { "app": "shop" } },
        "spec": { "containers": [{ "name": "web", "image": "registry.local/shop:v2",
            "readinessProbe": { "httpGet": { "path": "/ready", "port": 8080 } } }] }
    });
    let d: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "shop", "namespace": "bench", "uid": "d-uid", "generation": 2,
            "annotations": { "deployment.kubernetes.io/revision": "2" } },
        "spec": { "replicas": PODS, "selector": { "matchLabels": { "app": "shop" } }, "template": template },
        "status": { "observedGeneration": 2, "replicas": PODS, "updatedReplicas": PODS,
            "readyReplicas": PODS - 7, "availableReplicas": PODS - 7,
            "conditions": [{ "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                "lastUpdateTime": "2027-01-15T08:00:00Z" }] }
    }))
    .unwrap();
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!("abc");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": { "name": "shop-abc", "uid": "rs-uid", "labels": { "app": "shop", "pod-template-hash": "abc" },
            "annotations": { "deployment.kubernetes.io/revision": "2" },
            "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "Deployment", "name": "shop", "uid": "d-uid", "controller": true }] },
        "spec": { "replicas": PODS, "selector": { "matchLabels": { "app": "shop" } }, "template": rs_template },
        "status": { "replicas": PODS, "readyReplicas": PODS - 7, "availableReplicas": PODS - 7 }
    }))
    .unwrap();
    let pods = (0..PODS)
        .map(|i| {
            serde_json::from_value(json!({
                "metadata": { "name": format!("shop-abc-{i:05}"), "uid": format!("p{i}"),
                    "namespace": "bench", "creationTimestamp": "2027-01-15T08:00:00Z",
                    "labels": { "app": "shop", "pod-template-hash": "abc" },
                    "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-abc", "uid": "rs-uid", "controller": true }] },
                "spec": { "nodeName": "fake-node", "containers": [{ "name": "web", "image": "registry.local/shop:v2" }] },
                "status": { "phase": "Running",
                    "conditions": [{ "type": "Ready", "status": if i < 7 { "False" } else { "True" } }],
                    "containerStatuses": [{ "name": "web", "image": "registry.local/shop:v2", "imageID": "",
                        "ready": i >= 7, "restartCount": 0, "state": { "running": { "startedAt": "2027-01-15T08:00:01Z" } } }] }
            }))
            .unwrap()
        })
        .collect();
    (d, vec![rs], pods)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn line(what: &str, figure: String, goal: String, ok: bool) {
    println!(
        "{what:<58} {figure:>18}   goal {goal:<16} {}",
        if ok { "ok" } else { "MISSED" }
    );
}

fn kube(s: &mut AppState, event: KubeEvent) {
    update(s, Msg::Backend(BackendEvent::Kube { step: 2, event }));
}

fn in_process() {
    let base = rss_mb();
    let (d, rss, pods) = objects();
    let mut s = state();
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    // 1. Memory: pods converted as the watch stores them (raw objects dropped).
    let mut snaps: Vec<_> = pods.iter().map(convert::pod).collect();
    drop(pods);
    let snapshot = convert::snapshot(Some(&d), &rss, snaps.clone(), Vec::new());
    kube(&mut s, KubeEvent::Snapshot(Arc::new(snapshot)));
    let source: Arc<str> = "shop-abc-00001".into();
    for chunk in 0..(LOG_LINES / 1000) {
        let lines = (0..1000)
            .map(|i| LogLine {
                source: source.clone(),
                new: true,
                text: format!(
                    "level=info msg=\"request handled\" seq={} route=/api/items status=200 duration_ms=12",
                    chunk * 1000 + i
                ),
            })
            .collect();
        kube(&mut s, KubeEvent::PodLogs { lines, dropped: 0 });
    }
    term.draw(|f| flightdeck::ui::render(&s, f)).unwrap();
    let mem = rss_mb();
    line(
        &format!("memory, {PODS} pods + {LOG_LINES} log lines (RSS, process)"),
        format!("{mem:.1} MB"),
        format!("<= {MEMORY_GOAL_MB} MB"),
        mem <= MEMORY_GOAL_MB,
    );
    println!(
        "{:<58} {:>18}",
        "  of which the rollout state (RSS growth)",
        format!("{:.1} MB", mem - base)
    );

    // 2. Watch event -> drawn frame.
    let mut times = Vec::new();
    for round in 0..200 {
        let i = round * 7 % PODS;
        let t = Instant::now();
        // The pod watch's work: convert the changed pod ...
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": { "name": format!("shop-abc-{i:05}"), "uid": format!("p{i}"),
                "labels": { "app": "shop", "pod-template-hash": "abc" },
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-abc", "uid": "rs-uid" }] },
            "spec": { "containers": [{ "name": "web" }] },
            "status": { "phase": "Running", "containerStatuses": [{ "name": "web", "image": "x", "imageID": "",
                "ready": false, "restartCount": round as i32 }] }
        }))
        .unwrap();
        p.metadata.namespace = Some("bench".into());
        snaps[i] = convert::pod(&p);
        // ... rebuild the snapshot from the stores ...
        let snapshot = convert::snapshot(Some(&d), &rss, snaps.clone(), Vec::new());
        // ... the app takes it and the frame is drawn.
        kube(&mut s, KubeEvent::Snapshot(Arc::new(snapshot)));
        term.draw(|f| flightdeck::ui::render(&s, f)).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let (p50, p95, p99) = (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
    let throttle = watch::EMIT_EVERY.as_secs_f64() * 1000.0 + 33.0;
    line(
        &format!("watch event -> drawn frame, {PODS} pods, p95 (work)"),
        format!("{p95:.1} ms"),
        format!("<= {LATENCY_GOAL_MS} ms"),
        p95 <= LATENCY_GOAL_MS,
    );
    println!(
        "{:<58} {:>18}",
        "  p50 / p99 (work)",
        format!("{p50:.1} / {p99:.1} ms")
    );
    line(
        "  p95 + worst-case coalescing (40 ms throttle + 33 ms frame)",
        format!("{:.1} ms", p95 + throttle),
        format!("<= {LATENCY_GOAL_MS} ms"),
        p95 + throttle <= LATENCY_GOAL_MS,
    );

    // 3. Log throughput through the shared batch and the app buffer.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (delivered, dropped, secs) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let report = flightdeck::backend::kube::Reporter { step: 2, tx };
        let batch = logs::SharedBatch::default();
        let flusher = logs::spawn_flusher(batch.clone(), report);
        let start = Instant::now();
        let mut writers = Vec::new();
        for w in 0..STREAMS {
            let batch = batch.clone();
            writers.push(tokio::spawn(async move {
                let source: Arc<str> = format!("shop-abc-{w:05}").into();
                for i in 0..(LOG_LINES / STREAMS) {
                    let text = format!(
                        "level=info msg=\"request handled\" container=web seq={i} route=/api status=200"
                    );
                    batch.lock().unwrap().push(LogLine {
                        source: source.clone(),
                        new: true,
                        text,
                    });
                    // 10,000 lines/s per stream, in bursts of 100.
                    if i % 100 == 99 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        let mut s = state();
        let (mut delivered, mut dropped) = (0u64, 0u64);
        loop {
            let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
            else {
                break;
            };
            if let BackendEvent::Kube {
                event: KubeEvent::PodLogs { lines, dropped: d },
                ..
            } = &ev
            {
                delivered += lines.len() as u64;
                dropped += d;
            }
            update(&mut s, Msg::Backend(ev));
            if delivered + dropped >= LOG_LINES as u64 {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        flusher.abort();
        (delivered, dropped, secs)
    });
    let rate = (delivered + dropped) as f64 / secs;
    line(
        &format!("log throughput, {STREAMS} streams, into the app (lines/s)"),
        format!("{rate:.0}/s"),
        format!(">= {LINES_GOAL:.0}/s"),
        rate >= LINES_GOAL,
    );
    println!(
        "{:<58} {:>18}",
        "  delivered / dropped (counted)",
        format!("{delivered} / {dropped}")
    );
}

async fn live(kubeconfig: String) {
    use flightdeck::protocol::command::Command;
    use flightdeck::protocol::kube::ConnState;
    use flightdeck::runbook::StepAction;
    use flightdeck::runbook::kube::{Cluster, HealthTrigger, KubeAction, KubeOp, RollbackOn};
    use k8s_openapi::api::core::v1::Namespace;
    use kube::Api;
    use kube::api::{DeleteParams, PostParams};

    let cluster = Cluster {
        kubeconfig: Some(kubeconfig),
        context: None,
        namespace: String::new(),
    };
    let client = flightdeck::backend::kube::client::client(&cluster)
        .await
        .unwrap();
    let name = format!("fd-bench-{:04x}", rand::random::<u16>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap(),
        )
        .await
        .unwrap();
    let cluster = Cluster {
        namespace: name.clone(),
        ..cluster
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &name);
    let make = |n: &str, image: &str, replicas: i32, rate: &str| -> Deployment {
        serde_json::from_value(json!({
            "metadata": { "name": n },
            "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": n } },
                "template": { "metadata": { "labels": { "app": n }, "annotations": {
                    "fake.flightdeck.dev/start-delay": "0s", "fake.flightdeck.dev/log-rate": rate } },
                    "spec": { "containers": [{ "name": "web", "image": image }] } } }
        }))
        .unwrap()
    };
    let (cmds, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    let (ev_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(flightdeck::backend::runner::run(cmd_rx, ev_tx));
    let action = |op: KubeOp, rollback_on: Option<RollbackOn>| {
        StepAction::Kube(KubeAction {
            op,
            namespace: None,
            rollback_on,
            cluster: cluster.clone(),
            undo: None,
        })
    };
    let run = |step: usize, a: StepAction, timeout: u64| Command::RunStep {
        step,
        attempt: 1,
        action: a,
        timeout: Some(Duration::from_secs(timeout)),
        env: BTreeMap::new(),
    };

    // 4. Watch event -> snapshot, live: delete a pod, see it go.
    deployments
        .create(
            &PostParams::default(),
            &make("lat", "registry.local/web:v1-unready", 5, "0"),
        )
        .await
        .unwrap();
    cmds.send(run(
        4,
        action(
            KubeOp::Wait {
                deployment: "lat".into(),
            },
            None,
        ),
        120,
    ))
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &name);
    let mut current: Vec<String> = Vec::new();
    let mut times = Vec::new();
    let mut victim: Option<(String, Instant)> = None;
    while times.len() < 20 {
        let Some(ev) = events.recv().await else { break };
        let BackendEvent::Kube {
            event: KubeEvent::Snapshot(s),
            ..
        } = ev
        else {
            continue;
        };
        current = s.pods.iter().map(|p| p.name.clone()).collect();
        if let Some((v, at)) = &victim
            && !current.contains(v)
        {
            times.push(at.elapsed());
            victim = None;
        }
        if victim.is_none() && current.len() >= 5 {
            let v = current[times.len() % current.len()].clone();
            pods.delete(&v, &DeleteParams::default()).await.unwrap();
            victim = Some((v, Instant::now()));
        }
    }
    let _ = current;
    cmds.send(Command::CancelStep { step: 4 }).unwrap();
    times.sort();
    if !times.is_empty() {
        let p95 = percentile(&times, 0.95);
        line(
            "live: pod deleted -> snapshot in the app, p95",
            format!("{p95:.1} ms"),
            format!("<= {LATENCY_GOAL_MS} ms"),
            p95 <= LATENCY_GOAL_MS,
        );
        println!(
            "{:<58} {:>18}",
            "  p50 (n = 20)",
            format!("{:.1} ms", percentile(&times, 0.5))
        );
    }

    // 5. Log throughput, live: 10 pods at 5,000 lines/s for 6 s.
    deployments
        .create(
            &PostParams::default(),
            &make("logs", "registry.local/web:v1-unready", 10, "5000"),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cmds.send(run(
        5,
        action(
            KubeOp::Wait {
                deployment: "logs".into(),
            },
            None,
        ),
        8,
    ))
    .unwrap();
    let (mut delivered, mut dropped, mut first, mut last) = (0u64, 0u64, None, None);
    loop {
        let Some(ev) = events.recv().await else { break };
        match ev {
            BackendEvent::Kube {
                step: 5,
                event: KubeEvent::PodLogs { lines, dropped: d },
            } => {
                first.get_or_insert_with(Instant::now);
                last = Some(Instant::now());
                delivered += lines.len() as u64;
                dropped += d;
            }
            BackendEvent::StepFinished {
                step: 5, outcome, ..
            } => {
                if first.is_none() {
                    println!("  (log step ended without logs: {outcome:?})");
                }
                break;
            }
            _ => {}
        }
    }
    if let (Some(a), Some(b)) = (first, last) {
        let rate = (delivered + dropped) as f64 / (b - a).as_secs_f64().max(0.001);
        line(
            "live: log throughput, 10 pods x 5,000 lines/s (lines/s)",
            format!("{rate:.0}/s"),
            format!(">= {LINES_GOAL:.0}/s"),
            rate >= LINES_GOAL,
        );
        println!(
            "{:<58} {:>18}",
            "  delivered / dropped (counted)",
            format!("{delivered} / {dropped}")
        );
    }
    let _ = deployments.delete("logs", &DeleteParams::default()).await;

    // 6. Idle CPU while watching a settled rollout (a health bake keeps it watched).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut c, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf).await;
                let _ = c
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    deployments
        .create(
            &PostParams::default(),
            &make("idle", "registry.local/web:v1", 3, "0"),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cmds.send(run(
        6,
        action(
            KubeOp::Wait {
                deployment: "idle".into(),
            },
            Some(RollbackOn {
                health: Some(HealthTrigger {
                    url: format!("http://127.0.0.1:{port}/health"),
                    every: Duration::from_secs(5),
                    sustained: Duration::from_secs(20),
                }),
                ..Default::default()
            }),
        ),
        60,
    ))
    .unwrap();
    // Let it settle, then measure.
    let settle = Instant::now() + Duration::from_secs(4);
    while Instant::now() < settle {
        let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
    }
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut live_seen = false;
    while t0.elapsed() < Duration::from_secs(15) {
        if let Ok(Some(BackendEvent::Kube {
            event: KubeEvent::Connection(ConnState::Live),
            ..
        })) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await
        {
            live_seen = true;
        }
    }
    let pct = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let _ = live_seen;
    line(
        "live: idle CPU watching a settled rollout (whole process)",
        format!("{pct:.2}% core"),
        format!("<= {IDLE_GOAL_PCT}% core"),
        pct <= IDLE_GOAL_PCT,
    );
    let _ = namespaces.delete(&name, &DeleteParams::default()).await;
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    println!("flightdeck rollout benchmark (debug/bench profile as built)\n");
    in_process();
    match std::env::var("FLIGHTDECK_TEST_KUBECONFIG") {
        Ok(kc) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(live(kc));
        }
        Err(_) => println!("\n(live figures skipped: FLIGHTDECK_TEST_KUBECONFIG is not set)"),
    }
}
