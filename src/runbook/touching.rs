//! Which Deployments a release touches, and how far it has got, for
//! `flightdeck watch`: from the release's verified record (the fold of its
//! audit entries) and the kube steps of its runbook as it ran. Pure.

use super::interpolate::Scope;
use super::kube::KubeOp;
use super::model::{Runbook, StepAction};
use super::progress::ReleaseStatus;
use super::record::{ReleaseRecord, RunState};

/// A Deployment a kube step names: namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeploymentRef {
    pub namespace: String,
    pub name: String,
}

/// One release touching one Deployment, as the watch list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TouchingRelease {
    pub id: String,
    pub runbook: String,
    pub environment: String,
    /// 1-based position of the current step (0: none yet), of `steps`.
    pub step: usize,
    pub steps: usize,
    pub step_id: String,
    /// Who drives it: the last lease holder, else its initiator.
    pub driver: String,
    /// "running", "waiting for a person", "failed", "interrupted"...
    pub state: String,
    pub namespace: String,
    pub deployment: String,
}

impl TouchingRelease {
    /// "r1 · demo/prod · step 3/7 · alice · running".
    pub fn line(&self) -> String {
        format!(
            "{} · {}/{} · step {}/{} {} · {} · {}",
            self.id,
            self.runbook,
            self.environment,
            self.step,
            self.steps,
            self.step_id,
            self.driver,
            self.state
        )
    }
}

