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

/// Why an index row cannot be compared (it is then a finding itself).
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("{column} unreadable: {source}")]
    Column {
        column: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("inputs_json is not a map of text: {0}")]
    Inputs(#[source] serde_json::Error),
}

fn get<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T, Unreadable>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|source| Unreadable::Column { column, source })
}

type Records = BTreeMap<String, ReleaseRecord>;

/// The differences of a row from its fact, or why the row is unreadable.
type Compared = Result<Vec<String>, Unreadable>;

/// A row's differences, field by field as `fields` compares them.
fn compared(fields: impl FnOnce(&mut Diff) -> Result<(), Unreadable>) -> Compared {
    let mut d = Diff(Vec::new());
    fields(&mut d)?;
    Ok(d.0)
}

/// Every fact of one kind in the fold, by release: its identity and how
/// its missing row is named (`fact` says both for one).
fn facts_of<T>(
    records: &Records,
    list: impl Fn(&ReleaseRecord) -> &[T],
    fact: impl Fn(&str, &T) -> (String, String),
) -> Vec<(String, String)> {
    records
        .iter()
        .flat_map(|(rid, rec)| list(rec).iter().map(|x| fact(rid, x)))
        .collect()
}

/// One index table as `verify` compares it with the fold: how a row is
/// keyed and named, how its fields compare with the fold's fact, and which
/// facts the fold holds (each needs a row).
struct Table<K> {
    name: &'static str,
    sql: &'static str,
    key: fn(&AnyRow) -> Result<K, Unreadable>,
    /// How a finding names the row.
    label: fn(&K) -> String,
    /// What a finding says of a row no entry records.
    unrecorded: fn(&K) -> String,
    /// The row against the fold's fact for its key (field by field), or
    /// `None` when the fold has no such fact.
    compare: fn(&Records, &K, &AnyRow) -> Option<Compared>,
    /// The identity a row and a fact share, to find facts without a row.
    id: fn(&K) -> String,
    /// Every fact of the fold: its identity and how its missing row is named.
    facts: fn(&Records) -> Vec<(String, String)>,
}

impl Store {
    /// Every row of `releases`, `step_runs`, `signoffs` and
    /// `resume_choices` that disagrees with `records` (the fold of the
    /// verified entries), and every folded fact that has no row.
    pub async fn disagreements(&self, records: &Records) -> Result<Vec<Disagreement>, StoreError> {
        let mut found = Vec::new();
        self.check(releases(), records, &mut found).await?;
        self.check(step_runs(), records, &mut found).await?;
        self.check(signoffs(), records, &mut found).await?;
        self.check(resume_choices(), records, &mut found).await?;
        Ok(found)
    }

    async fn check<K>(
        &self,
        t: Table<K>,
        records: &Records,
        found: &mut Found,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(t.sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("reading {}", t.name)))?;
        let mut push = |what: String| {
            found.push(Disagreement {
                table: t.name,
                what,
            })
        };
        let mut seen = BTreeSet::new();
        for row in &rows {
            let key = match (t.key)(row) {
                Ok(k) => k,
                Err(e) => {
                    push(e.to_string());
                    continue;
                }
            };
            let label = (t.label)(&key);
            let Some(diff) = (t.compare)(records, &key, row) else {
                push(format!("{label}: {}", (t.unrecorded)(&key)));
                continue;
            };
            seen.insert((t.id)(&key));
            for what in diff.unwrap_or_else(|e| vec![e.to_string()]) {
                push(format!("{label}: {what}"));
            }
        }
        for (id, missing) in (t.facts)(records) {
            if !seen.contains(&id) {
                push(missing);
            }
        }
        Ok(())
    }
}

fn releases() -> Table<String> {
    Table {
        name: "releases",
        sql: "SELECT id, runbook_name, runbook_path, runbook_hash, environment, inputs_json, \
              initiator, host, status, started_at, finished_at FROM releases ORDER BY id",
        key: |row| get(row, "id"),
        label: |id| id.clone(),
        unrecorded: |_| "no audit entry records this release".into(),
        compare: |records, id, row| {
            let rec = records.get(id)?;
            let Some(h) = &rec.header else {
                return Some(Ok(Vec::new()));
            };
            Some(compared(|d| {
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
                let inputs: BTreeMap<String, String> =
                    serde_json::from_str(&inputs).map_err(Unreadable::Inputs)?;
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
                Ok(())
            }))
        },
        id: |id| id.clone(),
        facts: |records| {
            records
                .keys()
                .map(|id| {
                    (
                        id.clone(),
                        format!("{id}: missing, though the audit log records this release"),
                    )
                })
                .collect()
        },
    }
}

