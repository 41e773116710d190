//! The deployment checklist record of the OffGridFlow guide (environment,
//! timestamp, each check and step with its status), built from what the
//! journal holds, for `flightdeck report` in YAML, Markdown and JSON.

use serde::Serialize;

use crate::backend::store::StoredRelease;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checklist {
    pub environment: String,
    /// When the release started, RFC 3339 UTC.
    pub timestamp: String,
    pub release: String,
    pub runbook: String,
    pub status: String,
    pub checks: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub name: String,
    /// `passed`, `failed`, `skipped`, `inconclusive` or `interrupted`.
    pub status: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn word(state: &str) -> &'static str {
    match state {
        "succeeded" => "passed",
        "failed" => "failed",
        "skipped" => "skipped",
        "inconclusive" => "inconclusive",
        "started" => "interrupted",
        _ => "unknown",
    }
}

/// Each step the journal has, once, with its latest attempt's status.
pub fn checklist(r: &StoredRelease) -> Checklist {
    let mut names: Vec<&str> = Vec::new();
    for s in &r.steps {
        if !names.contains(&s.step_id.as_str()) {
            names.push(&s.step_id);
        }
    }
    let checks = names
        .into_iter()
        .filter_map(|name| {
            let run = r.latest_run(name)?;
            Some(ChecklistItem {
                name: name.to_string(),
                status: word(run.state.as_str()).to_string(),
                attempts: r.steps.iter().filter(|s| s.step_id == name).count() as u32,
                detail: run.detail.clone(),
            })
        })
        .collect();
    Checklist {
        environment: r.environment.clone(),
        timestamp: rfc3339(r.started_at),
        release: r.id.clone(),
        runbook: r.runbook_name.clone(),
        status: r.status.as_str().to_string(),
        checks,
    }
}

pub fn yaml(r: &StoredRelease) -> String {
    serde_saphyr::to_string(&checklist(r)).unwrap_or_else(|e| format!("# cannot write YAML: {e}\n"))
}

pub fn json(r: &StoredRelease) -> serde_json::Value {
    serde_json::to_value(checklist(r)).unwrap_or_default()
}

pub fn markdown(r: &StoredRelease) -> String {
    let c = checklist(r);
    let mut s = format!(
        "\n## Deployment checklist\n\n- environment: {}\n- timestamp: {}\n\n| check | status |\n|---|---|\n",
        c.environment, c.timestamp
    );
    for item in &c.checks {
        let mark = if item.status == "passed" {
            "✅"
        } else {
            "❌"
        };
        s.push_str(&format!("| {} | {mark} {} |\n", item.name, item.status));
    }
    s
}
