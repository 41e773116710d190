//! The `signoffs` table's rows: one insert for every path that records a
//! sign-off, one reader for every query that lists them. The table is an
//! index of the chain's `signoff` entries, never the record.

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::error::StoreError;
use crate::runbook::gates::{Decision, Signoff};

/// Insert the row of sign-off `s` (audit entry `seq`). `signature` and
/// `identity` are the evidence of team mode; a solo sign-off is a `claim`.
pub(super) async fn insert(
    tx: &mut Transaction<'static, Any>,
    seq: i64,
    release_id: &str,
    s: &Signoff,
    signature: Option<&str>,
    identity: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO signoffs (audit_seq, release_id, gate, person, host, role, decision, \
         comment, approved_hash, at, signature, identity) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(release_id)
    .bind(&s.gate)
    .bind(&s.person)
    .bind(&s.host)
    .bind(&s.role)
    .bind(s.decision.as_str())
    .bind(&s.comment)
    .bind(&s.approved_hash)
    .bind(s.at)
    .bind(signature)
    .bind(identity)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::query(format!(
        "recording {}'s sign-off at gate {} of release {release_id}",
        s.person, s.gate
    )))?;
    Ok(())
}

/// The sign-off of a `signoffs` row (its columns named as in `insert`).
pub(super) fn read(row: &AnyRow) -> Result<Signoff, StoreError> {
    let c = StoreError::corrupt("a signoffs row");
    let decision: String = row.try_get("decision").map_err(&c)?;
    Ok(Signoff {
        gate: row.try_get("gate").map_err(&c)?,
        person: row.try_get("person").map_err(&c)?,
        host: row.try_get("host").map_err(&c)?,
        role: row.try_get("role").map_err(&c)?,
        decision: Decision::parse(&decision)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown decision {decision:?}")))?,
        comment: row.try_get("comment").map_err(&c)?,
        approved_hash: row.try_get("approved_hash").map_err(&c)?,
        at: row.try_get("at").map_err(&c)?,
    })
}

/// The detail of a `signoff` audit entry (team mode adds its evidence:
/// `signature`, `identity`).
pub(super) fn audit_detail(s: &Signoff) -> Value {
    json!({
        "gate": s.gate,
        "person": s.person,
        "host": s.host,
        "role": s.role,
        "decision": s.decision.as_str(),
        "comment": s.comment,
        "approved_hash": s.approved_hash,
        "at": s.at,
    })
}
