//! Reading what home shows: releases folded from the verified audit chain
//! (never from the editable tables alone), who drives each (the lease),
//! the gates this person may sign (the gate tally's rules, as
//! `releases --waiting-for-me`), checklists on releases they drive, and
//! the runbook files found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Failure;
use crate::backend::store::{self, Store};
use crate::runbook::home::{
    self, HomeSnapshot, Phase, ReleaseRow, RunbookRow, WaitingKind, WaitingRow,
};
use crate::runbook::record;
use crate::runbook::{self, Loaded};
use crate::settings::Settings;

/// Finished releases shown beside every open one.
const RECENT: usize = 30;

/// Kept between reads: a gate's sign-ability costs a content read, so it
/// is recomputed only when the release's record moved on.
#[derive(Default)]
pub struct HomeReader {
    gates: BTreeMap<String, (i64, Option<WaitingRow>)>,
}

/// Which journal this is, for the header: a SQLite file's path, or a
/// PostgreSQL URL's host and database (never a user or password).
pub fn journal_words(target: &str) -> String {
    let Some(rest) = target
        .strip_prefix("postgres://")
        .or_else(|| target.strip_prefix("postgresql://"))
    else {
        return format!("sqlite {target}");
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let host_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("postgres {host_db}")
}

impl HomeReader {
    pub async fn read(&mut self, store: &Store, settings: &Settings, cwd: &Path) -> HomeSnapshot {
        let runbooks = find_runbooks(settings, cwd);
        let mut snap = HomeSnapshot {
            journal: journal_words(store.target()),
            runbooks,
            ..Default::default()
        };
        if let Err(e) = self.read_journal(store, settings, &mut snap).await {
            snap.problem = Some(e.message);
        }
        snap
    }

    async fn read_journal(
        &mut self,
        store: &Store,
        settings: &Settings,
        snap: &mut HomeSnapshot,
    ) -> Result<(), Failure> {
        let (report, entries) = store.verify_chain().await?;
        if !report.ok() {
            snap.problem = Some(format!(
                "the audit chain is broken at entry {} ({} finding(s)): run flightdeck verify",
                report.breaks[0].seq,
                report.breaks.len()
            ));
        }
        let (records, foreign) = record::fold_all(&entries);
        snap.discarded = foreign.len() + (report.entries as usize).saturating_sub(entries.len());
        let mut records: Vec<_> = records.into_values().collect();
        records.sort_by_key(|r| {
            std::cmp::Reverse(r.header.as_ref().map_or(0, |h| h.opened.started_at))
        });
        let mut finished = 0;
        let mut runbooks: BTreeMap<String, Option<Loaded>> = BTreeMap::new();
        for rec in records {
            let last_seq = rec.last_seq;
            let Some(stored) = store::from_record(rec) else {
                continue;
            };
            let open = !stored.status.is_final();
            if !open {
                finished += 1;
                if finished > RECENT {
                    continue;
                }
            }
            let loaded = runbooks
                .entry(stored.runbook_path.clone())
                .or_insert_with(|| runbook::load(&PathBuf::from(&stored.runbook_path)).ok());
            let driver = if open {
                store
                    .lease(&stored.id)
                    .await?
                    .filter(|l| !l.free())
                    .map(|l| l.holder)
            } else {
                None
            };
            let Some(loaded) = loaded.as_ref() else {
                snap.releases.push(unloaded_row(&stored, driver));
                continue;
            };
            let release = store::rebuild(&loaded.runbook, &stored);
            let i_drive = driver.as_deref() == Some(settings.person.as_str());
            snap.releases
                .push(home::release_row(&loaded.runbook, &release, driver));
            if let Some(w) = home::checklist_waiting(&loaded.runbook, &release, i_drive) {
                snap.waiting.push(w);
            }
            if open && let Some(w) = self.gate(store, settings, &stored, loaded, last_seq).await {
                snap.waiting.push(w);
            }
        }
        home::sort_releases(&mut snap.releases);
        snap.waiting
            .sort_by(|a, b| a.since.cmp(&b.since).then(a.release_id.cmp(&b.release_id)));
        Ok(())
    }

    async fn gate(
        &mut self,
        store: &Store,
        settings: &Settings,
        stored: &store::StoredRelease,
        loaded: &Loaded,
        last_seq: i64,
    ) -> Option<WaitingRow> {
        if let Some((seq, row)) = self.gates.get(&stored.id)
            && *seq == last_seq
        {
            return row.clone();
        }
        let row = match super::signoff::signable(store, settings, stored, loaded).await {
            Ok(g) => g.map(|g| WaitingRow {
                release_id: stored.id.clone(),
                runbook: stored.runbook_name.clone(),
                environment: stored.environment.clone(),
                title: g.title,
                kind: WaitingKind::Gate {
                    gate: g.gate,
                    roles: g.roles,
                    tally: g.tally,
                },
                since: g.since,
            }),
            Err(e) => {
                tracing::warn!(release = %stored.id, "home: cannot tell the gate's state: {e}");
                None
            }
        };
        self.gates
            .insert(stored.id.clone(), (last_seq, row.clone()));
        row
    }
}

/// A release whose runbook file no longer loads: what the record says.
fn unloaded_row(stored: &store::StoredRelease, driver: Option<String>) -> ReleaseRow {
    use crate::runbook::progress::ReleaseStatus as S;
    ReleaseRow {
        id: stored.id.clone(),
        runbook: stored.runbook_name.clone(),
        environment: stored.environment.clone(),
        initiator: stored.initiator.clone(),
        driver,
        open: !stored.status.is_final(),
        phase: match stored.status {
            S::Running => Phase::Running,
            S::Succeeded => Phase::Succeeded,
            S::Failed => Phase::Failed,
            S::Aborted => Phase::Aborted,
        },
        done: stored
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.state,
                    store::RunState::Succeeded | store::RunState::Skipped
                )
            })
            .count(),
        total: None,
        at_step: None,
        started_at: stored.started_at,
        finished_at: stored.finished_at,
    }
}

