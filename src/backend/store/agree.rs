//! `verify`'s second half: every row of the index tables must agree with
//! the fold of the verified audit entries. A row no entry explains is
//! foreign (e.g. a sign-off copied in by SQL); a row that says otherwise
//! was edited.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::StoreError;
use crate::runbook::record::ReleaseRecord;

/// One row (or missing row) that does not agree with the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub table: &'static str,
    pub what: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}", self.table, self.what)
    }
}

fn show<T: fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

/// Compare named fields; each difference becomes one phrase.
struct Diff(Vec<String>);

impl Diff {
    fn field<T: PartialEq + fmt::Debug>(&mut self, name: &str, row: &T, fold: &T) {
        if row != fold {
            self.0.push(format!(
                "{name} is {} but the audit log says {}",
                show(row),
                show(fold)
            ));
        }
    }
}

type Found = Vec<Disagreement>;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, String>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| format!("{col} unreadable: {e}"))
}

impl Store {
    /// Every row of `releases`, `step_runs`, `signoffs` and
    /// `resume_choices` that disagrees with `records` (the fold of the
    /// verified entries), and every folded fact that has no row.
    pub async fn disagreements(
        &self,
        records: &BTreeMap<String, ReleaseRecord>,
    ) -> Result<Vec<Disagreement>, StoreError> {
        let mut found = Vec::new();
        self.check_releases(records, &mut found).await?;
        self.check_step_runs(records, &mut found).await?;
        self.check_signoffs(records, &mut found).await?;
        self.check_resume_choices(records, &mut found).await?;
        Ok(found)
    }

