//! The registry check: an OCI / Docker registry's `/v2/` answers 200 with
//! the given credentials (Basic auth, or the Bearer token flow a registry
//! asks for in `WWW-Authenticate`).

use reqwest::{Client, StatusCode};

use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::{RegistryCheck, redact_url};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// `Bearer realm="...",service="...",scope="..."` -> its parameters.
pub fn challenge_params(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((k.trim().to_string(), v.to_string()));
        rest = tail.trim_start_matches([',', ' ']);
    }
    Some((scheme.to_ascii_lowercase(), params))
}

pub async fn check(client: &Client, c: &RegistryCheck, say: &mut Say<'_>) -> Outcome {
    let base = c.url.trim_end_matches('/');
    let url = format!("{base}/v2/");
    let who = c.username.as_deref().unwrap_or("anonymous");
    say.info(format!("GET {} as {who}", redact_url(&url)));
    let start = tokio::time::Instant::now();
    let mut req = client.get(&url).timeout(TIMEOUT);
    if let Some(u) = &c.username {
        req = req.basic_auth(u, c.password.as_deref());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return failure(format!("{} did not answer: {}", redact_url(&url), cause(e))),
    };
    let mut status = resp.status();
    if status == StatusCode::UNAUTHORIZED
        && let Some(h) = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
        && let Some((scheme, params)) = challenge_params(h)
        && scheme == "bearer"
    {
        // Token flow: ask the realm for a token with the credentials.
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let Some(realm) = get("realm") else {
            return failure("the registry asked for a token without naming its realm");
        };
        say.info(format!("token requested from {}", redact_url(&realm)));
        let mut q: Vec<(String, String)> = Vec::new();
        if let Some(s) = get("service") {
            q.push(("service".into(), s));
        }
        if let Some(s) = get("scope") {
            q.push(("scope".into(), s));
        }
        let realm_url = match reqwest::Url::parse_with_params(&realm, &q) {
            Ok(u) => u,
            Err(e) => return failure(format!("the token realm is not a URL: {e}")),
        };
        let mut treq = client.get(realm_url).timeout(TIMEOUT);
        if let Some(u) = &c.username {
            treq = treq.basic_auth(u, c.password.as_deref());
        }
        let token = match treq.send().await {
            Ok(r) if r.status().is_success() => {
                r.json::<serde_json::Value>().await.ok().and_then(|v| {
                    v.get("token")
                        .or_else(|| v.get("access_token"))
                        .and_then(|t| t.as_str())
                        .map(str::to_string)
                })
            }
            Ok(r) => {
                return failure(format!(
                    "the registry's token service refused the credentials of {who}: {}",
                    r.status()
                ));
            }
            Err(e) => return failure(format!("token service: {}", cause(e))),
        };
        let Some(token) = token else {
            return failure("the token service answered without a token");
        };
        status = match client
            .get(&url)
            .bearer_auth(token)
            .timeout(TIMEOUT)
            .send()
            .await
        {
            Ok(r) => r.status(),
            Err(e) => return failure(format!("{} with a token: {}", redact_url(&url), cause(e))),
        };
    }
    let took = format_duration(start.elapsed());
    say.info(format!(
        "{} {} in {took}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    ));
    match status {
        s if s.is_success() => success(format!("registry /v2/ answers {} for {who}", s.as_u16())),
        StatusCode::UNAUTHORIZED if c.username.is_some() => failure(format!(
            "the registry refused the credentials of {who} (401 Unauthorized)"
        )),
        StatusCode::UNAUTHORIZED => {
            failure("the registry needs credentials (401 Unauthorized): give username and password")
        }
        StatusCode::NOT_FOUND => failure(format!(
            "{} is not an OCI registry API (404 on /v2/)",
            redact_url(base)
        )),
        s => failure(format!("registry /v2/ answered {s}")),
    }
}

fn cause(e: reqwest::Error) -> String {
    crate::backend::http_client::request_failure(e, "timed out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let (s, p) = challenge_params(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="x""#,
        )
        .unwrap();
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1].1, "registry.example");
        let (s, p) = challenge_params(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!((s.as_str(), p.len()), ("basic", 1));
    }
}
