//! A tiny HTTP/1.1 service for the demo runbook and for tests: a real
//! loopback endpoint with health, readiness and a flaky route. One request
//! per connection (`Connection: close`); bad requests get a 400, never a crash.

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

struct State {
    opts: DemoOptions,
    started: Instant,
    flaky_seen: AtomicBool,
}

/// Serve forever on `listener`.
pub async fn serve(listener: TcpListener, opts: DemoOptions) {
    let state = Arc::new(State {
        opts,
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
            let _ = timeout(limit, serve(listener, opts)).await;
        }
        None => serve(listener, opts).await,
    }
    Ok(())
}

struct Reply {
    status: u16,
    body: Value,
    allow: bool,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        allow: false,
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
            Some((method, path)) => (route(&method, &path, state), method == "HEAD"),
            None => (reply(400, json!({"error": "bad request"})), false),
        },
    };
    let body = reply.body.to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
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

fn route(method: &str, path: &str, state: &State) -> Reply {
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
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
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
}
