//! A tiny HTTP/1.1 service for the demo runbook and for tests: a real
//! loopback endpoint with health, readiness and a flaky route. One request
//! per connection (`Connection: close`); bad requests get a 400, never a crash.
//!
//! For the guide runbooks it also plays the application (`DemoExtras`): the
//! smoke-test areas (`/api/auth/login`, `/api/events`, `/api/errors`,
//! `/api/notifications`), a `/metrics` text page, a Prometheus-compatible
//! `/api/v1/query` and `/api/v1/query_range` answering configured values
//! (`--metric name=value`: a query naming `name` gets `value`), and
//! failure switches (`--fail-path /api/auth/login` answers 500; on `/health`
//! or `/ready` it answers 503).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

/// Longest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A client that does not finish its request in time is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Reported by `/health`.
    pub version: String,
    /// `/ready` answers 503 until this long after start.
    pub ready_after: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            version: env!("CARGO_PKG_VERSION").to_string(),
            ready_after: Duration::ZERO,
        }
    }
}

/// A `--metric` or `--fail-path` argument the demo service cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoArgError {
    #[error("--metric {metric:?}: expected NAME=VALUE")]
    NotNameValue { metric: String },
    #[error("--metric {metric:?}: {value:?} is not a number")]
    NotANumber { metric: String, value: String },
    #[error("--metric {metric:?}: empty name")]
    EmptyName { metric: String },
    #[error("--fail-path {path:?}: a path starts with /")]
    RelativePath { path: String },
}

/// The application side for the guide runbooks (see the module doc). A
/// metric name may carry labels (`errors{code=~"5.."}=0.01`): the value is
/// after the last `=`.
#[derive(Debug, Clone, Default)]
pub struct DemoExtras {
    /// Metric name -> value, answered by the query API and `/metrics`.
    pub metrics: Vec<(String, f64)>,
    /// Paths that fail (500; 503 for `/health` and `/ready`).
    pub fail_paths: Vec<String>,
}

impl DemoExtras {
    /// From `name=value` and path arguments, as the CLI takes them.
    pub fn parse(metrics: &[String], fail_paths: &[String]) -> Result<DemoExtras, DemoArgError> {
        let mut out = DemoExtras {
            metrics: Vec::new(),
            fail_paths: fail_paths.to_vec(),
        };
        for m in metrics {
            let arg = || m.clone();
            let (name, value) = m
                .rsplit_once('=')
                .ok_or_else(|| DemoArgError::NotNameValue { metric: arg() })?;
            let value: f64 = value.trim().parse().map_err(|_| DemoArgError::NotANumber {
                metric: arg(),
                value: value.to_string(),
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(DemoArgError::EmptyName { metric: arg() });
            }
            out.metrics.push((name.to_string(), value));
        }
        if let Some(p) = out.fail_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(DemoArgError::RelativePath { path: p.clone() });
        }
        Ok(out)
    }

    /// The value of the longest configured metric name found in `query`.
    fn metric_for(&self, query: &str) -> Option<(&str, f64)> {
        self.metrics
            .iter()
            .filter(|(name, _)| query.contains(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(n, v)| (n.as_str(), *v))
    }

    fn fails(&self, path: &str) -> bool {
        self.fail_paths.iter().any(|p| p == path)
    }
}

struct State {
    opts: DemoOptions,
    extras: DemoExtras,
    started: Instant,
    flaky_seen: AtomicBool,
}

/// Serve forever on `listener`.
pub async fn serve(listener: TcpListener, opts: DemoOptions) {
    serve_with(listener, opts, DemoExtras::default()).await
}

/// Serve forever on `listener`, playing the application side too.
pub async fn serve_with(listener: TcpListener, opts: DemoOptions, extras: DemoExtras) {
    let state = Arc::new(State {
        opts,
        extras,
        started: Instant::now(),
        flaky_seen: AtomicBool::new(false),
    });
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(socket, &state).await {
                        tracing::debug!("demo service connection: {e}");
                    }
                });
            }
            // Out of descriptors and the like: back off rather than spin.
            Err(e) => {
                tracing::warn!("demo service accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Bind `addr`, print where it listens, serve until `stop_after` (if any).
pub async fn run_cli(
    addr: &str,
    version: &str,
    ready_after: Duration,
    stop_after: Option<Duration>,
) -> io::Result<()> {
    run_cli_with(
        addr,
        version,
        ready_after,
        stop_after,
        DemoExtras::default(),
    )
    .await
}

/// `run_cli` with the application side of `extras`.
pub async fn run_cli_with(
    addr: &str,
    version: &str,
    ready_after: Duration,
    stop_after: Option<Duration>,
    extras: DemoExtras,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "demo service listening on http://{local}")?;
        out.flush()?;
    }
    let opts = DemoOptions {
        version: version.to_string(),
        ready_after,
    };
    match stop_after {
        Some(limit) => {
            let _ = timeout(limit, serve_with(listener, opts, extras)).await;
        }
        None => serve_with(listener, opts, extras).await,
    }
    Ok(())
}

