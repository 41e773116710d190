//! Smoke suites (many requests grouped by area, run concurrently) and a
//! short load step (latency percentiles and error rate against targets).

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Client, Method};
use serde_json::Value;
use tokio::time::Instant;

use crate::backend::http_client::json_path;
use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::{LoadSpec, SmokeRequest, SmokeSpec, percentile, redact_url};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

type Job<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BODY: usize = 1024 * 1024;

/// What one smoke request showed.
#[derive(Debug, Clone)]
pub struct SmokeResult {
    pub area: String,
    pub name: String,
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why it failed; `None` when every expectation held.
    pub failure: Option<String>,
}

fn join(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn json_eq(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == want,
    }
}

async fn body(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_BODY {
            out.truncate(MAX_BODY);
            break;
        }
    }
    Ok(out)
}

fn describe(e: reqwest::Error) -> String {
    crate::backend::http_client::request_failure(e, "no response in time")
}

pub async fn smoke_one(client: &Client, base: &str, r: &SmokeRequest) -> SmokeResult {
    let mut res = SmokeResult {
        area: r.area.clone(),
        name: r.name.clone(),
        status: None,
        latency: Duration::ZERO,
        failure: None,
    };
    let Ok(method) = Method::from_bytes(r.method.as_bytes()) else {
        res.failure = Some(format!("invalid method {}", r.method));
        return res;
    };
    let timeout = r
        .max_latency
        .map_or(REQUEST_TIMEOUT, |m| (m * 4).max(Duration::from_secs(5)));
    let req = crate::backend::http_client::request(
        client,
        method,
        &join(base, &r.path),
        timeout,
        &r.headers,
        r.body.as_ref(),
    );
    let start = Instant::now();
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => {
            res.latency = start.elapsed();
            res.failure = Some(describe(e));
            return res;
        }
    };
    let status = resp.status().as_u16();
    res.status = Some(status);
    let bytes = body(resp).await;
    res.latency = start.elapsed();
    let mut failures = Vec::new();
    if status != r.expect_status {
        failures.push(format!("status {status}, expected {}", r.expect_status));
    }
    if let Some(max) = r.max_latency
        && res.latency > max
    {
        failures.push(format!(
            "took {}, over {}",
            format_duration(res.latency),
            format_duration(max)
        ));
    }
    if !r.expect_json.is_empty() {
        match bytes.map(|b| serde_json::from_slice::<Value>(&b)) {
            Ok(Ok(json)) => {
                for (path, want) in &r.expect_json {
                    match json_path(&json, path) {
                        Some(got) if json_eq(got, want) => {}
                        Some(got) => failures.push(format!("{path} is {got}, expected {want}")),
                        None => failures.push(format!("{path} is missing, expected {want}")),
                    }
                }
            }
            Ok(Err(e)) => failures.push(format!("the body is not JSON ({e})")),
            Err(e) => failures.push(format!("reading the body: {}", describe(e))),
        }
    }
    if !failures.is_empty() {
        res.failure = Some(failures.join("; "));
    }
    res
}

/// One line per result: area, name, status, latency, ✓/✗.
pub fn result_line(r: &SmokeResult) -> String {
    let status = r.status.map_or("---".to_string(), |s| s.to_string());
    let mut line = format!(
        "{} {:<14} {:<32} {status} {:>7}",
        if r.failure.is_none() { "✓" } else { "✗" },
        r.area,
        r.name,
        format_duration(r.latency)
    );
    if let Some(f) = &r.failure {
        line.push_str(&format!("  {f}"));
    }
    line
}

pub async fn smoke(client: &Client, s: &SmokeSpec, say: &mut Say<'_>) -> Outcome {
    say.info(format!(
        "{} requests against {} ({} at a time)",
        s.requests.len(),
        redact_url(&s.base_url),
        s.concurrency
    ));
    let start = Instant::now();
    // Boxed one by one (not a closure over borrowed data), so the step's
    // task stays `Send`.
    let jobs: Vec<Job<'_, (usize, SmokeResult)>> = s
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| -> Job<'_, (usize, SmokeResult)> {
            Box::pin(async move { (i, smoke_one(client, &s.base_url, r).await) })
        })
        .collect();
    let mut results: Vec<(usize, SmokeResult)> = futures::stream::iter(jobs)
        .buffer_unordered(s.concurrency.max(1) as usize)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    // Grouped by area, in the order the runbook lists them.
    let mut areas: Vec<&str> = Vec::new();
    for (_, r) in &results {
        if !areas.contains(&r.area.as_str()) {
            areas.push(&r.area);
        }
    }
    let mut failed = Vec::new();
    for area in &areas {
        let in_area: Vec<&SmokeResult> = results
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.area == *area)
            .collect();
        let ok = in_area.iter().filter(|r| r.failure.is_none()).count();
        say.info(format!("{area}: {ok}/{} passed", in_area.len()));
        for r in in_area {
            say.out(result_line(r));
            if let Some(f) = &r.failure {
                failed.push(format!("{}/{}: {f}", r.area, r.name));
            }
        }
    }
    let passed = results.len() - failed.len();
    let summary = format!(
        "{passed}/{} smoke requests passed in {}",
        results.len(),
        format_duration(start.elapsed())
    );
    say.info(&summary);
    if failed.is_empty() {
        success(summary)
    } else {
        failure(format!("{summary}; failed: {}", failed.join("; ")))
    }
}

