//! Metric checks against the Prometheus HTTP API. A query that errors or
//! returns no data is inconclusive: it never counts as a pass.

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;
use tokio::time::Instant;

use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::{PromSpec, redact_url};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

const QUERY_TIMEOUT: Duration = Duration::from_secs(15);

/// What one query said.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Every sample value with the labels of its series.
    Values(Vec<(String, f64)>),
    /// The query errored or had no data: why.
    Inconclusive(String),
}

fn labels(metric: Option<&Value>) -> String {
    match metric.and_then(|m| m.as_object()) {
        Some(m) if !m.is_empty() => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        _ => "{}".into(),
    }
}

fn sample(v: &Value) -> Option<f64> {
    v.as_array()?.get(1)?.as_str()?.parse::<f64>().ok()
}

/// Read a Prometheus API answer (`/api/v1/query` or `/query_range`).
pub fn parse_answer(body: &Value) -> Answer {
    if body.get("status").and_then(|s| s.as_str()) != Some("success") {
        let kind = body
            .get("errorType")
            .and_then(|s| s.as_str())
            .unwrap_or("error");
        let msg = body
            .get("error")
            .and_then(|s| s.as_str())
            .unwrap_or("the query failed");
        return Answer::Inconclusive(format!("query {kind}: {msg}"));
    }
    let data = body.get("data");
    let kind = data
        .and_then(|d| d.get("resultType"))
        .and_then(|s| s.as_str())
        .unwrap_or("");
    let result = data.and_then(|d| d.get("result"));
    let mut values = Vec::new();
    match (kind, result) {
        ("scalar", Some(r)) => {
            if let Some(v) = sample(r) {
                values.push(("scalar".to_string(), v));
            }
        }
        ("vector", Some(Value::Array(series))) => {
            for s in series {
                if let Some(v) = s.get("value").and_then(sample) {
                    values.push((labels(s.get("metric")), v));
                }
            }
        }
        ("matrix", Some(Value::Array(series))) => {
            for s in series {
                let l = labels(s.get("metric"));
                for v in s
                    .get("values")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(v) = sample(v) {
                        values.push((l.clone(), v));
                    }
                }
            }
        }
        _ => return Answer::Inconclusive(format!("unexpected result type {kind:?}")),
    }
    if values.is_empty() {
        return Answer::Inconclusive("the query returned no data".into());
    }
    if values.iter().any(|(_, v)| v.is_nan()) {
        return Answer::Inconclusive("the query returned NaN".into());
    }
    Answer::Values(values)
}

pub async fn query(client: &Client, p: &PromSpec) -> Answer {
    let base = p.url.trim_end_matches('/');
    let req = match p.range {
        Some(range) => {
            let end = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
            let start = end - range.as_secs_f64();
            reqwest::Url::parse_with_params(
                &format!("{base}/api/v1/query_range"),
                &[
                    ("query", p.query.clone()),
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{}s", p.step.as_secs_f64())),
                ],
            )
        }
        None => reqwest::Url::parse_with_params(
            &format!("{base}/api/v1/query"),
            &[("query", p.query.as_str())],
        ),
    };
    let req = match req {
        Ok(u) => client.get(u),
        Err(e) => return Answer::Inconclusive(format!("invalid Prometheus URL: {e}")),
    };
    let resp = match req.timeout(QUERY_TIMEOUT).send().await {
        Ok(r) => r,
        Err(e) => {
            let e = e.without_url();
            return Answer::Inconclusive(format!(
                "Prometheus at {} did not answer: {}",
                redact_url(base),
                crate::backend::http_client::innermost(&e)
            ));
        }
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => parse_answer(&v),
        Err(_) => Answer::Inconclusive(format!(
            "Prometheus answered {status} without an API response"
        )),
    }
}

/// Compare one answer; `Ok(summary)` when every value holds.
fn judge(p: &PromSpec, answer: &Answer, say: &mut Say<'_>) -> Result<String, Outcome> {
    let values = match answer {
        Answer::Inconclusive(why) => {
            say.info(format!("? {why}"));
            return Err(Outcome::Inconclusive {
                reason: format!("{} ({})", why, p.query),
            });
        }
        Answer::Values(v) => v,
    };
    let mut worst: Option<(String, f64)> = None;
    for (l, v) in values {
        if !p.op.holds(*v, p.threshold) {
            worst = Some((l.clone(), *v));
            break;
        }
    }
    let shown: Vec<String> = values
        .iter()
        .take(5)
        .map(|(l, v)| format!("{l} {v}"))
        .collect();
    let more = if values.len() > 5 {
        format!(" (+{} more)", values.len() - 5)
    } else {
        String::new()
    };
    match worst {
        None => {
            say.info(format!(
                "✓ {} {} {} — {}{more}",
                p.query,
                p.op.as_str(),
                p.threshold,
                shown.join(", ")
            ));
            Ok(format!(
                "{} {} {} held ({} samples)",
                p.query,
                p.op.as_str(),
                p.threshold,
                values.len()
            ))
        }
        Some((l, v)) => {
            say.info(format!(
                "✗ {l} {v} is not {} {}",
                p.op.as_str(),
                p.threshold
            ));
            Err(failure(format!(
                "{} = {v} {l}: not {} {}",
                p.query,
                p.op.as_str(),
                p.threshold
            )))
        }
    }
}

pub async fn run(
    client: &Client,
    p: &PromSpec,
    timeout: Option<Duration>,
    say: &mut Say<'_>,
) -> Outcome {
    let kind = match p.range {
        Some(r) => format!(
            "range query over {} every {}",
            format_duration(r),
            format_duration(p.step)
        ),
        None => "instant query".into(),
    };
    say.info(format!(
        "{kind} at {}: {} {} {}",
        redact_url(&p.url),
        p.query,
        p.op.as_str(),
        p.threshold
    ));
    let Some(sustain) = p.sustain else {
        return match judge(p, &query(client, p).await, say) {
            Ok(note) => success(note),
            Err(o) => o,
        };
    };
    // Sustained: it must hold on every query for the whole window.
    let window = match timeout {
        Some(t) if t < sustain => {
            say.info(format!(
                "the step's timeout {} is shorter than the window; watching until then",
                format_duration(t)
            ));
            t.saturating_sub(Duration::from_millis(500))
        }
        _ => sustain,
    };
    say.info(format!(
        "must hold for {} (a query every {})",
        format_duration(window),
        format_duration(p.interval)
    ));
    let start = Instant::now();
    let mut n = 0u32;
    loop {
        n += 1;
        if let Err(o) = judge(p, &query(client, p).await, say) {
            return o;
        }
        let next = Instant::now() + p.interval;
        if next.duration_since(start) > window {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    success(format!(
        "{} {} {} held for {} ({n} queries)",
        p.query,
        p.op.as_str(),
        p.threshold,
        format_duration(start.elapsed())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers() {
        let v = json!({"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"api"},"value":[1.0,"0.02"]}]}});
        assert_eq!(
            parse_answer(&v),
            Answer::Values(vec![("{job=api}".into(), 0.02)])
        );
        let empty = json!({"status":"success","data":{"resultType":"vector","result":[]}});
        assert!(matches!(parse_answer(&empty), Answer::Inconclusive(_)));
        let err = json!({"status":"error","errorType":"bad_data","error":"parse error"});
        assert!(matches!(parse_answer(&err), Answer::Inconclusive(s) if s.contains("parse error")));
        let m = json!({"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[1,"1"],[2,"2"]]}]}});
        assert!(matches!(parse_answer(&m), Answer::Values(v) if v.len() == 2));
    }
}
