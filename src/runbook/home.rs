//! The home screen's three lists as plain values: what waits for me,
//! the releases, the runbooks found. Pure: the store and the file system
//! are read elsewhere, and hand in folded releases and loaded runbooks.

use std::path::{Path, PathBuf};

use super::progress::{Release, ReleaseStatus, StepStatus};
use super::{Runbook, RunbookError, StepAction};

/// Where a release stands, in the words the list uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// A person must act: a gate, a checklist, an interrupted step.
    Waiting,
    Running,
    Failed,
    Succeeded,
    Aborted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Waiting => "waiting",
            Phase::Running => "running",
            Phase::Failed => "failed",
            Phase::Succeeded => "succeeded",
            Phase::Aborted => "aborted",
        }
    }
}

/// One line of *releases*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub id: String,
    pub runbook: String,
    pub environment: String,
    pub initiator: String,
    /// The lease holder while someone drives it.
    pub driver: Option<String>,
    pub phase: Phase,
    /// Not ended yet (a failed step may still be retried, skipped, aborted).
    pub open: bool,
    /// Settled steps, and all steps (`None`: the runbook no longer loads).
    pub done: usize,
    pub total: Option<usize>,
    /// The step it is at (title), while open.
    pub at_step: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// What waits for me: a gate I may sign, or a checklist on a release I drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitingKind {
    Gate {
        gate: String,
        /// The roles I may sign in now (the gate tally's rules).
        roles: Vec<String>,
        /// The tally in words ("release-approver 0/1 — still needed: ...").
        tally: String,
    },
    Checklist {
        step: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRow {
    pub release_id: String,
    pub runbook: String,
    pub environment: String,
    /// The step's title.
    pub title: String,
    pub kind: WaitingKind,
    /// When the step began waiting (unix ms), if known.
    pub since: Option<i64>,
}

/// One runbook file found; `error` is its first problem when it does not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookRow {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub environments: Vec<String>,
    pub error: Option<String>,
}

/// Everything home shows, read at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HomeSnapshot {
    /// Which journal (sqlite path or postgres host/db, never a password).
    pub journal: String,
    pub waiting: Vec<WaitingRow>,
    pub releases: Vec<ReleaseRow>,
    pub runbooks: Vec<RunbookRow>,
    /// Why the journal could not be read, if it could not.
    pub problem: Option<String>,
    /// Audit entries left out of the fold (failed MAC, foreign): counted
    /// so home never shows a forged row silently.
    pub discarded: usize,
}

/// The release's phase as its steps tell it.
pub fn phase(release: &Release, rb: &Runbook) -> Phase {
    match release.status {
        ReleaseStatus::Succeeded => return Phase::Succeeded,
        ReleaseStatus::Failed => return Phase::Failed,
        ReleaseStatus::Aborted => return Phase::Aborted,
        ReleaseStatus::Running => {}
    }
    match release.current(rb).map(|i| &release.steps[i].status) {
        Some(StepStatus::Waiting | StepStatus::Interrupted | StepStatus::Inconclusive { .. }) => {
            Phase::Waiting
        }
        Some(StepStatus::Failed { .. }) => Phase::Failed,
        _ => Phase::Running,
    }
}

/// A release as a row, from its rebuilt state and its runbook.
pub fn release_row(rb: &Runbook, release: &Release, driver: Option<String>) -> ReleaseRow {
    let done = (0..release.steps.len())
        .filter(|&i| {
            matches!(
                release.steps[i].status,
                StepStatus::Succeeded | StepStatus::Skipped { .. }
            )
        })
        .count();
    let phase = phase(release, rb);
    let open = !release.status.is_final();
    let at_step = if open {
        release
            .current(rb)
            .and_then(|i| rb.step(i))
            .map(|s| s.title.clone())
    } else {
        None
    };
    ReleaseRow {
        id: release.id.clone(),
        runbook: release.runbook_name.clone(),
        environment: release.environment.clone(),
        initiator: release.initiator.clone(),
        driver,
        phase,
        open,
        done,
        total: Some(release.steps.len()),
        at_step,
        started_at: release.started_at,
        finished_at: release.finished_at,
    }
}

/// The checklist the release waits on, when `i_drive` it.
pub fn checklist_waiting(rb: &Runbook, release: &Release, i_drive: bool) -> Option<WaitingRow> {
    if !i_drive || release.status.is_final() {
        return None;
    }
    let i = release.current(rb)?;
    let step = rb.step(i)?;
    if !matches!(step.action, StepAction::Manual(_))
        || release.steps[i].status != StepStatus::Waiting
    {
        return None;
    }
    Some(WaitingRow {
        release_id: release.id.clone(),
        runbook: release.runbook_name.clone(),
        environment: release.environment.clone(),
        title: step.title.clone(),
        kind: WaitingKind::Checklist {
            step: step.id.clone(),
        },
        since: release.steps[i].started_at,
    })
}

/// Open releases first (waiting, running, stopped at a failed step), then
/// the ended ones (failed first); newest first within each.
pub fn sort_releases(rows: &mut [ReleaseRow]) {
    rows.sort_by(|a, b| {
        b.open
            .cmp(&a.open)
            .then(a.phase.cmp(&b.phase))
            .then(b.started_at.cmp(&a.started_at))
            .then(b.id.cmp(&a.id))
    });
}

/// Lower-case text a filter is matched against.
pub fn release_haystack(r: &ReleaseRow) -> String {
    format!(
        "{} {} {} {} {} {}",
        r.id,
        r.runbook,
        r.environment,
        r.phase.as_str(),
        r.driver.as_deref().unwrap_or(""),
        r.initiator
    )
    .to_lowercase()
}

