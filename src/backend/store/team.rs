//! Team mode in the store: sign-offs decided inside the write transaction
//! (so 50 approvers at once cannot overfill a role or sign twice), the
//! driver's live output tail for watchers, environment history for
//! policies, and free-form audit events (break-glass, take-over).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{SignoffRefused, StoreError};
use super::signoff_rows;
use super::{Backend, Store};
use crate::runbook::GateSpec;
use crate::runbook::gates::{self, GateTally, Signoff};
use crate::runbook::identity::IdentityMode;

/// What a sign-off must satisfy, from the runbook the signer loaded.
#[derive(Debug, Clone, Copy)]
pub struct GateRule<'a> {
    pub spec: &'a GateSpec,
    /// Role -> people (runbook, else config); a role absent is open.
    pub members: &'a BTreeMap<String, Vec<String>>,
    /// The approval hash as the signer computed it (runbook + inputs).
    pub current_hash: &'a str,
}

/// A sign-off as stored, with its optional SSH signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSignoff {
    pub release_id: String,
    pub signoff: Signoff,
    pub signature: Option<String>,
}

/// One step's live output tail as the driver last published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOutput {
    pub step_id: String,
    pub attempt: u32,
    pub lines: Vec<String>,
}

fn signoff_row(row: &AnyRow) -> Result<SignedSignoff, StoreError> {
    let c = StoreError::corrupt("a signoffs row");
    Ok(SignedSignoff {
        release_id: row.try_get("release_id").map_err(&c)?,
        signoff: signoff_rows::read(row)?,
        signature: row.try_get("signature").map_err(&c)?,
    })
}

const SIGNOFF_COLUMNS: &str =
    "release_id, gate, person, host, role, decision, comment, approved_hash, at, signature";

impl Store {
    /// Record `s` if the gate's rules allow it, deciding under the journal's
    /// write lock (BEGIN IMMEDIATE on SQLite, the advisory lock on
    /// PostgreSQL): the initiator (as journaled) is refused, one person counts
    /// once per gate, a full role takes no more, a rejection needs a reason,
    /// an ended release takes nothing. The unique index on (release, gate,
    /// person, approved hash) backs this up. Returns the gate's tally after
    /// the write, or why it was refused (nothing written then).
    pub async fn record_signoff(
        &self,
        release_id: &str,
        s: &Signoff,
        signature: Option<&str>,
        rule: GateRule<'_>,
    ) -> Result<Result<GateTally, SignoffRefused>, StoreError> {
        self.record_signoff_as(release_id, s, signature, rule, IdentityMode::Claim)
            .await
    }

    /// `record_signoff` saying how the person was established (`identity`
    /// column and audit detail; on PostgreSQL a `database` one must be
    /// the session's role, which the database checks).
    pub async fn record_signoff_as(
        &self,
        release_id: &str,
        s: &Signoff,
        signature: Option<&str>,
        rule: GateRule<'_>,
        identity: IdentityMode,
    ) -> Result<Result<GateTally, SignoffRefused>, StoreError> {
        let _serial = self.append.lock().await;
        let mut tx = self.begin_write().await?;
        // Decided on the record, never on the index tables: the release,
        // its initiator and the gate's sign-offs as its verified audit
        // entries tell them (a row copied in by SQL counts for nothing).
        let (rec, _) = super::chain::release_record(&mut *tx, &self.key, release_id).await?;
        let Some(rec) = rec else {
            return Ok(Err(SignoffRefused::NoRelease(release_id.to_string())));
        };
        let initiator = rec
            .header
            .as_ref()
            .map(|h| h.opened.initiator.clone())
            .unwrap_or_default();
        if rec.status.is_final() {
            return Ok(Err(SignoffRefused::Ended {
                release: release_id.to_string(),
                status: rec.status.as_str(),
            }));
        }
        if s.approved_hash != rule.current_hash {
            return Ok(Err(SignoffRefused::StaleHash));
        }
        let recorded = rec.signoffs_for(&s.gate);
        let (mut existing, _) = gates::admissible(rule.spec, rule.members, &initiator, &recorded);
        if let Err(refusal) = gates::may_sign(
            rule.spec,
            rule.members,
            &existing,
            rule.current_hash,
            &initiator,
            &s.person,
            &s.role,
            s.decision,
            &s.comment,
        ) {
            return Ok(Err(SignoffRefused::Rule(refusal)));
        }
        if recorded
            .iter()
            .any(|x| x.person == s.person && x.approved_hash == s.approved_hash)
        {
            return Ok(Err(SignoffRefused::AlreadyDecided {
                person: s.person.clone(),
                gate: s.gate.clone(),
            }));
        }
        let seq = self.next_seq(&mut tx).await?;
        signoff_rows::insert(&mut tx, seq, release_id, s, signature, identity.as_str()).await?;
        let mut detail = signoff_rows::audit_detail(s);
        detail["signature"] = json!(signature);
        detail["identity"] = json!(identity.as_str());
        let detail = detail.to_string();
        let head = self
            .audit_in(&mut tx, release_id, "signoff", &detail, &s.person, &s.host)
            .await?;
        super::changes::in_tx(&mut tx, self.backend, release_id, "signoff").await?;
        tx.commit()
            .await
            .map_err(StoreError::query("committing a sign-off"))?;
        self.saw_head(head.0, &head.1);
        existing.push(s.clone());
        Ok(Ok(gates::tally(rule.spec, &existing, rule.current_hash)))
    }

