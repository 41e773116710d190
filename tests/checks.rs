//! Checks against real loopback servers: the demo service, hand-written
//! slow and closed ports, and the process environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use flightdeck::backend::checks::Checker;
use flightdeck::backend::process::{CancelSignal, cancel_pair};
use flightdeck::demo_service::{DemoOptions, serve};
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::progress::Outcome;
use flightdeck::runbook::{CheckSpec, HttpCheck, TcpCheck};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn demo(opts: DemoOptions) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, opts));
    addr
}

fn demo_opts() -> DemoOptions {
    DemoOptions {
        version: "2.4.1".into(),
        ready_after: Duration::ZERO,
    }
}

fn http(url: String) -> HttpCheck {
    HttpCheck {
        method: "GET".into(),
        url,
        headers: BTreeMap::new(),
        body: None,
        expect_status: 200,
        expect_json: Vec::new(),
        max_latency: None,
        wait: false,
    }
}

async fn check(spec: CheckSpec, timeout: Option<Duration>) -> (Outcome, Vec<String>) {
    check_env(spec, &BTreeMap::new(), timeout).await
}

async fn check_env(
    spec: CheckSpec,
    env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
) -> (Outcome, Vec<String>) {
    let mut lines = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        Checker::new().run(&spec, env, timeout, CancelSignal::never(), |s, l| {
            assert_eq!(s, Stream::Info);
            lines.push(l)
        }),
    )
    .await
    .expect("check hung");
    (outcome, lines)
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failure { reason, .. } => reason,
        Outcome::Success { .. } | Outcome::Inconclusive { .. } => {
            panic!("expected a failure, got {outcome:?}")
        }
    }
}

