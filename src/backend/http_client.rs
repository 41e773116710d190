//! The one HTTP client the backends use, and what they share about URLs and
//! JSON answers.

use std::sync::Arc;

use reqwest::Client;
use serde_json::Value;

/// The HTTP client could not be built (TLS setup). Cloneable: the checker
/// keeps it and says it at each check that needed the client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct HttpClientError(#[source] Arc<reqwest::Error>);

/// The client for HTTP checks: rustls with ring, no redirects followed (the
/// status checked is the one the URL answers).
pub fn http_client() -> Result<Client, HttpClientError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("flightdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpClientError(Arc::new(e)))
}

/// A request as a runbook describes one: method, URL, per-request
/// timeout, headers and an optional body.
pub fn request(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    timeout: std::time::Duration,
    headers: &std::collections::BTreeMap<String, String>,
    body: Option<&String>,
) -> reqwest::RequestBuilder {
    let mut req = client.request(method, url).timeout(timeout);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    if let Some(body) = body {
        req = req.body(body.clone());
    }
    req
}

/// The innermost error under `e`: the one that names the cause (refused,
/// reset, a DNS failure) under reqwest's and hyper's wrappers.
pub fn innermost<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    let mut c = e;
    while let Some(next) = c.source() {
        c = next;
    }
    c
}

/// Why a request failed, in words: `timed_out` when it ran out of time,
/// "connection refused", or the innermost cause. The URL is left out (it
/// may hold credentials).
pub fn request_failure(e: reqwest::Error, timed_out: &str) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return timed_out.to_string();
    }
    let c = innermost(&e);
    if c.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    {
        return "connection refused".into();
    }
    c.to_string()
}

/// Follow a dotted path (`components.db`, `items.0.name`) into JSON.
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |cur, key| match cur {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The `user:password` part of a URL, if any (up to the last `@` of the
/// authority: a password with `/`, `?`, `#` or `@` in it is found whole).
pub fn userinfo(url: &str) -> Option<&str> {
    crate::runbook::secrets::url_userinfo(url)
}

/// The URL with any `user:password@` replaced by `***@`, and secret-looking
/// query values (`?token=...`) by `***`.
pub fn redact_url(url: &str) -> String {
    crate::runbook::secrets::redact_urls(&redact_with(url, userinfo(url)))
}

pub fn redact_with(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}