struct Reply {
    status: u16,
    body: Value,
    allow: bool,
    /// A plain-text body instead of `body` (`/metrics`).
    text: Option<String>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        allow: false,
        text: None,
    }
}

async fn handle(mut socket: TcpStream, state: &State) -> io::Result<()> {
    let (reply, head_only) = match timeout(READ_TIMEOUT, read_head(&mut socket)).await {
        Err(_) => return Ok(()),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Head::Closed)) => return Ok(()),
        Ok(Ok(Head::TooLarge)) => (
            reply(431, json!({"error": "request header too large"})),
            false,
        ),
        Ok(Ok(Head::Request(line))) => match parse_request_line(&line) {
            Some((method, path)) => {
                let query = request_query(&line);
                (route(&method, &path, &query, state), method == "HEAD")
            }
            None => (reply(400, json!({"error": "bad request"})), false),
        },
    };
    let (body, content_type) = match &reply.text {
        Some(t) => (t.clone(), "text/plain; version=0.0.4"),
        None => (reply.body.to_string(), "application/json"),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        body.len()
    );
    if reply.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    socket.write_all(&out).await?;
    socket.shutdown().await?;
    // Read what the client still sends (a request body) before closing:
    // closing with unread data resets the connection and can lose the reply.
    let mut sink = [0u8; 4096];
    let _ = timeout(Duration::from_secs(1), async {
        let mut total = 0usize;
        while let Ok(n) = socket.read(&mut sink).await {
            total += n;
            if n == 0 || total > 1024 * 1024 {
                break;
            }
        }
    })
    .await;
    Ok(())
}

enum Head {
    /// The request line.
    Request(String),
    TooLarge,
    Closed,
}

async fn read_head(socket: &mut TcpStream) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(if buf.is_empty() {
                Head::Closed
            } else {
                Head::Request(first_line(&buf))
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n").or_else(|| find(&buf, b"\n\n")) {
            return Ok(Head::Request(first_line(&buf[..end])));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Ok(Head::TooLarge);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn first_line(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end])
        .trim_end_matches('\r')
        .to_string()
}

/// `GET /path?query HTTP/1.1` → (`GET`, `/path`).
fn parse_request_line(line: &str) -> Option<(String, String)> {
    let mut parts = line.split(' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()))?;
    let target = parts.next().filter(|t| t.starts_with('/'))?;
    let version = parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    if parts.next().is_some() || version.len() != 8 {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some((method.to_string(), path.to_string()))
}

/// The decoded `name=value` pairs of the request line's query string.
fn request_query(line: &str) -> Vec<(String, String)> {
    let target = line.split(' ').nth(1).unwrap_or("");
    let Some((_, q)) = target.split('#').next().unwrap_or("").split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The application routes of the guide runbooks; `None`: not one of them.
fn app_route(method: &str, path: &str, query: &[(String, String)], state: &State) -> Option<Reply> {
    let x = &state.extras;
    let allowed: &[&str] = match path {
        "/api/auth/login" => &["POST"],
        "/api/events" => &["GET", "HEAD", "POST"],
        "/api/errors" | "/api/notifications" | "/metrics" => &["GET", "HEAD"],
        "/api/v1/query" | "/api/v1/query_range" => &["GET", "HEAD", "POST"],
        _ => return None,
    };
    if !allowed.contains(&method) {
        return Some(reply(405, json!({"error": "method not allowed"})));
    }
    if x.fails(path) {
        return Some(reply(500, json!({"error": "internal error"})));
    }
    Some(match path {
        "/api/auth/login" => reply(
            200,
            json!({"token": "demo-token", "token_type": "Bearer", "expires_in": 3600}),
        ),
        "/api/events" if method == "POST" => reply(201, json!({"id": 1, "accepted": true})),
        "/api/events" => reply(200, json!({"events": [], "total": 0})),
        "/api/errors" => reply(200, json!({"errors": [], "total": 0})),
        "/api/notifications" => reply(200, json!({"notifications": [], "unread": 0})),
        "/metrics" => {
            let mut text = String::from("# flightdeck demo service\n");
            for (name, value) in &x.metrics {
                let name: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                text.push_str(&format!("{name} {value}\n"));
            }
            Reply {
                text: Some(text),
                ..reply(200, Value::Null)
            }
        }
        _ => prom_answer(path == "/api/v1/query_range", query, x),
    })
}

/// A Prometheus HTTP API answer: the configured value of the metric the
/// query names, as a vector (instant) or a matrix (range).
fn prom_answer(range: bool, query: &[(String, String)], x: &DemoExtras) -> Reply {
    let Some(q) = query_param(query, "query") else {
        return reply(
            400,
            json!({"status": "error", "errorType": "bad_data", "error": "query is required"}),
        );
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let Some((name, value)) = x.metric_for(q) else {
        let kind = if range { "matrix" } else { "vector" };
        return reply(
            200,
            json!({"status": "success", "data": {"resultType": kind, "result": []}}),
        );
    };
    let metric = json!({"__name__": name});
    if !range {
        return reply(
            200,
            json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": metric, "value": [now, value.to_string()]}
            ]}}),
        );
    }
    let num = |k: &str| query_param(query, k).and_then(|v| v.parse::<f64>().ok());
    let end = num("end").unwrap_or(now);
    let start = num("start").unwrap_or(end - 300.0).min(end);
    let step = query_param(query, "step")
        .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(15.0)
        .max((end - start) / 1000.0);
    let mut values = Vec::new();
    let mut t = start;
    while t <= end {
        values.push(json!([t, value.to_string()]));
        t += step;
    }
    reply(
        200,
        json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": metric, "values": values}
        ]}}),
    )
}