/// Every runbook file in the places home looks, each loaded (or its first
/// error), sorted by name; a file found twice is listed once.
pub fn find_runbooks(settings: &Settings, cwd: &Path) -> Vec<RunbookRow> {
    let env = std::env::var("FLIGHTDECK_RUNBOOKS").ok();
    let mut files: Vec<PathBuf> = Vec::new();
    for place in home::runbook_places(&settings.config_dir, cwd, env.as_deref()) {
        if place.is_file() {
            files.push(place);
            continue;
        }
        let Ok(dir) = std::fs::read_dir(&place) else {
            continue;
        };
        let mut found: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && home::is_runbook_file(p))
            .collect();
        found.sort();
        files.extend(found);
    }
    let mut seen = Vec::new();
    let mut rows = Vec::new();
    for f in files {
        let canon = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
        if seen.contains(&canon) {
            continue;
        }
        seen.push(canon);
        let shown = f
            .strip_prefix(cwd)
            .map(Path::to_path_buf)
            .unwrap_or(f.clone());
        let loaded = runbook::load(&f).map_err(|mut e| {
            e.file = shown.clone();
            e
        });
        rows.push(home::runbook_row(
            &shown,
            loaded.as_ref().map(|l| &l.runbook),
        ));
    }
    rows.sort_by(|a, b| (a.error.is_some(), &a.name).cmp(&(b.error.is_some(), &b.name)));
    rows
}

#[cfg(test)]
mod tests {
    use super::journal_words;

    #[test]
    fn header_names_the_journal_without_secrets() {
        assert_eq!(
            journal_words("postgres://fd:***@127.0.0.1:5432/flightdeck?sslmode=disable"),
            "postgres 127.0.0.1:5432/flightdeck"
        );
        assert_eq!(journal_words("/home/a/j.db"), "sqlite /home/a/j.db");
    }
}
