//! Webhook notifications: a JSON POST with retries (Slack-compatible
//! `{"text": ...}` as one format).

use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use super::error::DataError;
use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::{NotifySpec, notify_payload};
use crate::runbook::progress::Outcome;
use crate::runbook::secrets::redact_webhook;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Before retry n (1-based): 0.5s, 1s, 2s, ...
fn backoff(n: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(n.saturating_sub(1).min(5)))
}

/// POST `body` to `url`; 2xx is delivered. Retries `retries` times on a
/// failure. Returns the number of attempts, or why the last one failed.
pub async fn post(
    client: &Client,
    url: &str,
    body: &Value,
    retries: u32,
    mut on_retry: impl FnMut(u32, &str),
) -> Result<u32, DataError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let why = match client.post(url).json(body).timeout(TIMEOUT).send().await {
            Ok(r) if r.status().is_success() => return Ok(attempt),
            Ok(r) => format!("{} answered {}", redact_webhook(url), r.status()),
            Err(e) => {
                let e = e.without_url();
                format!(
                    "{} did not answer: {}",
                    redact_webhook(url),
                    crate::backend::http_client::innermost(&e)
                )
            }
        };
        if attempt > retries {
            return Err(DataError::Webhook {
                why,
                attempts: attempt,
            });
        }
        on_retry(attempt, &why);
        tokio::time::sleep(backoff(attempt)).await;
    }
}

pub async fn step(client: &Client, n: &NotifySpec, say: &mut Say<'_>) -> Outcome {
    let body = notify_payload(n.format, "notify", &n.message, json!({}));
    say.info(format!("POST {} ({:?})", redact_webhook(&n.url), n.format));
    let result = post(client, &n.url, &body, n.retries, |a, why| {
        say.info(format!("attempt {a}: {why}; retrying"))
    })
    .await;
    match result {
        Ok(attempts) => {
            say.info(format!("✓ delivered (attempt {attempts})"));
            success(format!("notified {}", redact_webhook(&n.url)))
        }
        Err(e) if n.required => failure(format!("notification failed: {e}")),
        Err(e) => {
            // Shown, but it never fails the release unless required.
            say.info(format!(
                "✗ notification failed: {e} (not required: going on)"
            ));
            success(format!("notification not delivered: {e}"))
        }
    }
}

/// Post a release event to a runbook-level hook (from `Command::Notify`)
/// and report how it went.
pub async fn hook(
    hook: crate::runbook::data::NotifyHook,
    event: String,
    body: Value,
    tx: tokio::sync::mpsc::UnboundedSender<crate::protocol::event::BackendEvent>,
) {
    let client = match crate::backend::http_client::http_client() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(crate::protocol::event::BackendEvent::Notified {
                event,
                url: redact_webhook(&hook.url),
                error: Some(format!("no HTTP client: {e}")),
                required: hook.required,
            });
            return;
        }
    };
    let result = post(&client, &hook.url, &body, hook.retries, |a, why| {
        tracing::info!("notify {event}: attempt {a}: {why}; retrying")
    })
    .await;
    let mut red = crate::runbook::data::Redactor::new();
    red.add_webhook(&hook.url);
    let error = result.err().map(|e| red.apply(&e.to_string()));
    if let Some(e) = &error {
        tracing::warn!("notify {event}: {e}");
    }
    let _ = tx.send(crate::protocol::event::BackendEvent::Notified {
        event,
        url: redact_webhook(&hook.url),
        error,
        required: hook.required,
    });
}
