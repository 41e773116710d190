//! The plan pane (`P`) and the approver's view, drawn with `TestBackend`
//! at a fixed size and clock, driven through `update`: the plan's cluster
//! part is asked for with `Command::ReadPlan` and arrives as
//! `BackendEvent::Plan`; a watcher at a waiting gate signs with `a` and
//! rejects with `x` (a comment required) through the existing sign-off
//! dialog, and cannot abort.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;
use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::Mode;
use flightdeck::app::state::{AppState, Dialog};
use flightdeck::app::update::update;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::team::LeaseView;
use flightdeck::runbook::content::ContentManifest;
use flightdeck::runbook::gates::Decision;
use flightdeck::runbook::plan::{ClusterChange, ClusterSlot, FieldChange, ImageChange, ObjectDiff};
use flightdeck::runbook::plan_since::{self, Side};
use flightdeck::runbook::progress::StepStatus;
use flightdeck::runbook::{self, Loaded};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 44;
/// 2025-06-15 09:00:00 UTC, in unix milliseconds.
const T0: i64 = 1_749_978_000_000;
const RUNBOOK_HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn load(name: &str) -> Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/runbooks")
        .join(name);
    runbook::load(&path).unwrap()
}

fn state(name: &str, env: &str, person: &str, id: &str) -> AppState {
    let l = load(name);
    let inputs = runbook::inputs::resolve(&l.runbook, &BTreeMap::new()).unwrap();
    let mut s = StateBuilder::loaded(l, &format!("config/runbooks/{name}"))
        .release_id(id)
        .runbook_hash(RUNBOOK_HASH)
        .env(env)
        .initiator("alice")
        .person(person)
        .host("ops-2")
        .now(T0)
        .build();
    // A fixed content, so the hash on screen does not move.
    let manifest = ContentManifest::new(RUNBOOK_HASH.as_bytes(), &[], env, None, &inputs);
    flightdeck::app::content::set_current(&mut s, manifest, Vec::new());
    s
}

fn key(state: &mut AppState, code: KeyCode) -> Vec<Command> {
    update(state, Msg::Key(KeyEvent::from(code)))
}

fn draw(state: &AppState) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    t.draw(|f| flightdeck::ui::render(state, f)).unwrap();
    t
}

fn screen(t: &Terminal<TestBackend>) -> String {
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

/// The colour of the first cell of `text` on screen.
fn colour_of(t: &Terminal<TestBackend>, text: &str) -> Color {
    let buf = t.backend().buffer();
    let s = screen(t);
    let (row, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(text))
        .unwrap_or_else(|| panic!("{text:?} on screen:\n{s}"));
    let col = line[..line.find(text).unwrap()].chars().count();
    buf[(col as u16, row as u16)].fg
}

#[test]
fn the_plan_pane_shows_each_step_resolved_with_what_changes_in_the_cluster() {
    let mut s = state("blue-green.yaml", "test", "alice", "rel-bg-1");
    assert!(!s.plan.open);
    let cmds = key(&mut s, KeyCode::Char('P'));
    assert!(s.plan.open && s.plan.reading);
    let Some(Command::ReadPlan { targets, .. }) = cmds.first() else {
        panic!("P asks for the cluster part: {cmds:?}");
    };
    let ids: Vec<&str> = targets
        .iter()
        .map(|(i, _)| s.step(*i).unwrap().id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "live-healthy",
            "roll-idle",
            "switch-service",
            "hold-under-traffic"
        ]
    );
    let answer = vec![
        (
            1,
            ClusterSlot::Read {
                change: ClusterChange::Note {
                    text: "changes nothing; watches deployment shop-blue at revision 4 (web=registry.local/shop:v1)".into(),
                },
            },
        ),
        (
            2,
            ClusterSlot::Read {
                change: ClusterChange::Images {
                    deployment: "shop-green".into(),
                    revision: Some("3".into()),
                    containers: vec![ImageChange {
                        container: "web".into(),
                        live: Some("registry.local/shop:v1\x1b[2J".into()),
                        new: "registry.local/shop:v2".into(),
                    }],
                },
            },
        ),
        (
            3,
            ClusterSlot::Read {
                change: ClusterChange::Fields {
                    objects: vec![ObjectDiff {
                        object: "Service/shop".into(),
                        created: false,
                        changes: vec![FieldChange {
                            path: "spec.selector.color".into(),
                            live: Some("blue".into()),
                            new: Some("green".into()),
                        }],
                    }],
                },
            },
        ),
        (
            4,
            ClusterSlot::Unavailable {
                reason: "cluster unreachable: connection refused".into(),
            },
        ),
    ];
    assert!(update(&mut s, Msg::Backend(BackendEvent::Plan(answer))).is_empty());
    assert!(!s.plan.reading);
    let t = draw(&s);
    let text = screen(&t);
    assert!(!text.contains('\x1b'), "cluster text is sanitized");
    insta::assert_snapshot!("plan_pane", t.backend());
    assert_eq!(colour_of(&t, "~ web:"), Color::Cyan);
    assert_eq!(colour_of(&t, "cannot read what changes"), Color::Magenta);
    assert_eq!(
        colour_of(&t, " 4. Point Service shop"),
        Color::Red,
        "a risky step is red"
    );
    // P again: back to the step pane.
    assert!(key(&mut s, KeyCode::Char('P')).is_empty());
    assert!(!screen(&draw(&s)).contains("Plan · approves"));
}

