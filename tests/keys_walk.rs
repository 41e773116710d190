//! One source for "what may happen now" (`app::allowed`): in every state
//! this walk reaches (each step's status in turn, any step selected, driver
//! or watcher, initiator or not, running to the gate or not, the release
//! open or ended), the key bar offers exactly the actions `update` does
//! something for, and `update` refuses every other one, changing nothing,
//! in the words `allowed::refusal` gives.

#[path = "support/app_state.rs"]
mod app_state;

use crossterm::event::{KeyEvent, KeyModifiers};
use flightdeck::app::action::Action;
use flightdeck::app::allowed::{self, BAR};
use flightdeck::app::keymap::parse_key;
use flightdeck::app::msg::Msg;
use flightdeck::app::state::Mode;
use flightdeck::app::state::{AppState, Level};
use flightdeck::app::update::update;
use flightdeck::runbook::progress::{ReleaseStatus, StepStatus};

use app_state::StateBuilder;

const RUNBOOK: &str = r#"
name: walk
environments:
  staging: {}
stages:
  - id: s
    title: Walk
    steps:
      - id: build
        title: Build
        command: { run: "true" }
      - id: notes
        title: Notes
        manual:
          items: [One, Two]
      - id: approval
        title: Approval
        gate: { roles: { approver: 1 } }
      - id: ship
        title: Ship
        command: { run: "true" }
"#;

/// What step `at` can be while the ones before it are settled.
fn statuses(kind: &str) -> Vec<StepStatus> {
    let mut v = vec![
        StepStatus::Pending,
        StepStatus::Running { attempt: 1 },
        StepStatus::Failed { reason: "x".into() },
        StepStatus::Interrupted,
        StepStatus::Inconclusive { reason: "x".into() },
    ];
    if kind != "command" {
        v.push(StepStatus::Waiting);
    }
    v
}

fn key_of(s: &AppState, action: Action) -> KeyEvent {
    let text = s.view.keymap.bindings[&action][0].clone();
    let (code, mods) = parse_key(&text).unwrap_or_else(|| panic!("key {text:?}"));
    KeyEvent::new(code, mods | KeyModifiers::NONE)
}

fn states() -> Vec<(String, AppState)> {
    let kinds = ["command", "manual", "gate", "command"];
    let mut out = Vec::new();
    for at in 0..kinds.len() {
        for status in statuses(kinds[at]) {
            for person in ["alice", "bob"] {
                for watcher in [false, true] {
                    for auto in [false, true] {
                        for ended in [false, true] {
                            let st = status.clone();
                            let mut s = StateBuilder::yaml(RUNBOOK, "walk.yaml")
                                .env("staging")
                                .initiator("alice")
                                .person(person)
                                .prepare(move |r| {
                                    for i in 0..at {
                                        r.steps[i].status = StepStatus::Succeeded;
                                    }
                                    r.steps[at].status = st;
                                    if ended {
                                        r.status = ReleaseStatus::Failed;
                                    }
                                })
                                .build();
                            if watcher {
                                s.team.mode = Mode::Watcher;
                            }
                            s.auto = auto;
                            for selected in 0..kinds.len() {
                                let mut s = s.clone();
                                s.view.selected = selected;
                                let name = format!(
                                    "step {at} {status:?}, selected {selected}, {person}, \
                                     watcher {watcher}, auto {auto}, ended {ended}"
                                );
                                out.push((name, s));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_key_bar_offers_exactly_what_update_does() {
    let all = states();
    assert!(all.len() > 500, "the walk reaches {} states", all.len());
    let mut wrong = Vec::new();
    for (name, s) in &all {
        let offered = allowed::offered(s);
        for action in BAR {
            let mut t = s.clone();
            t.view.notice = None;
            let cmds = update(&mut t, Msg::Key(key_of(s, action)));
            let refused = t
                .view
                .notice
                .as_ref()
                .is_some_and(|n| n.level == Level::Warn)
                && cmds.is_empty()
                && t.view.dialog == s.view.dialog
                && t.auto == s.auto
                && t.release == s.release;
            match allowed::refusal(s, action) {
                Some(why) => {
                    if offered.contains(&action) {
                        wrong.push(format!("{name}: {action:?} offered"));
                    }
                    if !refused || t.view.notice.as_ref().map(|n| &n.text) != Some(&why) {
                        wrong.push(format!(
                            "{name}: {action:?} should be refused ({why}), did {cmds:?} {:?}",
                            t.view.notice
                        ));
                    }
                }
                None => {
                    if !offered.contains(&action) {
                        wrong.push(format!("{name}: {action:?} not offered"));
                    }
                    if refused {
                        wrong.push(format!(
                            "{name}: {action:?} offered but update refused: {:?}",
                            t.view.notice
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements, e.g.:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
