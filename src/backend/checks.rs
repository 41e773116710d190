//! The checks a step can run: variables set, a TCP port open, an HTTP
//! endpoint answering as expected. Each reports Info lines, then an Outcome.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Client, Method, Response};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, sleep_until};

use super::http_client::{
    HttpClientError, http_client, json_path, redact_url, redact_with, userinfo,
};
use super::outcome::{failure, success};
use super::process::CancelSignal;
use crate::protocol::output::Stream;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;
use crate::runbook::{CheckSpec, HttpCheck, TcpCheck};

/// Between attempts of a `wait: true` HTTP check.
pub const RETRY_EVERY: Duration = Duration::from_millis(500);
/// Per request when the step has no timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most of a response body read (for JSON expectations and excerpts).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const EXCERPT_LINES: usize = 20;
const EXCERPT_LINE_CHARS: usize = 300;
const VALUE_CHARS: usize = 200;

/// Owns the HTTP client shared by all checks.
#[derive(Debug, Clone)]
pub struct Checker {
    http: Result<Client, HttpClientError>,
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    pub fn new() -> Self {
        Checker {
            http: http_client(),
        }
    }

    /// Run one check, bounded by the step's `timeout` and `cancel`.
    pub async fn run(
        &self,
        spec: &CheckSpec,
        extra_env: &BTreeMap<String, String>,
        timeout: Option<Duration>,
        mut cancel: CancelSignal,
        mut sink: impl FnMut(Stream, String) + Send,
    ) -> Outcome {
        // An HTTP check handles its own deadline (to say what it last saw);
        // the slack lets it.
        let slack = match spec {
            CheckSpec::Http(_) => Duration::from_millis(250),
            _ => Duration::ZERO,
        };
        let deadline = timeout.map(|t| Instant::now() + t + slack);
        let work = async {
            match spec {
                CheckSpec::Env { vars } => check_env(vars, extra_env, &mut sink),
                CheckSpec::Tcp(tcp) => check_tcp(tcp, &mut sink).await,
                CheckSpec::Http(http) => match &self.http {
                    Ok(client) => check_http(client, http, timeout, &mut sink).await,
                    Err(e) => failure(format!("no HTTP client: {e}")),
                },
                CheckSpec::Data(d) => {
                    super::data::run_check(d, &self.http, timeout, &mut sink).await
                }
                CheckSpec::Kube(k) => crate::backend::kube::check(k, &mut sink).await,
            }
        };
        tokio::select! {
            outcome = work => outcome,
            _ = cancel.cancelled() => failure("cancelled"),
            _ = sleep_until_opt(deadline) => failure(format!(
                "timed out after {}",
                format_duration(timeout.unwrap_or_default())
            )),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Each variable set and non-empty in the process environment merged with
/// `extra_env`. Values are never reported.
pub fn check_env(
    vars: &[String],
    extra_env: &BTreeMap<String, String>,
    sink: &mut impl FnMut(Stream, String),
) -> Outcome {
    let mut missing = Vec::new();
    for var in vars {
        let set = match extra_env.get(var) {
            Some(value) => !value.is_empty(),
            None => std::env::var_os(var).is_some_and(|v| !v.is_empty()),
        };
        sink(
            Stream::Info,
            format!("{var}: {}", if set { "set" } else { "missing" }),
        );
        if !set {
            missing.push(var.as_str());
        }
    }
    if missing.is_empty() {
        success(format!("{} variables set", vars.len()))
    } else {
        failure(format!("missing: {}", missing.join(", ")))
    }
}

pub async fn check_tcp(check: &TcpCheck, sink: &mut impl FnMut(Stream, String)) -> Outcome {
    let address = &check.address;
    sink(
        Stream::Info,
        format!(
            "connecting to {address} (timeout {})",
            format_duration(check.connect_timeout)
        ),
    );
    let start = Instant::now();
    match tokio::time::timeout(check.connect_timeout, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => {
            let took = format_duration(start.elapsed());
            let peer = stream
                .peer_addr()
                .map_or_else(|_| address.clone(), |a| a.to_string());
            sink(Stream::Info, format!("✓ connected to {peer} in {took}"));
            success(format!("connected in {took}"))
        }
        Ok(Err(e)) => failure(format!(
            "could not connect to {address}: {}",
            describe_io(&e)
        )),
        Err(_) => failure(format!(
            "could not connect to {address}: no answer within {}",
            format_duration(check.connect_timeout)
        )),
    }
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        _ => e.to_string(),
    }
}

/// What one request showed.
struct Attempt {
    lines: Vec<String>,
    /// Why it failed, `None` when every expectation held.
    failure: Option<String>,
    excerpt: Vec<String>,
}

impl Attempt {
    fn failed(reason: String) -> Self {
        Attempt {
            lines: Vec::new(),
            failure: Some(reason),
            excerpt: Vec::new(),
        }
    }
}

pub async fn check_http(
    client: &Client,
    check: &HttpCheck,
    timeout: Option<Duration>,
    sink: &mut impl FnMut(Stream, String),
) -> Outcome {
    let secret = userinfo(&check.url).map(str::to_string);
    // Credentials in the URL (userinfo, `?token=`) and in auth headers must
    // not reach the screen, whatever echoes them.
    let red = http_secrets(check);
    let mut say = |line: String| {
        sink(
            Stream::Info,
            red.mask(&redact_with(&line, secret.as_deref())),
        );
    };
    let shown = redact_url(&check.url);
    let Ok(method) = Method::from_bytes(check.method.to_ascii_uppercase().as_bytes()) else {
        return failure(format!("invalid HTTP method {:?}", check.method));
    };
    say(format!("{method} {shown} (expect {})", check.expect_status));
    let deadline = timeout.map(|t| Instant::now() + t);
    if check.wait {
        say(format!(
            "waiting until it passes: every {}{}",
            format_duration(RETRY_EVERY),
            timeout.map_or(String::new(), |t| format!(", up to {}", format_duration(t)))
        ));
    }
    let mut number = 0u32;
    loop {
        number += 1;
        let per_request = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT)
            .max(Duration::from_millis(1));
        let attempt = attempt(client, check, method.clone(), per_request).await;
        let Some(reason) = attempt.failure.clone() else {
            attempt.lines.into_iter().for_each(&mut say);
            return success(red.mask(&format!("{shown} answered as expected")));
        };
        let out_of_time = deadline.is_some_and(|d| Instant::now() + RETRY_EVERY >= d);
        if !check.wait || out_of_time {
            attempt.lines.into_iter().for_each(&mut say);
            if !attempt.excerpt.is_empty() {
                say("response body:".into());
                attempt.excerpt.into_iter().for_each(&mut say);
            }
            let reason = match (check.wait, timeout) {
                (true, Some(t)) => format!(
                    "timed out after {} waiting for {shown}; last attempt: {reason}",
                    format_duration(t)
                ),
                _ => reason,
            };
            return failure(red.mask(&redact_with(&reason, secret.as_deref())));
        }
        say(format!(
            "attempt {number}: {reason}; retrying in {}",
            format_duration(RETRY_EVERY)
        ));
        sleep(RETRY_EVERY).await;
    }
}

async fn attempt(
    client: &Client,
    check: &HttpCheck,
    method: Method,
    per_request: Duration,
) -> Attempt {
    let req = super::http_client::request(
        client,
        method,
        &check.url,
        per_request,
        &check.headers,
        check.body.as_ref(),
    );
    let start = Instant::now();
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => return Attempt::failed(describe_reqwest(e, per_request)),
    };
    let status = resp.status();
    let (body, truncated) = match read_body(resp).await {
        Ok(body) => body,
        Err(e) => {
            return Attempt::failed(format!(
                "reading the body: {}",
                describe_reqwest(e, per_request)
            ));
        }
    };
    let latency = start.elapsed();