const GATE: usize = 9;

/// The demo release as bob sees it: alice drives, every step before the
/// gate passed, the gate waits.
fn approver() -> AppState {
    let mut s = state("demo.yaml", "staging", "bob", "rel-demo-7");
    s.team.mode = Mode::Watcher;
    s.team.lease = Some(LeaseView {
        holder: "alice".into(),
        host: "ops-1".into(),
        token: 1,
        released: false,
        expires_local: T0 + 600_000,
    });
    for i in 0..GATE {
        let run = &mut s.release.steps[i];
        run.status = StepStatus::Succeeded;
        run.attempts = 1;
        run.started_at = Some(T0 + i as i64 * 1000);
        run.finished_at = Some(T0 + i as i64 * 1000 + 250 * (i as i64 + 1));
    }
    s.release.steps[GATE].status = StepStatus::Waiting;
    s.release.steps[GATE].started_at = Some(T0 + 60_000);
    s.view.selected = 0;
    // The last successful release ran v1.4.1.
    let then_inputs = BTreeMap::from([
        ("port".to_string(), "18080".to_string()),
        ("version".to_string(), "v1.4.1".to_string()),
    ]);
    let now_inputs = s.journaled_inputs();
    s.plan.since = Some(plan_since::since(
        &s.runbook,
        &Side {
            id: "rel-demo-6",
            runbook_hash: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
            inputs: &then_inputs,
            content: None,
            finished_at: Some(T0 - 86_400_000),
        },
        &Side {
            id: "rel-demo-7",
            runbook_hash: RUNBOOK_HASH,
            inputs: &now_inputs,
            content: None,
            finished_at: None,
        },
    ));
    s
}

#[test]
fn the_approver_sees_the_waiting_gate_with_its_evidence() {
    let mut s = approver();
    // The next tick finds the gate waiting for this watcher: it is selected
    // and its plan built (the demo changes nothing in a cluster: no read).
    let cmds = update(&mut s, Msg::Tick(T0 + 61_000));
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::ReadPlan { .. })),
        "{cmds:?}"
    );
    assert_eq!(s.view.selected, GATE);
    assert!(s.plan.plan.is_some());
    let t = draw(&s);
    insta::assert_snapshot!("approver_view", t.backend());
    let text = screen(&t);
    for shown in [
        "waits for your sign-off",
        "input version: v1.4.1 → v1.4.2",
        "runbook changed",
        "STEPS SO FAR",
        "WHAT FOLLOWS THE GATE",
        "Announce the release",
        "WATCHING: driven by alice@ops-1",
    ] {
        assert!(text.contains(shown), "{shown:?} on screen:\n{text}");
    }
    // Nothing the watcher may not do is offered.
    let keys = flightdeck::ui::keys_now(&s);
    assert!(!keys.contains(&flightdeck::app::action::Action::Abort));
}

#[test]
fn the_approver_signs_with_a_and_a_rejection_needs_a_comment() {
    let mut s = approver();
    update(&mut s, Msg::Tick(T0 + 61_000));
    // A watcher cannot abort the release.
    assert!(key(&mut s, KeyCode::Char('A')).is_empty());
    assert!(s.view.dialog.is_none());
    assert!(!s.release.status.is_final());
    // x, then Enter without a comment: refused, nothing written.
    assert!(key(&mut s, KeyCode::Char('x')).is_empty());
    assert!(matches!(
        s.view.dialog,
        Some(Dialog::Signoff {
            decision: Decision::Reject,
            ..
        })
    ));
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let Some(Dialog::Signoff { error: Some(e), .. }) = &s.view.dialog else {
        panic!(
            "a rejection without a comment is refused: {:?}",
            s.view.dialog
        );
    };
    assert!(e.contains("rejection needs a reason"), "{e}");
    key(&mut s, KeyCode::Esc);
    // a, then Enter: the sign-off goes to the journal, bound to the plan's hash.
    assert!(key(&mut s, KeyCode::Char('a')).is_empty());
    let cmds = key(&mut s, KeyCode::Enter);
    let signoff = cmds
        .iter()
        .find_map(|c| match c {
            Command::Journal {
                entry: JournalEntry::Signoff { signoff, .. },
                ..
            } => Some(signoff.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a signs off: {cmds:?}"));
    assert_eq!(signoff.person, "bob");
    assert_eq!(signoff.decision, Decision::Approve);
    let plan_hash = s.plan.plan.as_ref().unwrap().content_hash.clone().unwrap();
    assert_eq!(
        signoff.approved_hash, plan_hash,
        "the plan's hash is what is signed"
    );
    // Until the store confirms it, the gate has not moved.
    assert_eq!(s.release.steps[GATE].status, StepStatus::Waiting);
}