#[tokio::test]
async fn http_status_passes() {
    let addr = demo(demo_opts()).await;
    let (outcome, lines) =
        check(CheckSpec::Http(http(format!("http://{addr}/health"))), None).await;
    assert!(
        matches!(outcome, Outcome::Success { .. }),
        "{outcome:?} {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("200 OK in ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "✓ status 200 (expected 200)"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn http_json_fields_pass() {
    let addr = demo(demo_opts()).await;
    let mut spec = http(format!("http://{addr}/health"));
    spec.expect_json = vec![
        ("status".into(), json!("ok")),
        ("version".into(), json!("2.4.1")),
        ("components.database".into(), json!("ok")),
    ];
    let (outcome, lines) = check(CheckSpec::Http(spec), None).await;
    assert!(
        matches!(outcome, Outcome::Success { .. }),
        "{outcome:?} {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "✓ components.database = \"ok\""),
        "{lines:?}"
    );
}

#[tokio::test]
async fn http_json_field_mismatch_fails_with_an_excerpt() {
    let addr = demo(demo_opts()).await;
    let mut spec = http(format!("http://{addr}/health"));
    spec.expect_json = vec![
        ("status".into(), json!("ok")),
        ("components.cache".into(), json!("down")),
        ("components.queue".into(), json!("ok")),
    ];
    let (outcome, lines) = check(CheckSpec::Http(spec), None).await;
    let why = reason(&outcome);
    assert!(
        why.contains("components.cache is \"ok\", expected \"down\""),
        "{why}"
    );
    assert!(why.contains("components.queue is missing"), "{why}");
    assert!(
        !why.contains("status"),
        "passing expectations are not reasons: {why}"
    );
    assert!(lines.iter().any(|l| l == "response body:"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("\"version\":\"2.4.1\"")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn http_wrong_status_fails() {
    let addr = demo(demo_opts()).await;
    let (outcome, _) = check(CheckSpec::Http(http(format!("http://{addr}/nope"))), None).await;
    assert_eq!(reason(&outcome), "status 404 (expected 200)");
}

/// A server that answers 200 only after `delay`.
async fn slow_server(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                tokio::time::sleep(delay).await;
                let body = "{\"status\":\"ok\"}";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_latency_over_the_limit_fails() {
    let addr = slow_server(Duration::from_millis(600)).await;
    let mut spec = http(format!("http://{addr}/slow"));
    spec.max_latency = Some(Duration::from_millis(200));
    let (outcome, lines) = check(CheckSpec::Http(spec.clone()), None).await;
    let why = reason(&outcome);
    assert!(
        why.starts_with("latency ") && why.ends_with("over the limit of 200ms"),
        "{why}"
    );
    assert!(
        lines.iter().any(|l| l == "✓ status 200 (expected 200)"),
        "{lines:?}"
    );

    spec.max_latency = Some(Duration::from_secs(10));
    let (outcome, _) = check(CheckSpec::Http(spec), None).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
}

async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

#[tokio::test]
async fn http_connection_refused_says_so_and_hides_credentials() {
    let addr = closed_port().await;
    let url = format!("http://deploy:s3cr3t-pw@{addr}/health");
    let (outcome, lines) = check(CheckSpec::Http(http(url)), None).await;
    let why = reason(&outcome);
    assert_eq!(why, "connection refused");
    for line in lines.iter().map(String::as_str).chain([why]) {
        assert!(
            !line.contains("s3cr3t-pw") && !line.contains("deploy:"),
            "leaked: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("http://***@{addr}/health"))),
        "{lines:?}"
    );
}

#[tokio::test]
async fn http_wait_retries_until_it_passes() {
    let addr = demo(demo_opts()).await;
    let mut spec = http(format!("http://{addr}/flaky"));
    spec.wait = true;
    let (outcome, lines) = check(CheckSpec::Http(spec), Some(Duration::from_secs(10))).await;
    assert!(
        matches!(outcome, Outcome::Success { .. }),
        "{outcome:?} {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("attempt 1: status 503")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn http_wait_gives_up_at_the_step_timeout() {
    let addr = demo(DemoOptions {
        ready_after: Duration::from_secs(600),
        ..demo_opts()
    })
    .await;
    let mut spec = http(format!("http://{addr}/ready"));
    spec.wait = true;
    spec.expect_json = vec![("ready".into(), json!(true))];
    let started = std::time::Instant::now();
    let (outcome, _) = check(CheckSpec::Http(spec), Some(Duration::from_millis(1200))).await;
    let why = reason(&outcome);
    assert!(why.starts_with("timed out after 1.2s waiting for"), "{why}");
    assert!(why.contains("status 503"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_cancelled_check_stops() {
    let addr = demo(DemoOptions {
        ready_after: Duration::from_secs(600),
        ..demo_opts()
    })
    .await;
    let mut spec = http(format!("http://{addr}/ready"));
    spec.wait = true;
    let (handle, signal) = cancel_pair();
    let task = tokio::spawn(async move {
        Checker::new()
            .run(
                &CheckSpec::Http(spec),
                &BTreeMap::new(),
                None,
                signal,
                |_, _| {},
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    handle.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("cancel hung")
        .unwrap();
    assert_eq!(reason(&outcome), "cancelled");
}

#[tokio::test]
async fn tcp_connects_to_a_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let spec = CheckSpec::Tcp(TcpCheck {
        address: addr.to_string(),
        connect_timeout: Duration::from_secs(2),
    });
    let (outcome, lines) = check(spec, None).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("✓ connected to {addr} in "))),
        "{lines:?}"
    );
}

#[tokio::test]
async fn tcp_fails_on_a_closed_port() {
    let addr = closed_port().await;
    let spec = CheckSpec::Tcp(TcpCheck {
        address: addr.to_string(),
        connect_timeout: Duration::from_secs(2),
    });
    let (outcome, _) = check(spec, None).await;
    assert_eq!(
        reason(&outcome),
        format!("could not connect to {addr}: connection refused")
    );
}

#[tokio::test]
async fn env_reports_set_and_missing_never_values() {
    let secret = "hunter2-do-not-print";
    let env: BTreeMap<String, String> = [
        ("FD_TEST_TOKEN".to_string(), secret.to_string()),
        ("FD_TEST_EMPTY".to_string(), String::new()),
    ]
    .into();
    let path = std::env::var("PATH").expect("PATH is set for tests");
    let vars = [
        "FD_TEST_TOKEN",
        "PATH",
        "FD_TEST_EMPTY",
        "FD_TEST_NOT_THERE_AT_ALL",
    ];
    let spec = CheckSpec::Env {
        vars: vars.iter().map(|v| v.to_string()).collect(),
    };
    let (outcome, lines) = check_env(spec, &env, None).await;
    assert_eq!(
        lines[..4],
        [
            "FD_TEST_TOKEN: set",
            "PATH: set",
            "FD_TEST_EMPTY: missing",
            "FD_TEST_NOT_THERE_AT_ALL: missing"
        ]
    );
    let why = reason(&outcome);
    assert_eq!(why, "missing: FD_TEST_EMPTY, FD_TEST_NOT_THERE_AT_ALL");
    for line in lines.iter().map(String::as_str).chain([why]) {
        assert!(
            !line.contains(secret) && !line.contains(&path),
            "leaked a value: {line}"
        );
    }
}

#[tokio::test]
async fn demo_service_survives_bad_requests() {
    let addr = demo(demo_opts()).await;
    for garbage in [
        &b"\x00\x01\x02 nonsense\r\n\r\n"[..],
        b"GET\r\n\r\n",
        &[b'a'; 40_000][..],
    ] {
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket.write_all(garbage).await.unwrap();
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut reply)).await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 4"), "{reply}");
    }
    let (outcome, _) = check(CheckSpec::Http(http(format!("http://{addr}/health"))), None).await;
    assert!(matches!(outcome, Outcome::Success { .. }));
}

#[tokio::test]
async fn demo_cli_stops_after_its_time() {
    let run = flightdeck::demo_service::run_cli(
        "127.0.0.1:0",
        "1.0.0",
        Duration::ZERO,
        Some(Duration::from_millis(200)),
    );
    let result = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("did not stop");
    assert!(result.is_ok(), "{result:?}");
}
