//! Live sharing between terminals. On PostgreSQL every journal write sends
//! `pg_notify('flightdeck', '<release id>\t<kind>')` in its own transaction,
//! so a listener hears of it exactly when it is committed (and never of a
//! rolled-back write). SQLite has no such channel: its readers re-read on a
//! short timer instead (see `subcommands::team`).

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{Any, Transaction};
use tokio::sync::mpsc::UnboundedSender;

use super::Backend;
use super::error::StoreError;

/// The one NOTIFY channel flightdeck uses.
pub const CHANNEL: &str = "flightdeck";

/// What changed, as heard from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A committed write to this release; `kind` is the audit kind
    /// (`step_started`, `signoff`, ...) or `lease` / `output`.
    Write { release_id: String, kind: String },
    /// The listener (re)connected: notifications may have been missed,
    /// so re-read everything.
    Resync,
}

/// Send the notification inside `tx` (PostgreSQL only; a no-op on SQLite).
pub(crate) async fn in_tx(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    release_id: &str,
    kind: &str,
) -> Result<(), StoreError> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("{release_id}\t{kind}"))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query("notifying other terminals"))?;
    Ok(())
}

pub(crate) fn parse_payload(payload: &str) -> Option<Change> {
    let (release_id, kind) = payload.split_once('\t')?;
    Some(Change::Write {
        release_id: release_id.to_string(),
        kind: kind.to_string(),
    })
}

/// Listen on `url` (a postgres:// URL) and forward every change of
/// `release_id` to `tx` until `tx` closes. Reconnects after a lost
/// connection (with a `Resync`, as notifications sent meanwhile are lost).
pub async fn listen(url: String, release_id: String, tx: UnboundedSender<Change>) {
    listen_to(url, Some(release_id), tx).await
}

/// `listen`, for every release (the home screen's lists).
pub async fn listen_all(url: String, tx: UnboundedSender<Change>) {
    listen_to(url, None, tx).await
}

async fn listen_to(url: String, release_id: Option<String>, tx: UnboundedSender<Change>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(
                    "LISTEN connection failed: {}",
                    super::redact(&e.to_string())
                );
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!("LISTEN failed: {}", super::redact(&e.to_string()));
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(200);
        if tx.send(Change::Resync).is_err() {
            return;
        }
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                got = listener.try_recv() => match got {
                    Ok(Some(n)) => {
                        if let Some(change) = parse_payload(n.payload())
                            && matches!(&change, Change::Write { release_id: r, .. }
                                if release_id.as_ref().is_none_or(|id| id == r))
                            && tx.send(change).is_err()
                        {
                            return;
                        }
                    }
                    // The connection dropped; the next try_recv reconnects.
                    Ok(None) => {
                        if tx.send(Change::Resync).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("LISTEN broke: {}", super::redact(&e.to_string()));
                        break;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        assert_eq!(
            parse_payload("r1\tsignoff"),
            Some(Change::Write {
                release_id: "r1".into(),
                kind: "signoff".into()
            })
        );
        assert_eq!(parse_payload("garbage"), None);
    }
}
