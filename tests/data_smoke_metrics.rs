//! Smoke suites and load against the demo service, metric checks against
//! Debian's real Prometheus (scraping a test /metrics every second) and
//! against endpoints that error, and webhook notifications with retries.

#[path = "support/canned.rs"]
mod canned;
use canned::canned;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flightdeck::backend::data::run_action;
use flightdeck::backend::process::CancelSignal;
use flightdeck::demo_service::{DemoOptions, serve};
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::data::*;
use flightdeck::runbook::progress::Outcome;
use serde_json::json;
use tokio::net::TcpListener;

async fn demo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        DemoOptions {
            version: "2.4.1".into(),
            ready_after: Duration::ZERO,
        },
    ));
    addr
}

async fn run(a: DataAction, timeout: Duration) -> (Outcome, Vec<(Stream, String)>) {
    let mut lines = Vec::new();
    let mut sink = |s, l| lines.push((s, l));
    let o = tokio::time::timeout(
        timeout + Duration::from_secs(30),
        run_action(
            &a,
            &BTreeMap::new(),
            Some(timeout),
            CancelSignal::never(),
            &mut sink,
        ),
    )
    .await
    .expect("step hung");
    (o, lines)
}

fn text(lines: &[(Stream, String)]) -> String {
    lines
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn req(area: &str, name: &str, path: &str, status: u16) -> SmokeRequest {
    SmokeRequest {
        area: area.into(),
        name: name.into(),
        method: "GET".into(),
        path: path.into(),
        headers: BTreeMap::new(),
        body: None,
        expect_status: status,
        expect_json: Vec::new(),
        max_latency: Some(Duration::from_secs(2)),
    }
}

// ---------------------------------------------------------------- smoke / load

#[tokio::test]
async fn smoke_suite_runs_by_area_and_shows_each_result() {
    let addr = demo().await;
    let mut health = req("health", "health answers ok", "/health", 200);
    health.expect_json = vec![
        ("status".into(), json!("ok")),
        ("components.database".into(), json!("ok")),
    ];
    let spec = SmokeSpec {
        base_url: format!("http://{addr}"),
        concurrency: 3,
        requests: vec![
            health,
            req("health", "ready", "/ready", 200),
            req("errors", "unknown route is 404", "/nope", 404),
            req("errors", "posting is refused", "/health", 200),
        ],
    };
    let mut spec_fail = spec.clone();
    spec_fail.requests[3].method = "POST".into();
    let (o, lines) = run(DataAction::Smoke(spec), Duration::from_secs(30)).await;
    let Outcome::Success { note: Some(n), .. } = &o else {
        panic!("{o:?}\n{}", text(&lines))
    };
    assert!(n.starts_with("4/4 smoke requests passed"), "{n}");
    let out: Vec<&String> = lines
        .iter()
        .filter(|(s, _)| *s == Stream::Stdout)
        .map(|(_, l)| l)
        .collect();
    assert_eq!(out.len(), 4, "one line per request");
    assert!(
        out[0].starts_with("✓ health") && out[0].contains(" 200 "),
        "{}",
        out[0]
    );
    assert!(
        out[2].starts_with("✓ errors") && out[2].contains(" 404 "),
        "{}",
        out[2]
    );
    assert!(text(&lines).contains("health: 2/2 passed"));

    let (o, lines) = run(DataAction::Smoke(spec_fail), Duration::from_secs(30)).await;
    let Outcome::Failure { reason, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(
        reason.contains("3/4 smoke requests passed")
            && reason.contains("errors/posting is refused: status 405, expected 200"),
        "{reason}"
    );
    assert!(text(&lines).contains("✗ errors"), "{}", text(&lines));
}

fn load(url: String) -> LoadSpec {
    LoadSpec {
        url,
        method: "GET".into(),
        headers: BTreeMap::new(),
        body: None,
        requests: 200,
        concurrency: 10,
        expect_status: 200,
        p50: Some(Duration::from_millis(100)),
        p95: Some(Duration::from_millis(500)),
        p99: Some(Duration::from_secs(1)),
        max_error_rate: 1.0,
    }
}

#[tokio::test]
async fn load_reports_percentiles_against_the_architect_targets() {
    let addr = demo().await;
    let (o, lines) = run(
        DataAction::Load(load(format!("http://{addr}/health"))),
        Duration::from_secs(60),
    )
    .await;
    let Outcome::Success { note: Some(n), .. } = &o else {
        panic!("{o:?}\n{}", text(&lines))
    };
    assert!(n.starts_with("200 requests: p50 "), "{n}");
    assert!(n.contains("error rate 0.00%"), "{n}");
    let t = text(&lines);
    assert!(t.contains("✓ p95"), "{t}");
    // Errors over the limit: every request of /nope is a 404.
    let (o, _) = run(
        DataAction::Load(load(format!("http://{addr}/nope"))),
        Duration::from_secs(60),
    )
    .await;
    let Outcome::Failure { reason, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(
        reason.starts_with("error rate 100.00% not under 1%"),
        "{reason}"
    );
}

// ---------------------------------------------------------------- prometheus

fn prom(url: String, query: &str, op: CmpOp, threshold: f64) -> PromSpec {
    PromSpec {
        url,
        query: query.into(),
        op,
        threshold,
        range: None,
        step: Duration::from_secs(1),
        sustain: None,
        interval: Duration::from_millis(500),
    }
}

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Prometheus on loopback scraping `target` every second; waits
/// until the first scrape is queryable.
async fn start_prometheus(target: SocketAddr) -> Prometheus {
    let bin = std::env::var("FLIGHTDECK_TEST_PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: fd\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} (apt-get install -y prometheus): {e}"));
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..150 {
        let q = format!("{}/api/v1/query?query=fd_error_ratio", p.url);
        if let Ok(r) = client.get(&q).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && v["data"]["result"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("Prometheus did not scrape the test target within 30s");
}

#[tokio::test]
async fn prometheus_queries_against_real_prometheus() {
    let (metrics, _) = canned(
        200,
        "text/plain; version=0.0.4",
        "# TYPE fd_error_ratio gauge\nfd_error_ratio 0.02\n".into(),
    )
    .await;
    let p = start_prometheus(metrics).await;
    // Instant: error ratio under 5% passes.
    let (o, lines) = run(
        DataAction::Prometheus(prom(p.url.clone(), "fd_error_ratio", CmpOp::Lt, 0.05)),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        matches!(o, Outcome::Success { .. }),
        "{o:?}\n{}",
        text(&lines)
    );
    // Over the threshold: a failure naming the value.
    let (o, _) = run(
        DataAction::Prometheus(prom(p.url.clone(), "fd_error_ratio", CmpOp::Lt, 0.01)),
        Duration::from_secs(30),
    )
    .await;
    let Outcome::Failure { reason, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(
        reason.contains("= 0.02") && reason.contains("not < 0.01"),
        "{reason}"
    );
    // Sustained over a window, every query must hold.
    let mut s = prom(p.url.clone(), "up{job=\"fd\"}", CmpOp::Ge, 1.0);
    s.sustain = Some(Duration::from_secs(2));
    let (o, lines) = run(DataAction::Prometheus(s), Duration::from_secs(30)).await;
    let Outcome::Success { note: Some(n), .. } = &o else {
        panic!("{o:?}\n{}", text(&lines))
    };
    assert!(n.contains("held for") && n.contains("queries"), "{n}");
    // A range query.
    let mut r = prom(p.url.clone(), "fd_error_ratio", CmpOp::Le, 0.02);
    r.range = Some(Duration::from_secs(3));
    let (o, lines) = run(DataAction::Prometheus(r), Duration::from_secs(30)).await;
    assert!(
        matches!(o, Outcome::Success { .. }),
        "{o:?}\n{}",
        text(&lines)
    );
    // No data: inconclusive, never a pass.
    let (o, _) = run(
        DataAction::Prometheus(prom(p.url.clone(), "fd_no_such_metric", CmpOp::Lt, 1.0)),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        matches!(&o, Outcome::Inconclusive { reason } if reason.contains("no data")),
        "{o:?}"
    );
    // A query the server rejects: inconclusive with its error.
    let (o, _) = run(
        DataAction::Prometheus(prom(p.url.clone(), "rate(", CmpOp::Lt, 1.0)),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        matches!(&o, Outcome::Inconclusive { reason } if reason.contains("bad_data")),
        "{o:?}"
    );
}

#[tokio::test]
async fn a_metric_endpoint_that_errors_is_inconclusive() {
    let (addr, _) = canned(500, "text/plain", "internal error".into()).await;
    let (o, lines) = run(
        DataAction::Prometheus(prom(format!("http://{addr}"), "up", CmpOp::Ge, 1.0)),
        Duration::from_secs(30),
    )
    .await;
    let Outcome::Inconclusive { reason } = &o else {
        panic!("{o:?}")
    };
    assert!(reason.contains("500"), "{reason}");
    assert!(text(&lines).contains("? Prometheus answered 500"));
    // Nobody listening at all: inconclusive as well.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (o, _) = run(
        DataAction::Prometheus(prom(
            format!("http://127.0.0.1:{port}"),
            "up",
            CmpOp::Ge,
            1.0,
        )),
        Duration::from_secs(30),
    )
    .await;
    assert!(matches!(o, Outcome::Inconclusive { .. }), "{o:?}");
}

// ---------------------------------------------------------------- notify

#[tokio::test]
async fn notify_posts_json_and_a_failure_does_not_fail_unless_required() {
    let (addr, seen) = canned(200, "application/json", "{}".into()).await;
    let n = NotifySpec {
        url: format!("http://{addr}/hook"),
        format: NotifyFormat::Slack,
        message: "release r1 is live".into(),
        required: false,
        retries: 0,
    };
    let (o, _) = run(DataAction::Notify(n.clone()), Duration::from_secs(30)).await;
    assert!(matches!(o, Outcome::Success { .. }), "{o:?}");
    let body: serde_json::Value = serde_json::from_str(&seen.lock().unwrap()[0]).unwrap();
    assert_eq!(body, json!({"text": "release r1 is live"}));
    // A hook that keeps failing: retried, shown, not a failure...
    let (bad, seen) = canned(503, "text/plain", "down".into()).await;
    let mut b = n.clone();
    b.url = format!("http://{bad}/hook");
    b.retries = 2;
    let (o, lines) = run(DataAction::Notify(b.clone()), Duration::from_secs(30)).await;
    assert_eq!(seen.lock().unwrap().len(), 3, "first try and two retries");
    assert!(matches!(o, Outcome::Success { .. }), "{o:?}");
    assert!(text(&lines).contains("✗ notification failed"));
    // ...unless the runbook says it is required.
    b.required = true;
    b.retries = 0;
    let (o, _) = run(DataAction::Notify(b), Duration::from_secs(30)).await;
    assert!(matches!(o, Outcome::Failure { .. }), "{o:?}");
}