/// The Deployments the runbook's kube steps name, in order, without
/// repeats, `${..}` filled from `values` (the release's recorded inputs).
/// A step's namespace wins, then the environment's pin, then `default_ns`
/// (the cluster namespace the driver recorded); a name or namespace with a
/// value not known here (only the driver's environment had it) is left out.
pub fn touched(
    rb: &Runbook,
    environment: &str,
    default_ns: Option<&str>,
    values: &Scope,
) -> Vec<DeploymentRef> {
    let pinned = rb
        .environment(environment)
        .and_then(|e| e.kube.as_ref())
        .and_then(|k| k.namespace.clone());
    let mut out: Vec<DeploymentRef> = Vec::new();
    for step in rb.steps() {
        if step.when.as_ref().is_some_and(|w| !w.applies(environment)) {
            continue;
        }
        let StepAction::Kube(k) = &step.action else {
            continue;
        };
        let name = match &k.op {
            KubeOp::Rollout { deployment, .. }
            | KubeOp::Wait { deployment }
            | KubeOp::Restart { deployment, .. }
            | KubeOp::Scale { deployment, .. }
            | KubeOp::Undo { deployment, .. } => deployment.clone(),
            KubeOp::Patch { kind, name, .. } if kind == "Deployment" => name.clone(),
            KubeOp::Patch { .. } => continue,
        };
        let ns = k
            .namespace
            .clone()
            .or_else(|| pinned.clone())
            .or_else(|| default_ns.map(str::to_string));
        let Some(namespace) = ns else { continue };
        let (Ok(name), Ok(namespace)) = (values.render(&name), values.render(&namespace)) else {
            continue;
        };
        if name.is_empty() || namespace.is_empty() {
            continue;
        }
        let d = DeploymentRef { namespace, name };
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Where a release stands: (1-based current step, step count, its id,
/// state in words). The current step is the first one not settled, as
/// `Release::current` decides it.
pub fn progress(rec: &ReleaseRecord, rb: &Runbook) -> (usize, usize, String, String) {
    let steps = rb.step_count();
    if rec.status.is_final() {
        return (steps, steps, String::new(), rec.status.as_str().to_string());
    }
    for (i, step) in rb.steps().enumerate() {
        // The latest write decides (a skip as attempt 0 after attempt 1).
        let latest = rec
            .attempts
            .iter()
            .filter(|a| a.step_id == step.id)
            .max_by_key(|a| a.seq);
        let state = match latest.map(|a| a.state) {
            Some(RunState::Succeeded | RunState::Skipped) => continue,
            Some(RunState::Failed) if step.continue_on_failure => continue,
            None => "pending",
            Some(RunState::Started) if step.action.needs_person() => "waiting for a person",
            Some(RunState::Started) => "running",
            Some(RunState::Failed) => "failed",
            Some(RunState::Inconclusive) => "inconclusive",
        };
        return (i + 1, steps, step.id.clone(), state.to_string());
    }
    (
        steps,
        steps,
        String::new(),
        ReleaseStatus::Running.as_str().to_string(),
    )
}

/// The rows for one unfinished release: one per Deployment it touches.
pub fn rows(
    rec: &ReleaseRecord,
    rb: &Runbook,
    default_ns: Option<&str>,
    values: &Scope,
) -> Vec<TouchingRelease> {
    let Some(h) = &rec.header else {
        return Vec::new();
    };
    let (step, steps, step_id, state) = progress(rec, rb);
    let driver = rec
        .leases
        .last()
        .map(|l| l.holder.clone())
        .unwrap_or_else(|| h.opened.initiator.clone());
    touched(rb, &h.opened.environment, default_ns, values)
        .into_iter()
        .map(|d| TouchingRelease {
            id: rec.id.clone(),
            runbook: h.opened.runbook_name.clone(),
            environment: h.opened.environment.clone(),
            step,
            steps,
            step_id: step_id.clone(),
            driver: driver.clone(),
            state: state.clone(),
            namespace: d.namespace,
            deployment: d.name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::runbook::record::{Entry, fold};

    const RB: &str = r#"name: shop
environments:
  prod:
    kube: { namespace: shop }
  dev: {}
stages:
  - id: s
    title: S
    steps:
      - id: approve
        title: Approve
        gate: { roles: { lead: 1 } }
      - id: roll
        title: Roll
        kube.restart: { deployment: web }
      - id: patch
        title: Patch
        kube.patch:
          kind: Deployment
          api_version: apps/v1
          name: api
          namespace: edge
          patch: { spec: { replicas: 2 } }
      - id: later
        title: Later
        kube.wait: { deployment: "${env.NEXT_APP}" }
"#;

    fn rb() -> Runbook {
        crate::runbook::parse_str(RB, Path::new("shop.yaml"))
            .unwrap()
            .runbook
    }

    fn entry(seq: i64, kind: &str, detail: serde_json::Value) -> Entry {
        Entry {
            stamp: crate::runbook::record::Stamp {
                seq,
                release_id: Some("r1".into()),
                at: seq,
                actor: "alice".into(),
                host: "h".into(),
                kind: kind.into(),
            },
            detail,
        }
    }

    fn opened() -> Entry {
        entry(
            1,
            "release_started",
            json!({"runbook_name": "shop", "runbook_path": "shop.yaml", "runbook_hash": "h",
                   "environment": "prod", "inputs": {}, "initiator": "alice", "started_at": 1}),
        )
    }

    #[test]
    fn kube_steps_name_their_deployments_with_the_namespace_that_wins() {
        let none = Scope::default();
        let got = touched(&rb(), "prod", Some("default"), &none);
        let names: Vec<(&str, &str)> = got
            .iter()
            .map(|d| (d.namespace.as_str(), d.name.as_str()))
            .collect();
        // The pin, then the step's own namespace; `${..}` left out.
        assert_eq!(names, [("shop", "web"), ("edge", "api")]);
        let dev = touched(&rb(), "dev", Some("team-ns"), &none);
        assert_eq!(dev[0].namespace, "team-ns");
        assert!(
            touched(&rb(), "dev", None, &none)
                .iter()
                .all(|d| d.name != "web")
        );
        let mut known = Scope::default();
        known.env.insert("NEXT_APP".into(), "cart".into());
        let got = touched(&rb(), "prod", None, &known);
        assert_eq!(got[2].name, "cart", "{got:?}");
        assert_eq!(got[2].namespace, "shop");
    }

    #[test]
    fn progress_reads_the_record_and_the_driver_is_the_last_lease_holder() {
        let rb = rb();
        let (rec, _) = fold("r1", &[opened()]);
        let rec = rec.unwrap();
        assert_eq!(
            progress(&rec, &rb),
            (1, 4, "approve".into(), "pending".into())
        );
        let mut es = vec![
            opened(),
            entry(
                2,
                "step_started",
                json!({"step_id": "approve", "attempt": 1, "at": 2}),
            ),
        ];
        let (rec, _) = fold("r1", &es);
        assert_eq!(progress(&rec.unwrap(), &rb).3, "waiting for a person");
        es.push(entry(
            3,
            "step_finished",
            json!({"step_id": "approve", "attempt": 1, "status": "succeeded", "at": 3}),
        ));
        es.push(entry(
            4,
            "step_started",
            json!({"step_id": "roll", "attempt": 1, "at": 4}),
        ));
        es.push(entry(
            5,
            "lease_taken_over",
            json!({"token": 2, "holder": "bob", "host": "h2"}),
        ));
        let (rec, _) = fold("r1", &es);
        let rec = rec.unwrap();
        let rows = rows(&rec, &rb, None, &Scope::default());
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].step, rows[0].steps, rows[0].state.as_str()),
            (2, 4, "running")
        );
        assert_eq!(rows[0].driver, "bob");
        assert_eq!(
            rows[0].line(),
            "r1 · shop/prod · step 2/4 roll · bob · running"
        );
        es.push(entry(
            6,
            "step_finished",
            json!({"step_id": "roll", "attempt": 1, "status": "failed", "at": 6, "detail": "x"}),
        ));
        let (rec, _) = fold("r1", &es);
        assert_eq!(progress(&rec.unwrap(), &rb).3, "failed");
    }
}
