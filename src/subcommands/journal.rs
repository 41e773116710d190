//! Reading the journal: `releases`, `show`, `report`, `verify`.

use super::load;
use super::out::{self, cell, time};
use super::{CmdResult, EXIT_FAILED, EXIT_OK, Failure};
use crate::backend::store::{Store, StoredRelease};
use crate::cli::ReportFormat;
use crate::settings::Settings;

fn took(from: Option<i64>, to: Option<i64>) -> String {
    match (from, to) {
        (Some(a), Some(b)) => crate::runbook::duration::format_duration(
            std::time::Duration::from_millis((b - a).max(0) as u64),
        ),
        _ => "—".into(),
    }
}

pub async fn releases(settings: &Settings, limit: u32) -> CmdResult {
    let store = load::open_store(settings).await?;
    let list = store.list_releases(limit).await?;
    if list.is_empty() {
        out::say(format!("no releases in {}", store.target()));
    }
    for r in list {
        out::say(format!(
            "{:<26} {:<10} {:<18} {:<12} {:<10} {}",
            cell(&r.id),
            r.status.as_str(),
            cell(&r.runbook_name),
            cell(&r.environment),
            cell(&r.initiator),
            time(r.started_at)
        ));
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

async fn load(settings: &Settings, id: &str) -> Result<(Store, StoredRelease, Extra), Failure> {
    let store = load::open_store(settings).await?;
    let r = load::stored_release(&store, id).await?;
    let content = super::content::history(&store, &r).await?;
    let identities = super::identity::report_rows(&store, &r).await?;
    // What the journal holds came from people and services: clean it once
    // here, and every format printed from it is clean.
    Ok((
        store,
        out::release(&r),
        Extra {
            content,
            identities,
        },
    ))
}

pub async fn show(settings: &Settings, id: &str) -> CmdResult {
    let (_, r, extra) = load(settings, id).await?;
    print!(
        "{}",
        out::text(&format!("{}{}", markdown(&r), extra.markdown()))
    );
    Ok(EXIT_OK)
}

/// The report, with the audit chain's head: a copy of it outside the
/// database makes a later cut of the tail visible.
pub async fn report(settings: &Settings, id: &str, format: ReportFormat) -> CmdResult {
    let (store, r, extra) = load(settings, id).await?;
    let content = &extra.content;
    let head = store.chain_head().await?;
    match format {
        ReportFormat::Md => {
            print!(
                "{}",
                out::text(&format!("{}{}", markdown(&r), extra.markdown()))
            );
            if let Some((seq, mac)) = &head {
                println!(
                    "\nAudit chain head: entry {seq}, MAC {}…",
                    &mac[..mac.len().min(16)]
                );
            }
        }
        ReportFormat::Json => {
            let mut v = json(&r);
            v["content"] = super::content::json(content);
            v["signoff_identity"] = super::identity::json(&extra.identities);
            if let (Some(obj), Some((seq, mac))) = (v.as_object_mut(), &head) {
                obj.insert(
                    "chain_head".into(),
                    serde_json::json!({ "seq": seq, "mac": mac }),
                );
            }
            out::say(serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        ReportFormat::Yaml => {
            let mut y = crate::backend::data::report::yaml(&r);
            y.push_str("content_hashes:\n");
            for h in &content.hashes {
                y.push_str(&format!("  - \"{h}\"\n"));
            }
            print!("{}", out::text(&y));
            if let Some((seq, mac)) = &head {
                println!("chain_head:\n  seq: {seq}\n  mac: {mac}");
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn markdown(r: &StoredRelease) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# Release {} — {}\n\n",
        cell(&r.id),
        cell(&r.runbook_name)
    ));
    s.push_str(&format!("- **Environment:** {}\n", cell(&r.environment)));
    s.push_str(&format!("- **Status:** {}\n", r.status.as_str()));
    s.push_str(&format!(
        "- **Started:** {} by {} on {}\n",
        time(r.started_at),
        cell(&r.initiator),
        cell(&r.host)
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
        cell(&r.runbook_path),
        r.runbook_hash
    ));
    let inputs: Vec<String> = r
        .inputs
        .iter()
        .map(|(k, v)| format!("`{}={}`", cell(k), cell(v)))
        .collect();
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
            cell(&run.step_id),
            run.attempt,
            if run.state.as_str() == "started" {
                "interrupted"
            } else {
                run.state.as_str()
            },
            run.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            took(run.started_at, run.finished_at),
            cell(run.detail.as_deref().unwrap_or_default())
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
                cell(&x.gate),
                cell(&x.person),
                cell(&x.host),
                cell(&x.role),
                x.decision.as_str(),
                time(x.at),
                cell(&x.comment),
                &x.approved_hash[..x.approved_hash.len().min(16)]
            ));
        }
    }
    s.push_str(&crate::backend::data::report::markdown(r));
    section(&mut s, "Content it ran under", "", &r.content_hashes, |h| {
        format!("- `{h}`")
    });
    let ticked: Vec<_> = r
        .checklists
        .iter()
        .flat_map(|c| c.items.iter().map(move |item| (c, item)))
        .collect();
    section(
        &mut s,
        "Checklists ticked",
        "| step | attempt | item | ticked by | at |\n|---|---|---|---|---|\n",
        &ticked,
        |(c, (item, at))| {
            format!(
                "| {} | {} | {} | {}@{} | {} |",
                cell(&c.step_id),
                c.attempt,
                cell(item),
                cell(&c.person),
                cell(&c.host),
                time(*at)
            )
        },
    );
    section(&mut s, "Break-glass", "", &r.break_glass, |b| {
        format!(
            "- {}@{} at {} in {}: {} ({})",
            b.person,
            b.host,
            time(b.at),
            b.environment,
            b.reason,
            b.violations.join("; ")
        )
    });
    section(
        &mut s,
        "Not counted (run `flightdeck verify`)",
        "",
        &r.discarded,
        |d| format!("- {d}"),
    );
    section(
        &mut s,
        "Decisions after interruptions",
        "",
        &r.resume_choices,
        |c| {
            format!(
                "- {}: {} chose **{}** at {}",
                cell(&c.step_id),
                cell(&c.person),
                cell(&c.choice),
                time(c.at)
            )
        },
    );
    s
}

/// A report section: its heading and `head` (a table's header rows, or
/// nothing for a list), then one line per row; nothing when there are no
/// rows.
fn section<T>(s: &mut String, heading: &str, head: &str, rows: &[T], line: impl Fn(&T) -> String) {
    if rows.is_empty() {
        return;
    }
    s.push_str(&format!("\n## {heading}\n\n{head}"));
    for row in rows {
        s.push_str(&line(row));
        s.push('\n');
    }
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
        "content_hashes": r.content_hashes,
        "checklists_ticked": r.checklists.iter().map(|c| serde_json::json!({
            "step": c.step_id, "attempt": c.attempt, "person": c.person, "host": c.host,
            "note": c.note, "at": time(c.at),
            "items": c.items.iter().map(|(item, at)| serde_json::json!({ "item": item, "at": time(*at) })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "break_glass": r.break_glass.iter().map(|b| serde_json::json!({
            "person": b.person, "host": b.host, "at": time(b.at),
            "environment": b.environment, "reason": b.reason, "violations": b.violations,
        })).collect::<Vec<_>>(),
        "not_counted": r.discarded,
    })
}

/// Check the chain (every break, not only the first), the index tables
/// against the fold of the verified entries, and this machine's witness.
pub async fn verify(settings: &Settings) -> CmdResult {
    let store = load::open_store(settings).await?;
    let (report, entries) = store.verify_chain().await?;
    out::say(report.to_string());
    let (records, foreign) = crate::runbook::record::fold_all(&entries);
    for f in &foreign {
        out::say(format!("  {f}"));
    }
    let rows = store.disagreements(&records).await?;
    for d in &rows {
        out::say(format!("  {d}"));
    }
    let witness = store.check_witness().await?;
    if let Some(w) = &witness {
        out::say(format!("  {w}"));
    }
    let findings =
        report.breaks.len() + foreign.len() + rows.len() + usize::from(witness.is_some());
    if findings == 0 {
        println!(
            "tables agree with the audit log ({} releases){}",
            records.len(),
            match &report.head {
                Some((seq, mac)) =>
                    format!("; head: entry {seq}, MAC {}…", &mac[..mac.len().min(16)]),
                None => String::new(),
            }
        );
    } else if report.ok() {
        println!("FOUND {findings} problem(s) beside an intact chain");
    }
    let signatures = super::signoff::verify_signatures(settings, &store).await?;
    // Sign-offs whose gate requires signed or database identity carry it.
    let identities = super::identity::verify_identity(settings, &store).await?;
    store.close().await;
    Ok(if findings == 0 && identities == EXIT_OK {
        signatures
    } else {
        EXIT_FAILED
    })
}