/// Latency percentiles and the error rate of a load run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadStats {
    pub requests: usize,
    pub errors: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub error_rate: f64,
    pub per_second: f64,
}

pub fn load_stats(mut samples: Vec<Duration>, errors: usize, wall: Duration) -> LoadStats {
    samples.sort();
    let n = samples.len();
    LoadStats {
        requests: n,
        errors,
        p50: percentile(&samples, 50.0).unwrap_or_default(),
        p95: percentile(&samples, 95.0).unwrap_or_default(),
        p99: percentile(&samples, 99.0).unwrap_or_default(),
        max: samples.last().copied().unwrap_or_default(),
        error_rate: if n == 0 {
            0.0
        } else {
            errors as f64 * 100.0 / n as f64
        },
        per_second: if wall.is_zero() {
            0.0
        } else {
            n as f64 / wall.as_secs_f64()
        },
    }
}

pub async fn load(client: &Client, l: &LoadSpec, say: &mut Say<'_>) -> Outcome {
    let Ok(method) = Method::from_bytes(l.method.as_bytes()) else {
        return failure(format!("invalid method {}", l.method));
    };
    say.info(format!(
        "{} × {} {} at concurrency {}",
        l.requests,
        l.method,
        redact_url(&l.url),
        l.concurrency
    ));
    let start = Instant::now();
    let jobs: Vec<Job<'_, (Duration, bool)>> = (0..l.requests)
        .map(|_| -> Job<'_, (Duration, bool)> {
            let mut req = client
                .request(method.clone(), &l.url)
                .timeout(REQUEST_TIMEOUT);
            for (k, v) in &l.headers {
                req = req.header(k, v);
            }
            if let Some(b) = &l.body {
                req = req.body(b.clone());
            }
            let expect = l.expect_status;
            Box::pin(async move {
                let t = Instant::now();
                let ok = match req.send().await {
                    Ok(resp) => {
                        let s = resp.status().as_u16();
                        let _ = body(resp).await;
                        s == expect
                    }
                    Err(_) => false,
                };
                (t.elapsed(), ok)
            })
        })
        .collect();
    let results: Vec<(Duration, bool)> = futures::stream::iter(jobs)
        .buffer_unordered(l.concurrency.max(1) as usize)
        .collect()
        .await;
    let errors = results.iter().filter(|(_, ok)| !ok).count();
    let stats = load_stats(
        results.iter().map(|(d, _)| *d).collect(),
        errors,
        start.elapsed(),
    );
    say.info(format!(
        "{} requests in {} ({:.0}/s), {} errors ({:.2}%)",
        stats.requests,
        format_duration(start.elapsed()),
        stats.per_second,
        stats.errors,
        stats.error_rate
    ));
    let mut failures = Vec::new();
    let mut row = |name: &str, got: Duration, target: Option<Duration>| {
        let (mark, limit) = match target {
            Some(t) if got >= t => {
                failures.push(format!(
                    "{name} {} not under {}",
                    format_duration(got),
                    format_duration(t)
                ));
                ("✗", format!(" (target < {})", format_duration(t)))
            }
            Some(t) => ("✓", format!(" (target < {})", format_duration(t))),
            None => (" ", String::new()),
        };
        say.info(format!("{mark} {name} {}{limit}", format_duration(got)));
    };
    row("p50", stats.p50, l.p50);
    row("p95", stats.p95, l.p95);
    row("p99", stats.p99, l.p99);
    row("max", stats.max, None);
    let rate_ok = stats.error_rate < l.max_error_rate || (stats.errors == 0);
    say.info(format!(
        "{} error rate {:.2}% (target < {}%)",
        if rate_ok { "✓" } else { "✗" },
        stats.error_rate,
        l.max_error_rate
    ));
    if !rate_ok {
        failures.push(format!(
            "error rate {:.2}% not under {}%",
            stats.error_rate, l.max_error_rate
        ));
    }
    let note = format!(
        "{} requests: p50 {} p95 {} p99 {} max {}, error rate {:.2}%, {:.0}/s",
        stats.requests,
        format_duration(stats.p50),
        format_duration(stats.p95),
        format_duration(stats.p99),
        format_duration(stats.max),
        stats.error_rate,
        stats.per_second
    );
    if failures.is_empty() {
        success(note)
    } else {
        failure(format!("{}; {note}", failures.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let samples: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        let s = load_stats(samples, 2, Duration::from_secs(1));
        assert_eq!(s.p50, Duration::from_millis(100));
        assert_eq!(s.p99, Duration::from_millis(198));
        assert!((s.error_rate - 1.0).abs() < 1e-9);
        assert_eq!(join("http://h/", "/a"), "http://h/a");
    }
}