fn step_runs() -> Table<(String, String, i64)> {
    Table {
        name: "step_runs",
        sql: "SELECT release_id, step_id, attempt, started_at, finished_at, status, exit_code, \
              detail, audit_seq FROM step_runs ORDER BY audit_seq",
        key: |row| {
            Ok((
                get(row, "release_id")?,
                get(row, "step_id")?,
                get(row, "attempt")?,
            ))
        },
        label: |(rid, step, attempt)| format!("for release {rid} step {step} attempt {attempt}"),
        unrecorded: |_| "no audit entry records it".into(),
        compare: |records, (rid, step, attempt), row| {
            let a = records.get(rid).and_then(|r| {
                r.attempts
                    .iter()
                    .find(|a| &a.step_id == step && i64::from(a.attempt) == *attempt)
            })?;
            Some(compared(|d| {
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
                Ok(())
            }))
        },
        id: |(rid, step, attempt)| format!("{rid}\0{step}\0{attempt}"),
        facts: |records| {
            facts_of(
                records,
                |r| &r.attempts,
                |rid, a| {
                    (
                        format!("{rid}\0{}\0{}", a.step_id, a.attempt),
                        format!(
                            "for release {rid} step {} attempt {}: missing, though audit entry {} records it",
                            a.step_id, a.attempt, a.seq
                        ),
                    )
                },
            )
        },
    }
}

fn signoffs() -> Table<(i64, String, String, String)> {
    Table {
        name: "signoffs",
        sql: "SELECT audit_seq, release_id, gate, person, host, role, decision, comment, \
              approved_hash, at, signature FROM signoffs ORDER BY audit_seq",
        key: |row| {
            Ok((
                get(row, "audit_seq")?,
                get(row, "release_id")?,
                get(row, "gate")?,
                get(row, "person")?,
            ))
        },
        label: |(_, rid, gate, person)| format!("for release {rid} gate {gate} by {person}"),
        unrecorded: |(seq, ..)| format!("no audit entry records it (audit_seq {seq})"),
        compare: |records, (seq, rid, gate, person), row| {
            let s = records
                .get(rid)
                .and_then(|r| r.signoffs.iter().find(|s| s.seq == *seq))?;
            Some(compared(|d| {
                let x = &s.signoff;
                d.field("gate", gate, &x.gate);
                d.field("person", person, &x.person);
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
                Ok(())
            }))
        },
        id: |(seq, ..)| seq.to_string(),
        facts: |records| {
            facts_of(
                records,
                |r| &r.signoffs,
                |rid, s| {
                    (
                        s.seq.to_string(),
                        format!(
                            "for release {rid} gate {} by {}: missing, though audit entry {} records it",
                            s.signoff.gate, s.signoff.person, s.seq
                        ),
                    )
                },
            )
        },
    }
}

fn resume_choices() -> Table<(i64, String, String)> {
    Table {
        name: "resume_choices",
        sql: "SELECT audit_seq, release_id, step_id, choice, person, host, at \
              FROM resume_choices ORDER BY audit_seq",
        key: |row| {
            Ok((
                get(row, "audit_seq")?,
                get(row, "release_id")?,
                get(row, "step_id")?,
            ))
        },
        label: |(_, rid, step)| format!("for release {rid} step {step}"),
        unrecorded: |(seq, ..)| format!("no audit entry records it (audit_seq {seq})"),
        compare: |records, (seq, rid, step), row| {
            let c = records
                .get(rid)
                .and_then(|r| r.resume_choices.iter().find(|c| c.seq == *seq))?;
            Some(compared(|d| {
                d.field("step_id", step, &c.step_id);
                d.field("choice", &get::<String>(row, "choice")?, &c.choice);
                d.field("person", &get::<String>(row, "person")?, &c.person);
                d.field("host", &get::<String>(row, "host")?, &c.host);
                d.field("at", &get::<i64>(row, "at")?, &c.at);
                Ok(())
            }))
        },
        id: |(seq, ..)| seq.to_string(),
        facts: |records| {
            facts_of(
                records,
                |r| &r.resume_choices,
                |rid, c| {
                    (
                        c.seq.to_string(),
                        format!(
                            "for release {rid} step {}: missing, though audit entry {} records it",
                            c.step_id, c.seq
                        ),
                    )
                },
            )
        },
    }
}