    /// Every sign-off in the journal with its signature (for `verify`).
    pub async fn all_signoffs(&self) -> Result<Vec<SignedSignoff>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SIGNOFF_COLUMNS} FROM signoffs ORDER BY audit_seq"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("reading sign-offs"))?;
        rows.iter().map(signoff_row).collect()
    }

    /// Publish the driver's live output tail of a running step. Written only
    /// while `token` is the release's lease token; returns false otherwise.
    pub async fn publish_output(
        &self,
        release_id: &str,
        step_id: &str,
        attempt: u32,
        lines: &[String],
        token: i64,
    ) -> Result<bool, StoreError> {
        let err = StoreError::query(format!("publishing the output of {step_id}"));
        let mut tx = match self.backend {
            Backend::Sqlite => self.begin_write().await?,
            Backend::Postgres => self.pool.begin().await.map_err(&err)?,
        };
        let ok = sqlx::query(
            "SELECT token FROM release_leases WHERE release_id = $1 AND token = $2 AND released = 0",
        )
        .bind(release_id)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await
        .map_err(&err)?
        .is_some();
        if !ok {
            return Ok(false);
        }
        let text =
            serde_json::to_string(&super::apply::bound_output(lines)).expect("lines serialize");
        sqlx::query(
            "INSERT INTO live_output (release_id, step_id, attempt, lines, token, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (release_id, step_id) DO UPDATE SET \
             attempt = excluded.attempt, lines = excluded.lines, token = excluded.token, \
             updated_at = excluded.updated_at",
        )
        .bind(release_id)
        .bind(step_id)
        .bind(i64::from(attempt))
        .bind(text)
        .bind(token)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        super::changes::in_tx(&mut tx, self.backend, release_id, "output").await?;
        tx.commit().await.map_err(&err)?;
        Ok(true)
    }

    /// The live output tails of a release's steps.
    pub async fn live_outputs(&self, release_id: &str) -> Result<Vec<LiveOutput>, StoreError> {
        let rows =
            sqlx::query("SELECT step_id, attempt, lines FROM live_output WHERE release_id = $1")
                .bind(release_id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query("reading live output"))?;
        rows.iter()
            .map(|r| {
                let c = StoreError::corrupt("a live_output row");
                let lines: String = r.try_get("lines").map_err(&c)?;
                let attempt: i64 = r.try_get("attempt").map_err(&c)?;
                Ok(LiveOutput {
                    step_id: r.try_get("step_id").map_err(&c)?,
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    lines: serde_json::from_str(&lines).map_err(|e| {
                        StoreError::Corrupt(format!("live output is not a list of lines: {e}"))
                    })?,
                })
            })
            .collect()
    }

    /// Inputs of every release that succeeded in `environment` under the
    /// runbook content `runbook_hash`, newest first. Read from the chain
    /// (verified `release_started` and `release_ended` entries), never
    /// from the `releases` table: a forged row passes nothing.
    pub async fn succeeded_inputs(
        &self,
        runbook_hash: &str,
        environment: &str,
    ) -> Result<Vec<BTreeMap<String, String>>, StoreError> {
        let entries = self
            .entries_of_kinds(&["release_started", "release_ended"])
            .await?;
        let (records, _) = crate::runbook::record::fold_all(&entries);
        let mut passed: Vec<(i64, BTreeMap<String, String>)> = records
            .into_values()
            .filter(|r| r.status == crate::runbook::progress::ReleaseStatus::Succeeded)
            .filter_map(|r| r.header)
            .filter(|h| {
                h.opened.environment == environment && h.opened.runbook_hash == runbook_hash
            })
            .map(|h| (h.opened.started_at, h.opened.inputs))
            .collect();
        passed.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        Ok(passed.into_iter().map(|(_, inputs)| inputs).collect())
    }

    /// Journal a free-form event about a release in the audit log (e.g.
    /// `break_glass`), notifying watchers.
    pub async fn record_event(
        &self,
        release_id: &str,
        kind: &str,
        detail: &Value,
        actor: &str,
        host: &str,
    ) -> Result<(), StoreError> {
        let _serial = self.append.lock().await;
        let mut tx = self.begin_write().await?;
        let head = self
            .audit_in(&mut tx, release_id, kind, &detail.to_string(), actor, host)
            .await?;
        super::changes::in_tx(&mut tx, self.backend, release_id, kind).await?;
        tx.commit()
            .await
            .map_err(StoreError::query(format!("recording {kind}")))?;
        self.saw_head(head.0, &head.1);
        Ok(())
    }
}