fn route(method: &str, path: &str, query: &[(String, String)], state: &State) -> Reply {
    if let Some(r) = app_route(method, path, query, state) {
        return r;
    }
    let known = matches!(path, "/health" | "/ready" | "/flaky");
    if !known {
        return reply(404, json!({"error": "not found"}));
    }
    if method != "GET" && method != "HEAD" {
        return Reply {
            allow: true,
            ..reply(405, json!({"error": "method not allowed"}))
        };
    }
    if state.extras.fails(path) {
        return match path {
            "/health" => reply(
                503,
                json!({
                    "status": "degraded",
                    "version": state.opts.version,
                    "components": {"database": "failing", "cache": "ok"},
                }),
            ),
            "/ready" => reply(503, json!({"ready": false})),
            _ => reply(500, json!({"error": "internal error"})),
        };
    }
    match path {
        "/health" => reply(
            200,
            json!({
                "status": "ok",
                "version": state.opts.version,
                "components": {"database": "ok", "cache": "ok"},
            }),
        ),
        "/ready" => {
            if state.started.elapsed() >= state.opts.ready_after {
                reply(200, json!({"ready": true}))
            } else {
                reply(503, json!({"ready": false}))
            }
        }
        _ => {
            if state.flaky_seen.swap(true, Ordering::SeqCst) {
                reply(200, json!({"status": "ok"}))
            } else {
                reply(503, json!({"status": "unavailable"}))
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line("GET /health?x=1 HTTP/1.1"),
            Some(("GET".into(), "/health".into()))
        );
        assert_eq!(parse_request_line("GET /health"), None);
        assert_eq!(parse_request_line("get / HTTP/1.1"), None);
        assert_eq!(parse_request_line("GET health HTTP/1.1"), None);
        assert_eq!(parse_request_line("\u{0}\u{1}"), None);
    }

    #[test]
    fn queries_and_metrics() {
        let q =
            request_query("GET /api/v1/query?query=sum(rate(x_total%5B5m%5D))+%2F+2&a HTTP/1.1");
        assert_eq!(query_param(&q, "query"), Some("sum(rate(x_total[5m])) / 2"));
        assert_eq!(query_param(&q, "a"), Some(""));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        let x = DemoExtras::parse(
            &["x_total=1".into(), "x_total_errors=0.5".into()],
            &["/api/errors".into()],
        )
        .unwrap();
        assert_eq!(
            x.metric_for("rate(x_total_errors[5m])"),
            Some(("x_total_errors", 0.5))
        );
        assert_eq!(x.metric_for("rate(x_total[5m])"), Some(("x_total", 1.0)));
        assert_eq!(x.metric_for("y"), None);
        assert!(x.fails("/api/errors"));
        assert!(DemoExtras::parse(&["nope".into()], &[]).is_err());
        assert!(DemoExtras::parse(&["a=b".into()], &[]).is_err());
        assert_eq!(
            DemoExtras::parse(&[], &["relative".into()]).unwrap_err(),
            DemoArgError::RelativePath {
                path: "relative".into()
            }
        );
        assert_eq!(
            DemoExtras::parse(&["x=1e".into()], &[])
                .unwrap_err()
                .to_string(),
            "--metric \"x=1e\": \"1e\" is not a number"
        );
    }
}
