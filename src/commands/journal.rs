//! Reading the journal: `releases`, `show`, `report`, `verify`.

use super::{CmdResult, EXIT_FAILED, EXIT_OK, Failure, session};
use crate::backend::store::{AuditKey, StoredRelease};
use crate::cli::ReportFormat;
use crate::settings::Settings;

pub(crate) fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn took(from: Option<i64>, to: Option<i64>) -> String {
    match (from, to) {
        (Some(a), Some(b)) => crate::runbook::duration::format_duration(
            std::time::Duration::from_millis((b - a).max(0) as u64),
        ),
        _ => "—".into(),
    }
}

pub async fn releases(settings: &Settings, limit: u32) -> CmdResult {
    let store = session::open_store(settings).await?;
    let list = store.list_releases(limit).await?;
    if list.is_empty() {
        println!("no releases in {}", store.target());
    }
    for r in list {
        println!(
            "{:<26} {:<10} {:<18} {:<12} {:<10} {}",
            r.id,
            r.status.as_str(),
            r.runbook_name,
            r.environment,
            r.initiator,
            time(r.started_at)
        );
    }
    Ok(EXIT_OK)
}

/// What `show`/`report` add to the release: content hashes and how each
/// sign-off named its person.
struct Extra {
    content: super::content::ContentHistory,
    identities: Vec<crate::backend::store::identity::SignoffIdentity>,
}

impl Extra {
    fn markdown(&self) -> String {
        format!(
            "{}{}",
            super::content::markdown(&self.content),
            super::identity::markdown(&self.identities)
        )
    }
}

async fn load(settings: &Settings, id: &str) -> Result<(StoredRelease, Extra), Failure> {
    let store = session::open_store(settings).await?;
    let r = store
        .load_release(id)
        .await?
        .ok_or_else(|| Failure::invalid(format!("no release {id:?} in the journal")))?;
    let content = super::content::history(&store, &r).await?;
    let identities = super::identity::report_rows(&store, &r.id).await?;
    Ok((
        r,
        Extra {
            content,
            identities,
        },
    ))
}

pub async fn show(settings: &Settings, id: &str) -> CmdResult {
    let (r, extra) = load(settings, id).await?;
    print!("{}{}", markdown(&r), extra.markdown());
    Ok(EXIT_OK)
}

pub async fn report(settings: &Settings, id: &str, format: ReportFormat) -> CmdResult {
    let (r, extra) = load(settings, id).await?;
    let content = &extra.content;
    match format {
        ReportFormat::Md => print!("{}{}", markdown(&r), extra.markdown()),
        ReportFormat::Json => {
            let mut v = json(&r);
            v["content"] = super::content::json(content);
            v["signoff_identity"] = super::identity::json(&extra.identities);
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        ReportFormat::Yaml => {
            let mut y = crate::backend::data::report::yaml(&r);
            y.push_str("content_hashes:\n");
            for h in &content.hashes {
                y.push_str(&format!("  - \"{h}\"\n"));
            }
            print!("{y}")
        }
    }
    Ok(EXIT_OK)
}

pub fn markdown(r: &StoredRelease) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Release {} — {}\n\n", r.id, r.runbook_name));
    s.push_str(&format!("- **Environment:** {}\n", r.environment));
    s.push_str(&format!("- **Status:** {}\n", r.status.as_str()));
    s.push_str(&format!(
        "- **Started:** {} by {} on {}\n",
        time(r.started_at),
        r.initiator,
        r.host
    ));
    if let Some(f) = r.finished_at {
        s.push_str(&format!(
            "- **Finished:** {} ({})\n",
            time(f),
            took(Some(r.started_at), Some(f))
        ));
    }
    s.push_str(&format!(
        "- **Runbook:** `{}` (sha256 {})\n",
        r.runbook_path, r.runbook_hash
    ));
    let inputs: Vec<String> = r.inputs.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    s.push_str(&format!(
        "- **Inputs:** {}\n\n",
        if inputs.is_empty() {
            "none".into()
        } else {
            inputs.join(", ")
        }
    ));
    s.push_str("## Steps\n\n| step | attempt | outcome | exit | took | detail |\n|---|---|---|---|---|---|\n");
    for run in &r.steps {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            run.step_id,
            run.attempt,
            if run.state.as_str() == "started" {
                "interrupted"
            } else {
                run.state.as_str()
            },
            run.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            took(run.started_at, run.finished_at),
            run.detail.clone().unwrap_or_default().replace('|', "\\|")
        ));
    }
    s.push_str("\n## Sign-offs\n\n");
    if r.signoffs.is_empty() {
        s.push_str("none\n");
    } else {
        s.push_str("| gate | person | host | role | decision | when | comment | approved hash |\n|---|---|---|---|---|---|---|---|\n");
        for x in &r.signoffs {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {}… |\n",
                x.gate,
                x.person,
                x.host,
                x.role,
                x.decision.as_str(),
                time(x.at),
                x.comment.replace('|', "\\|"),
                &x.approved_hash[..x.approved_hash.len().min(16)]
            ));
        }
    }
    s.push_str(&crate::backend::data::report::markdown(r));
    if !r.resume_choices.is_empty() {
        s.push_str("\n## Decisions after interruptions\n\n");
        for c in &r.resume_choices {
            s.push_str(&format!(
                "- {}: {} chose **{}** at {}\n",
                c.step_id,
                c.person,
                c.choice,
                time(c.at)
            ));
        }
    }
    s
}

pub fn json(r: &StoredRelease) -> serde_json::Value {
    serde_json::json!({
        "release": r.id,
        "runbook": { "name": r.runbook_name, "path": r.runbook_path, "sha256": r.runbook_hash },
        "environment": r.environment,
        "status": r.status.as_str(),
        "initiator": r.initiator,
        "host": r.host,
        "started_at": time(r.started_at),
        "finished_at": r.finished_at.map(time),
        "inputs": r.inputs,
        "checklist": crate::backend::data::report::json(r),
        "steps": r.steps.iter().map(|s| serde_json::json!({
            "step": s.step_id,
            "attempt": s.attempt,
            "outcome": if s.state.as_str() == "started" { "interrupted" } else { s.state.as_str() },
            "exit_code": s.exit_code,
            "started_at": s.started_at.map(time),
            "finished_at": s.finished_at.map(time),
            "duration_ms": match (s.started_at, s.finished_at) { (Some(a), Some(b)) => Some(b - a), _ => None },
            "detail": s.detail,
        })).collect::<Vec<_>>(),
        "signoffs": r.signoffs.iter().map(|x| serde_json::json!({
            "gate": x.gate, "person": x.person, "host": x.host, "role": x.role,
            "decision": x.decision.as_str(), "comment": x.comment, "at": time(x.at),
            "approved_hash": x.approved_hash,
        })).collect::<Vec<_>>(),
    })
}

pub async fn verify(settings: &Settings) -> CmdResult {
    let key = AuditKey::load_or_create(&settings.audit_key_path)?;
    let store = session::open_store(settings).await?;
    let report = store.verify_audit(&key).await?;
    println!("{report}");
    let signatures = super::team_approve::verify_signatures(settings, &store).await?;
    // Sign-offs whose gate requires signed or database identity carry it.
    let identities = super::identity::verify_identity(settings, &store).await?;
    store.close().await;
    Ok(if report.ok() && identities == EXIT_OK {
        signatures
    } else {
        EXIT_FAILED
    })
}