    async fn rows(&self, sql: &'static str, what: &str) -> Result<Vec<AnyRow>, StoreError> {
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("reading {what}")))
    }

    async fn check_releases(
        &self,
        records: &BTreeMap<String, ReleaseRecord>,
        found: &mut Found,
    ) -> Result<(), StoreError> {
        let rows = self
            .rows(
                "SELECT id, runbook_name, runbook_path, runbook_hash, environment, inputs_json, \
                 initiator, host, status, started_at, finished_at FROM releases ORDER BY id",
                "releases",
            )
            .await?;
        let mut seen = BTreeSet::new();
        for row in &rows {
            let id: String = match get(row, "id") {
                Ok(id) => id,
                Err(e) => {
                    found.push(Disagreement {
                        table: "releases",
                        what: e,
                    });
                    continue;
                }
            };
            seen.insert(id.clone());
            let Some(rec) = records.get(&id) else {
                found.push(Disagreement {
                    table: "releases",
                    what: format!("{id}: no audit entry records this release"),
                });
                continue;
            };
            let Some(h) = &rec.header else { continue };
            let diff = (|| -> Result<Vec<String>, String> {
                let mut d = Diff(Vec::new());
                let o = &h.opened;
                d.field(
                    "runbook_name",
                    &get::<String>(row, "runbook_name")?,
                    &o.runbook_name,
                );
                d.field(
                    "runbook_path",
                    &get::<String>(row, "runbook_path")?,
                    &o.runbook_path,
                );
                d.field(
                    "runbook_hash",
                    &get::<String>(row, "runbook_hash")?,
                    &o.runbook_hash,
                );
                d.field(
                    "environment",
                    &get::<String>(row, "environment")?,
                    &o.environment,
                );
                let inputs: String = get(row, "inputs_json")?;
                let inputs: BTreeMap<String, String> = serde_json::from_str(&inputs)
                    .map_err(|e| format!("inputs_json is not a map of text: {e}"))?;
                d.field("inputs", &inputs, &o.inputs);
                d.field("initiator", &get::<String>(row, "initiator")?, &o.initiator);
                d.field("host", &get::<String>(row, "host")?, &h.host);
                d.field(
                    "status",
                    &get::<String>(row, "status")?,
                    &rec.status.as_str().to_string(),
                );
                d.field("started_at", &get::<i64>(row, "started_at")?, &o.started_at);
                d.field(
                    "finished_at",
                    &get::<Option<i64>>(row, "finished_at")?,
                    &rec.finished_at,
                );
                Ok(d.0)
            })();
            for what in diff.unwrap_or_else(|e| vec![e]) {
                found.push(Disagreement {
                    table: "releases",
                    what: format!("{id}: {what}"),
                });
            }
        }
        for id in records.keys().filter(|id| !seen.contains(*id)) {
            found.push(Disagreement {
                table: "releases",
                what: format!("{id}: missing, though the audit log records this release"),
            });
        }
        Ok(())
    }

    async fn check_step_runs(
        &self,
        records: &BTreeMap<String, ReleaseRecord>,
        found: &mut Found,
    ) -> Result<(), StoreError> {
        let rows = self
            .rows(
                "SELECT release_id, step_id, attempt, started_at, finished_at, status, exit_code, \
                 detail, audit_seq FROM step_runs ORDER BY audit_seq",
                "step_runs",
            )
            .await?;
        let mut seen = BTreeSet::new();
        for row in &rows {
            let key = (|| -> Result<(String, String, i64), String> {
                Ok((
                    get(row, "release_id")?,
                    get(row, "step_id")?,
                    get(row, "attempt")?,
                ))
            })();
            let (rid, step, attempt) = match key {
                Ok(k) => k,
                Err(e) => {
                    found.push(Disagreement {
                        table: "step_runs",
                        what: e,
                    });
                    continue;
                }
            };
            let name = format!("for release {rid} step {step} attempt {attempt}");
            let fold = records.get(&rid).and_then(|r| {
                r.attempts
                    .iter()
                    .find(|a| a.step_id == step && i64::from(a.attempt) == attempt)
            });
            let Some(a) = fold else {
                found.push(Disagreement {
                    table: "step_runs",
                    what: format!("{name}: no audit entry records it"),
                });
                continue;
            };
            seen.insert((rid.clone(), step.clone(), attempt));
            let diff = (|| -> Result<Vec<String>, String> {
                let mut d = Diff(Vec::new());
                d.field(
                    "status",
                    &get::<String>(row, "status")?,
                    &a.state.as_str().to_string(),
                );
                d.field(
                    "started_at",
                    &get::<Option<i64>>(row, "started_at")?,
                    &a.started_at,
                );
                d.field(
                    "finished_at",
                    &get::<Option<i64>>(row, "finished_at")?,
                    &a.finished_at,
                );
                d.field(
                    "exit_code",
                    &get::<Option<i64>>(row, "exit_code")?,
                    &a.exit_code.map(i64::from),
                );
                d.field("detail", &get::<Option<String>>(row, "detail")?, &a.detail);
                d.field("audit_seq", &get::<i64>(row, "audit_seq")?, &a.seq);
                Ok(d.0)
            })();
            for what in diff.unwrap_or_else(|e| vec![e]) {
                found.push(Disagreement {
                    table: "step_runs",
                    what: format!("{name}: {what}"),
                });
            }
        }
        for (rid, rec) in records {
            for a in &rec.attempts {
                if !seen.contains(&(rid.clone(), a.step_id.clone(), i64::from(a.attempt))) {
                    found.push(Disagreement {
                        table: "step_runs",
                        what: format!(
                            "for release {rid} step {} attempt {}: missing, though audit entry {} records it",
                            a.step_id, a.attempt, a.seq
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    async fn check_signoffs(
        &self,
        records: &BTreeMap<String, ReleaseRecord>,
        found: &mut Found,
    ) -> Result<(), StoreError> {
        let rows = self
            .rows(
                "SELECT audit_seq, release_id, gate, person, host, role, decision, comment, \
                 approved_hash, at, signature FROM signoffs ORDER BY audit_seq",
                "signoffs",
            )
            .await?;
        let mut seen = BTreeSet::new();
        for row in &rows {
            let key = (|| -> Result<(i64, String, String, String), String> {
                Ok((
                    get(row, "audit_seq")?,
                    get(row, "release_id")?,
                    get(row, "gate")?,
                    get(row, "person")?,
                ))
            })();
            let (seq, rid, gate, person) = match key {
                Ok(k) => k,
                Err(e) => {
                    found.push(Disagreement {
                        table: "signoffs",
                        what: e,
                    });
                    continue;
                }
            };
            let name = format!("for release {rid} gate {gate} by {person}");
            let fold = records
                .get(&rid)
                .and_then(|r| r.signoffs.iter().find(|s| s.seq == seq));
            let Some(s) = fold else {
                found.push(Disagreement {
                    table: "signoffs",
                    what: format!("{name}: no audit entry records it (audit_seq {seq})"),
                });
                continue;
            };
            seen.insert(seq);
            let diff = (|| -> Result<Vec<String>, String> {
                let x = &s.signoff;
                let mut d = Diff(Vec::new());
                d.field("gate", &gate, &x.gate);
                d.field("person", &person, &x.person);
                d.field("host", &get::<String>(row, "host")?, &x.host);
                d.field("role", &get::<String>(row, "role")?, &x.role);
                d.field(
                    "decision",
                    &get::<String>(row, "decision")?,
                    &x.decision.as_str().to_string(),
                );
                d.field("comment", &get::<String>(row, "comment")?, &x.comment);
                d.field(
                    "approved_hash",
                    &get::<String>(row, "approved_hash")?,
                    &x.approved_hash,
                );
                d.field("at", &get::<i64>(row, "at")?, &x.at);
                d.field(
                    "signature",
                    &get::<Option<String>>(row, "signature")?,
                    &s.signature,
                );
                Ok(d.0)
            })();
            for what in diff.unwrap_or_else(|e| vec![e]) {
                found.push(Disagreement {
                    table: "signoffs",
                    what: format!("{name}: {what}"),
                });
            }
        }
        for (rid, rec) in records {
            for s in rec.signoffs.iter().filter(|s| !seen.contains(&s.seq)) {
                found.push(Disagreement {
                    table: "signoffs",
                    what: format!(
                        "for release {rid} gate {} by {}: missing, though audit entry {} records it",
                        s.signoff.gate, s.signoff.person, s.seq
                    ),
                });
            }
        }
        Ok(())
    }

    async fn check_resume_choices(
        &self,
        records: &BTreeMap<String, ReleaseRecord>,
        found: &mut Found,
    ) -> Result<(), StoreError> {
        let rows = self
            .rows(
                "SELECT audit_seq, release_id, step_id, choice, person, host, at \
                 FROM resume_choices ORDER BY audit_seq",
                "resume_choices",
            )
            .await?;
        let mut seen = BTreeSet::new();
        for row in &rows {
            let key = (|| -> Result<(i64, String, String), String> {
                Ok((
                    get(row, "audit_seq")?,
                    get(row, "release_id")?,
                    get(row, "step_id")?,
                ))
            })();
            let (seq, rid, step) = match key {
                Ok(k) => k,
                Err(e) => {
                    found.push(Disagreement {
                        table: "resume_choices",
                        what: e,
                    });
                    continue;
                }
            };
            let name = format!("for release {rid} step {step}");
            let fold = records
                .get(&rid)
                .and_then(|r| r.resume_choices.iter().find(|c| c.seq == seq));
            let Some(c) = fold else {
                found.push(Disagreement {
                    table: "resume_choices",
                    what: format!("{name}: no audit entry records it (audit_seq {seq})"),
                });
                continue;
            };
            seen.insert(seq);
            let diff = (|| -> Result<Vec<String>, String> {
                let mut d = Diff(Vec::new());
                d.field("step_id", &step, &c.step_id);
                d.field("choice", &get::<String>(row, "choice")?, &c.choice);
                d.field("person", &get::<String>(row, "person")?, &c.person);
                d.field("host", &get::<String>(row, "host")?, &c.host);
                d.field("at", &get::<i64>(row, "at")?, &c.at);
                Ok(d.0)
            })();
            for what in diff.unwrap_or_else(|e| vec![e]) {
                found.push(Disagreement {
                    table: "resume_choices",
                    what: format!("{name}: {what}"),
                });
            }
        }
        for (rid, rec) in records {
            for c in rec.resume_choices.iter().filter(|c| !seen.contains(&c.seq)) {
                found.push(Disagreement {
                    table: "resume_choices",
                    what: format!(
                        "for release {rid} step {}: missing, though audit entry {} records it",
                        c.step_id, c.seq
                    ),
                });
            }
        }
        Ok(())
    }
}