pub fn waiting_haystack(w: &WaitingRow) -> String {
    let what = match &w.kind {
        WaitingKind::Gate { gate, roles, .. } => format!("gate {gate} {}", roles.join(" ")),
        WaitingKind::Checklist { step } => format!("checklist {step}"),
    };
    format!(
        "{} {} {} {} {what}",
        w.release_id, w.runbook, w.environment, w.title
    )
    .to_lowercase()
}

pub fn runbook_haystack(r: &RunbookRow) -> String {
    format!(
        "{} {} {} {}",
        r.name,
        r.path.display(),
        r.description,
        r.environments.join(" ")
    )
    .to_lowercase()
}

/// Every word of `filter` appears in `haystack` (already lower-case).
pub fn matches(filter: &str, haystack: &str) -> bool {
    filter
        .to_lowercase()
        .split_whitespace()
        .all(|w| haystack.contains(w))
}

/// "12s", "5m", "3h", "2d".
pub fn age(now_ms: i64, since_ms: i64) -> String {
    let s = (now_ms - since_ms).max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Where runbooks are looked for, in order, without repeats: the config
/// dir's `runbooks/`, `./config/runbooks/`, `./runbooks/`, then each entry
/// of `FLIGHTDECK_RUNBOOKS` (a `:`-separated list of dirs or files).
pub fn runbook_places(config_dir: &Path, cwd: &Path, env_list: Option<&str>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = vec![
        config_dir.join("runbooks"),
        cwd.join("config").join("runbooks"),
        cwd.join("runbooks"),
    ];
    for p in env_list.unwrap_or("").split(':').filter(|p| !p.is_empty()) {
        let p = Path::new(p);
        out.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        });
    }
    let mut seen = Vec::new();
    out.retain(|p| {
        let fresh = !seen.contains(p);
        seen.push(p.clone());
        fresh
    });
    out
}

/// A runbook file's name: `.yaml` / `.yml`.
pub fn is_runbook_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// A row for a runbook that loaded, or for one that did not (its first
/// problem as `file:line:column: field: message`).
pub fn runbook_row(path: &Path, loaded: Result<&Runbook, &RunbookError>) -> RunbookRow {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match loaded {
        Ok(rb) => RunbookRow {
            path: path.to_path_buf(),
            name: rb.name.clone(),
            description: rb.description.clone(),
            environments: rb.environments.iter().map(|e| e.name.clone()).collect(),
            error: None,
        },
        Err(e) => RunbookRow {
            path: path.to_path_buf(),
            name: stem,
            description: String::new(),
            environments: Vec::new(),
            error: Some(first_error(e)),
        },
    }
}

/// The earliest problem in the file (by line; one with no position only
/// when none has one), as `file:line:column: field: message`.
pub fn first_error(e: &RunbookError) -> String {
    let first = e
        .problems
        .iter()
        .filter(|p| p.pos.line > 0)
        .min_by_key(|p| (p.pos.line, p.pos.column))
        .or(e.problems.first());
    match first {
        Some(p) => RunbookError {
            file: e.file.clone(),
            problems: vec![p.clone()],
        }
        .to_string(),
        None => format!("{}: invalid", e.file.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_order_without_repeats() {
        let got = runbook_places(
            Path::new("/cfg"),
            Path::new("/w"),
            Some("/extra:rel::/cfg/runbooks"),
        );
        assert_eq!(
            got,
            vec![
                PathBuf::from("/cfg/runbooks"),
                PathBuf::from("/w/config/runbooks"),
                PathBuf::from("/w/runbooks"),
                PathBuf::from("/extra"),
                PathBuf::from("/w/rel"),
            ]
        );
    }

    #[test]
    fn filter_words_all_match() {
        assert!(matches("demo STAG", "r1 demo staging running"));
        assert!(!matches("demo prod", "r1 demo staging running"));
        assert!(matches("", "anything"));
    }

    fn checklist_release(status: StepStatus) -> (Runbook, Release) {
        let text = "name: c\nstages:\n  - id: s\n    steps:\n      - id: build\n        command: { run: \"true\" }\n      - id: notes\n        title: Notes\n        manual: { items: [a, b] }\n";
        let rb = crate::runbook::parse_str(text, Path::new("c.yaml"))
            .unwrap()
            .runbook;
        let mut r = Release::new(
            "r1".into(),
            &rb,
            "h".into(),
            "default".into(),
            Default::default(),
            "alice".into(),
            5,
        );
        r.steps[0].status = StepStatus::Succeeded;
        r.steps[1].status = status;
        r.steps[1].started_at = Some(7);
        (rb, r)
    }

    #[test]
    fn a_waiting_checklist_waits_for_its_driver_only() {
        let (rb, r) = checklist_release(StepStatus::Waiting);
        let w = checklist_waiting(&rb, &r, true).unwrap();
        assert_eq!(w.title, "Notes");
        assert_eq!(w.since, Some(7));
        assert!(matches!(w.kind, WaitingKind::Checklist { ref step } if step == "notes"));
        assert_eq!(checklist_waiting(&rb, &r, false), None);
        let (rb, r) = checklist_release(StepStatus::Pending);
        assert_eq!(checklist_waiting(&rb, &r, true), None);
        let row = release_row(&rb, &r, Some("alice".into()));
        assert_eq!((row.done, row.total, row.open), (1, Some(2), true));
        assert_eq!(row.phase, Phase::Running);
        let (rb, r) = checklist_release(StepStatus::Waiting);
        assert_eq!(release_row(&rb, &r, None).phase, Phase::Waiting);
    }

    #[test]
    fn ages() {
        assert_eq!(age(61_000, 0), "1m");
        assert_eq!(age(5_000, 0), "5s");
        assert_eq!(age(7_200_000, 0), "2h");
        assert_eq!(age(0, 10), "0s");
    }
}