    let mut lines = vec![format!(
        "{} {} in {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        format_duration(latency)
    )];
    let mut failures = Vec::new();
    let mut expect = |ok: bool, line: String, lines: &mut Vec<String>| {
        lines.push(format!("{} {line}", if ok { "✓" } else { "✗" }));
        if !ok {
            failures.push(line);
        }
    };
    let code = status.as_u16();
    expect(
        code == check.expect_status,
        format!("status {code} (expected {})", check.expect_status),
        &mut lines,
    );
    if let Some(max) = check.max_latency {
        let ok = latency <= max;
        let word = if ok { "within" } else { "over" };
        expect(
            ok,
            format!(
                "latency {} {word} the limit of {}",
                format_duration(latency),
                format_duration(max)
            ),
            &mut lines,
        );
    }
    if !check.expect_json.is_empty() {
        match serde_json::from_slice::<Value>(&body) {
            Ok(json) => {
                for (path, want) in &check.expect_json {
                    let (ok, line) = match json_path(&json, path) {
                        Some(got) if json_eq(got, want) => {
                            (true, format!("{path} = {}", show(want)))
                        }
                        Some(got) => (
                            false,
                            format!("{path} is {}, expected {}", show(got), show(want)),
                        ),
                        None => (false, format!("{path} is missing, expected {}", show(want))),
                    };
                    expect(ok, line, &mut lines);
                }
            }
            Err(_) if truncated => expect(
                false,
                "the body is over 1 MiB; JSON not checked".into(),
                &mut lines,
            ),
            Err(e) => expect(false, format!("the body is not JSON ({e})"), &mut lines),
        }
    }
    let failure = (!failures.is_empty()).then(|| failures.join("; "));
    let excerpt = if failure.is_some() {
        body_excerpt(&body)
    } else {
        Vec::new()
    };
    Attempt {
        lines,
        failure,
        excerpt,
    }
}

