//! Running the data step kinds (`runbook::data`): service checks,
//! migrations, backups, smoke suites, load, metric queries, notifications.
//!
//! Every line goes through a `Redactor` built from the step's secrets
//! (passwords in DSNs and URLs, a Redis password) before it is emitted, and
//! so does every failure reason.

pub mod error;
pub mod http;
pub mod pg;
pub mod prom;
pub mod redis;
pub mod registry;
pub mod report;
pub mod tls;
pub mod webhook;

pub use self::error::DataError;
use super::outcome::{Say, failure};

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Client;
use tokio::time::{Instant, sleep_until};

use super::http_client::HttpClientError;
use super::process::CancelSignal;
use crate::protocol::output::Stream;
use crate::runbook::data::{DataAction, DataCheck, Redactor};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

/// The outcome with every secret masked in its texts.
pub fn redact_outcome(o: Outcome, red: &Redactor) -> Outcome {
    match o {
        Outcome::Success { exit_code, note } => Outcome::Success {
            exit_code,
            note: note.map(|n| red.apply(&n)),
        },
        Outcome::Failure { reason, exit_code } => Outcome::Failure {
            reason: red.apply(&reason),
            exit_code,
        },
        Outcome::Inconclusive { reason } => Outcome::Inconclusive {
            reason: red.apply(&reason),
        },
    }
}

/// The secrets of a check.
pub fn check_secrets(c: &DataCheck) -> Redactor {
    let mut r = Redactor::new();
    match c {
        DataCheck::Postgres(p) => r.add_url(&p.dsn),
        DataCheck::Redis(x) => {
            r.add_url(&x.address);
            if let Some(pw) = &x.password {
                r.add(pw);
            }
        }
        DataCheck::Registry(x) => {
            r.add_url(&x.url);
            if let Some(pw) = &x.password {
                r.add(pw);
            }
        }
        DataCheck::Tls(_) => {}
        DataCheck::Prometheus(p) => r.add_url(&p.url),
    }
    r
}

/// The secrets of an action.
pub fn action_secrets(a: &DataAction) -> Redactor {
    let mut r = Redactor::new();
    match a {
        DataAction::Migrate(m) => r.add_url(&m.dsn),
        DataAction::Backup(b) => r.add_url(&b.dsn),
        DataAction::Restore(x) => r.add_url(&x.dsn),
        DataAction::Smoke(s) => r.add_url(&s.base_url),
        DataAction::Load(l) => r.add_url(&l.url),
        DataAction::Prometheus(p) => r.add_url(&p.url),
        DataAction::Notify(n) => r.add_webhook(&n.url),
    }
    r
}

/// Run a data check (bounded by the caller's timeout and cancel).
/// Boxed and `Send`, so the step tasks that await it stay `Send`.
pub type BoxedOutcome<'a> = std::pin::Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub fn run_check<'a>(
    c: &'a DataCheck,
    http: &'a Result<Client, HttpClientError>,
    timeout: Option<Duration>,
    sink: &'a mut (dyn FnMut(Stream, String) + Send),
) -> BoxedOutcome<'a> {
    Box::pin(check_inner(c, http, timeout, sink))
}

async fn check_inner(
    c: &DataCheck,
    http: &Result<Client, HttpClientError>,
    timeout: Option<Duration>,
    sink: &mut (dyn FnMut(Stream, String) + Send),
) -> Outcome {
    let red = check_secrets(c);
    let mut say = Say::new(&red, sink);
    let client = || {
        http.as_ref()
            .map_err(|e| failure(format!("no HTTP client: {e}")))
    };
    let outcome = match c {
        DataCheck::Postgres(p) => pg::check(p, &mut say).await,
        DataCheck::Redis(r) => redis::check(r, &mut say).await,
        DataCheck::Registry(r) => match client() {
            Ok(cl) => registry::check(cl, r, &mut say).await,
            Err(o) => o,
        },
        DataCheck::Tls(t) => tls::check(t, &mut say).await,
        DataCheck::Prometheus(p) => match client() {
            Ok(cl) => prom::run(cl, p, timeout, &mut say).await,
            Err(o) => o,
        },
    };
    redact_outcome(outcome, &red)
}

/// Run a data step, bounded by `timeout` and `cancel`.
pub fn run_action<'a>(
    a: &'a DataAction,
    env: &'a BTreeMap<String, String>,
    timeout: Option<Duration>,
    cancel: CancelSignal,
    sink: &'a mut (dyn FnMut(Stream, String) + Send),
) -> BoxedOutcome<'a> {
    Box::pin(action_inner(a, env, timeout, cancel, sink))
}

async fn action_inner(
    a: &DataAction,
    env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    mut cancel: CancelSignal,
    sink: &mut (dyn FnMut(Stream, String) + Send),
) -> Outcome {
    let red = action_secrets(a);
    let http = super::http_client::http_client();
    let deadline = timeout.map(|t| Instant::now() + t);
    let outcome = {
        let mut say = Say::new(&red, sink);
        let tool_cancel = cancel.clone();
        let work = async {
            let client = match &http {
                Ok(c) => c,
                Err(e) => return failure(format!("no HTTP client: {e}")),
            };
            match a {
                DataAction::Migrate(m) => pg::migrate(m, env, timeout, tool_cancel, &mut say).await,
                DataAction::Backup(b) => pg::backup(b, &mut say).await,
                DataAction::Restore(r) => pg::restore(r, &mut say).await,
                DataAction::Smoke(s) => http::smoke(client, s, &mut say).await,
                DataAction::Load(l) => http::load(client, l, &mut say).await,
                DataAction::Prometheus(p) => prom::run(client, p, timeout, &mut say).await,
                DataAction::Notify(n) => webhook::step(client, n, &mut say).await,
            }
        };
        // A sustained metric check ends by itself at its deadline.
        let slack = match a {
            DataAction::Prometheus(_) => Duration::from_secs(1),
            _ => Duration::ZERO,
        };
        tokio::select! {
            o = work => o,
            _ = cancel.cancelled() => failure("cancelled"),
            _ = async {
                match deadline {
                    Some(d) => sleep_until(d + slack).await,
                    None => std::future::pending().await,
                }
            } => failure(format!("timed out after {}", format_duration(timeout.unwrap_or_default()))),
        }
    };
    redact_outcome(outcome, &red)
}

/// `gates::approval_hash` with each migrate step's directory contents
/// folded in: a sign-off lapses when the migrations it approved change.
/// Directories are read relative to the working directory; one that names
/// `${...}` or cannot be read counts by its text alone.
pub fn approval_hash(
    rb: &crate::runbook::Runbook,
    runbook_hash: &str,
    environment: &str,
    inputs: &BTreeMap<String, String>,
) -> String {
    use crate::runbook::data::{approval_inputs, migrate_dirs, migration_digest};
    let digests: Vec<(String, String)> = migrate_dirs(rb)
        .into_iter()
        .map(|(step, dir)| {
            let digest = if dir.contains("${") {
                format!("unresolved {dir}")
            } else {
                match pg::migration_files(std::path::Path::new(&dir)) {
                    Ok(files) => migration_digest(&files),
                    Err(e) => format!("unreadable {dir}: {}", e.kind()),
                }
            };
            (step, digest)
        })
        .collect();
    crate::runbook::gates::approval_hash(
        runbook_hash,
        environment,
        &approval_inputs(inputs, &digests),
    )
}
