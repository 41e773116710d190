//! The data kinds in `update` and on screen, without IO: release hooks
//! emitted as `Command::Notify`, the point of no return after an
//! irreversible migration, the migrate step's pane.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::app::headless::Headless;
use flightdeck::app::msg::Msg;
use flightdeck::app::state::AppState;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::progress::{Outcome, Release};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNBOOK: &str = r#"
name: hooks
notify:
  - url: "http://hooks.example/${inputs.team}"
    format: slack
    on: [started, succeeded, failed]
inputs:
  team: { default: ops }
stages:
  - id: db
    steps:
      - id: backup
        backup: { dsn: "postgres://app:hunter2pw@db/app", dir: /backups }
      - id: migrate
        migrate: { dsn: "postgres://app:hunter2pw@db/app", dir: migrations, irreversible: true }
"#;

fn state() -> AppState {
    StateBuilder::yaml(RUNBOOK, "hooks.yaml")
        .release_id("r-1")
        .env("prod")
        .build()
}

/// Acknowledge every journal write in `cmds`, collecting what follows.
fn settle(h: &mut Headless, state: &mut AppState, mut cmds: Vec<Command>, all: &mut Vec<Command>) {
    while !cmds.is_empty() {
        let mut next = Vec::new();
        for c in cmds {
            if let Command::Journal { op, .. } = &c {
                next.extend(h.update(
                    state,
                    Msg::Backend(BackendEvent::Journaled {
                        op: *op,
                        error: None,
                    }),
                ));
            }
            all.push(c);
        }
        cmds = next;
    }
}

fn finish(h: &mut Headless, state: &mut AppState, step: usize, note: &str, all: &mut Vec<Command>) {
    let cmds = h.update(
        state,
        Msg::Backend(BackendEvent::StepFinished {
            step,
            attempt: 1,
            outcome: Outcome::Success {
                exit_code: None,
                note: Some(note.into()),
            },
        }),
    );
    settle(h, state, cmds, all);
}

fn notifies(all: &[Command]) -> Vec<(String, String, serde_json::Value)> {
    all.iter()
        .filter_map(|c| match c {
            Command::Notify {
                hook,
                event,
                payload,
            } => Some((event.clone(), hook.url.clone(), payload.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn hooks_fire_at_start_and_end_and_the_point_of_no_return_shows() {
    let mut s = state();
    let mut h = Headless::default();
    let mut all = Vec::new();
    let cmds = h.update(&mut s, Msg::Tick(2_000));
    settle(&mut h, &mut s, cmds, &mut all);
    let n = notifies(&all);
    assert_eq!(n.len(), 1, "{all:?}");
    assert_eq!(n[0].0, "started");
    assert_eq!(n[0].1, "http://hooks.example/ops");
    assert_eq!(n[0].2["text"], "hooks release r-1 to prod started by alice");
    // The backup file is deterministic from release and step.
    let run = all.iter().find_map(|c| match c {
        Command::RunStep { action, .. } => Some(format!("{action:?}")),
        _ => None,
    });
    assert!(run.unwrap().contains("/backups/r-1-backup.dump"));

    finish(
        &mut h,
        &mut s,
        0,
        "backup /backups/r-1-backup.dump size 10 bytes sha256 ab",
        &mut all,
    );
    assert_eq!(s.point_of_no_return, None);
    finish(
        &mut h,
        &mut s,
        1,
        "schema version 1 → 2; applied 1 migration(s) (2); point of no return: irreversible 2",
        &mut all,
    );
    assert_eq!(s.point_of_no_return.as_deref(), Some("migrate"));
    let n = notifies(&all);
    assert_eq!(n.last().unwrap().0, "succeeded");
    assert!(
        n.last().unwrap().2["text"]
            .as_str()
            .unwrap()
            .contains("past the point of no return at migrate")
    );
    // The journal got the versions in the migrate step's outcome.
    assert!(all.iter().any(|c| matches!(c,
        Command::Journal { entry: JournalEntry::StepFinished { step_id, detail: Some(d), .. }, .. }
            if step_id == "migrate" && d.contains("schema version 1 → 2"))));

    // On screen: the banner, and the DSN's password masked.
    s.view.selected = 1;
    let mut t = Terminal::new(TestBackend::new(160, 40)).unwrap();
    t.draw(|f| flightdeck::ui::render(&s, f)).unwrap();
    let screen: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("POINT OF NO RETURN passed at migrate"),
        "{screen}"
    );
    assert!(screen.contains("postgres://app:***@db/app"), "{screen}");
    assert!(!screen.contains("hunter2pw"));
}

#[test]
fn the_point_of_no_return_survives_a_resume() {
    let loaded = flightdeck::runbook::parse_str(RUNBOOK, Path::new("hooks.yaml")).unwrap();
    let mut release = Release::new(
        "r-2".into(),
        &loaded.runbook,
        String::new(),
        "prod".into(),
        BTreeMap::new(),
        "alice".into(),
        0,
    );
    release.begin(&loaded.runbook, 0, 1).unwrap();
    release
        .finish(
            &loaded.runbook,
            0,
            Outcome::Success {
                exit_code: None,
                note: None,
            },
            2,
        )
        .unwrap();
    release.begin(&loaded.runbook, 1, 3).unwrap();
    release
        .finish(
            &loaded.runbook,
            1,
            Outcome::Success {
                exit_code: None,
                note: Some("schema version 1 → 2; point of no return: irreversible 2".into()),
            },
            4,
        )
        .unwrap();
    assert_eq!(
        flightdeck::app::data_hooks::point_of_no_return(&loaded.runbook, &release).as_deref(),
        Some("migrate")
    );
}
