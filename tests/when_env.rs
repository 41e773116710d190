//! `when: { env: [...] }` in the TUI (not headless): a step or a whole stage
//! not for the release's environment is skipped as "not for this
//! environment" without anyone pressing run, journaled as a skip, shown so
//! in the checklist, and a gate so skipped is never a pass.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::AppState;
use flightdeck::app::update::update;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::progress::{Outcome, Release, StepStatus};
use flightdeck::runbook::{self, when::NOT_FOR_ENV};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNBOOK: &str = r#"
name: cond
environments: { dev: {}, staging: {}, production: {} }
stages:
  - id: build
    steps:
      - { id: build, command: "true" }
      - id: approval
        when: { env: [staging, production] }
        gate: { roles: { approver: 1 } }
      - { id: deploy, command: "true" }
  - id: prod-only
    when: { env: [production] }
    steps:
      - { id: announce, command: "true" }
"#;

fn state(env: &str) -> AppState {
    StateBuilder::yaml(RUNBOOK, "cond.yaml")
        .release_id("rel-1")
        .env(env)
        .bin("flightdeck")
        .build()
}

/// Play the backends: acknowledge journal writes, let every step that is
/// handed to the runner succeed. Returns the journal entries written.
fn play(state: &mut AppState, first: Vec<Command>) -> Vec<JournalEntry> {
    let mut queue: VecDeque<Command> = first.into();
    let mut journal = Vec::new();
    while let Some(cmd) = queue.pop_front() {
        match cmd {
            Command::Journal { op, entry } => {
                journal.push(entry);
                queue.extend(update(
                    state,
                    Msg::Backend(BackendEvent::Journaled { op, error: None }),
                ));
            }
            Command::RunStep { step, attempt, .. } => queue.extend(update(
                state,
                Msg::Backend(BackendEvent::StepFinished {
                    step,
                    attempt,
                    outcome: Outcome::Success {
                        exit_code: Some(0),
                        note: None,
                    },
                }),
            )),
            _ => {}
        }
    }
    journal
}

fn run_one(state: &mut AppState) -> Vec<JournalEntry> {
    let cmds = update(state, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    play(state, cmds)
}

fn skipped_entries(journal: &[JournalEntry]) -> Vec<String> {
    journal
        .iter()
        .filter_map(|e| match e {
            JournalEntry::StepFinished {
                step_id,
                status,
                detail,
                ..
            } if status == "skipped" => {
                assert_eq!(detail.as_deref(), Some(NOT_FOR_ENV));
                Some(step_id.clone())
            }
            _ => None,
        })
        .collect()
}

fn screen(state: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 30)).unwrap();
    t.draw(|f| flightdeck::ui::render(state, f)).unwrap();
    let buf = t.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

#[test]
fn in_dev_the_gate_and_the_production_stage_are_skipped_as_not_for_this_environment() {
    let mut s = state("dev");
    // Before anything runs, the checklist says which steps are not for dev.
    let before = screen(&s);
    let line = |screen: &str, id: &str| {
        screen
            .lines()
            .find(|l| l.contains(id) && l.contains('│'))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no checklist line for {id}:\n{screen}"))
    };
    assert!(line(&before, "approval").contains(NOT_FOR_ENV), "{before}");
    assert!(line(&before, "announce").contains(NOT_FOR_ENV), "{before}");
    assert!(!line(&before, "deploy").contains(NOT_FOR_ENV), "{before}");

    // One step run by hand: the gate after it settles by itself (no one
    // signs, no one presses run), then deploy is next.
    let journal = run_one(&mut s);
    assert_eq!(s.release.steps[0].status, StepStatus::Succeeded);
    assert_eq!(
        s.release.steps[1].status,
        StepStatus::Skipped {
            reason: NOT_FOR_ENV.into()
        }
    );
    assert_eq!(skipped_entries(&journal), vec!["approval"]);
    assert!(
        !journal.iter().any(
            |e| matches!(e, JournalEntry::StepStarted { step_id, .. } if step_id == "approval")
        ),
        "a skipped gate never starts waiting"
    );
    assert_eq!(s.release.current(&s.runbook), Some(2));
    // Deploy runs; the production-only stage is skipped and the release ends.
    let journal = run_one(&mut s);
    assert_eq!(skipped_entries(&journal), vec!["announce"]);
    assert_eq!(s.release.status.as_str(), "succeeded");
    assert!(s.release.signoffs.is_empty());
    let after = screen(&s);
    assert!(line(&after, "approval").contains('↷'), "{after}");
}

#[test]
fn in_staging_the_gate_waits_for_its_sign_off() {
    let mut s = state("staging");
    let before = screen(&s);
    assert!(
        !before
            .lines()
            .any(|l| l.contains("approval") && l.contains(NOT_FOR_ENV)),
        "{before}"
    );
    let journal = run_one(&mut s);
    assert!(skipped_entries(&journal).is_empty());
    // The gate is the current step and is not settled: it needs a person.
    assert_eq!(s.release.current(&s.runbook), Some(1));
    let cmds = update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    play(&mut s, cmds);
    assert_eq!(s.release.steps[1].status, StepStatus::Waiting);
}

#[test]
fn a_release_cannot_skip_a_gate_that_is_for_its_environment() {
    let l = runbook::parse_str(RUNBOOK, Path::new("cond.yaml")).unwrap();
    let mut r = Release::new(
        "r".into(),
        &l.runbook,
        "h".into(),
        "staging".into(),
        BTreeMap::new(),
        "alice".into(),
        0,
    );
    r.begin(&l.runbook, 0, 1).unwrap();
    r.finish(
        &l.runbook,
        0,
        Outcome::Success {
            exit_code: Some(0),
            note: None,
        },
        2,
    )
    .unwrap();
    assert!(r.skip_not_for_env(&l.runbook, 1, 5).is_err());
}