async fn read_body(mut resp: Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A reason without the URL (it may carry credentials), naming the cause.
fn describe_reqwest(e: reqwest::Error, per_request: Duration) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return format!("no response within {}", format_duration(per_request));
    }
    let cause = super::http_client::innermost(&e);
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return describe_io(io);
    }
    if e.is_connect() {
        format!("could not connect: {cause}")
    } else if std::ptr::addr_eq(cause, &e) {
        e.to_string()
    } else {
        format!("{e}: {cause}")
    }
}

/// Equality where `1` and `1.0` are the same number.
fn json_eq(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) if a.is_f64() || b.is_f64() => {
            a.as_f64() == b.as_f64()
        }
        _ => got == want,
    }
}

fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > VALUE_CHARS {
        let cut: String = text.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn body_excerpt(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let all: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = all
        .iter()
        .take(EXCERPT_LINES)
        .map(|l| {
            if l.chars().count() > EXCERPT_LINE_CHARS {
                let cut: String = l.chars().take(EXCERPT_LINE_CHARS).collect();
                format!("  {cut}…")
            } else {
                format!("  {l}")
            }
        })
        .collect();
    if all.len() > EXCERPT_LINES {
        // Keep the whole excerpt within the bound, marker included.
        out.truncate(EXCERPT_LINES - 1);
        out.push(format!(
            "  … {} more lines",
            all.len() - (EXCERPT_LINES - 1)
        ));
    }
    out
}

/// The credentials of an http check: in its URL, and the values of headers
/// that carry them (`Authorization`, `X-Api-Key`, ...).
pub fn http_secrets(check: &HttpCheck) -> crate::runbook::secrets::SecretSet {
    let mut set = crate::runbook::secrets::SecretSet::new();
    set.add_url(&check.url);
    for (name, value) in &check.headers {
        set.add_header(name, value);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths() {
        let v = json!({"status": "ok", "components": {"db": "up"}, "items": [{"name": "a"}]});
        assert_eq!(json_path(&v, "status"), Some(&json!("ok")));
        assert_eq!(json_path(&v, "components.db"), Some(&json!("up")));
        assert_eq!(json_path(&v, "items.0.name"), Some(&json!("a")));
        assert_eq!(json_path(&v, "items.1.name"), None);
        assert_eq!(json_path(&v, "status.x"), None);
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!(2)));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("https://u:p@h.example/x?y=1"),
            "https://***@h.example/x?y=1"
        );
        assert_eq!(redact_url("http://h/a@b"), "http://h/a@b");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("http://u:p/?#@x@h:1/a?token=t0k3n&b=1"),
            "http://***@h:1/a?token=***&b=1"
        );
    }

    #[test]
    fn excerpt_is_bounded() {
        let body = (0..100).map(|i| format!("line {i}\n")).collect::<String>();
        let ex = body_excerpt(body.as_bytes());
        assert_eq!(ex.len(), EXCERPT_LINES);
        assert!(ex.last().unwrap().contains("81 more lines"));
    }
}
