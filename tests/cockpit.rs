//! The cockpit: the home screen, the start form and the item-by-item
//! checklist, through their `update` functions and as screens
//! (TestBackend, 200x50, fixed clock, insta snapshots).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "support/app_state.rs"]
mod app_state;
#[path = "support/screen_svg.rs"]
mod screen_svg;

use app_state::StateBuilder;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::home::{self, HomeAction, HomeChoice, HomeList, HomeMsg, HomeState};
use flightdeck::app::msg::Msg;
use flightdeck::app::start_form::{self, FormFocus, FormOutcome, StartForm};
use flightdeck::app::state::{AppState, Dialog};
use flightdeck::app::update::update;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::runbook::home::{
    HomeSnapshot, Phase, ReleaseRow, RunbookRow, WaitingKind, WaitingRow,
};
use flightdeck::runbook::progress::StepStatus;
use flightdeck::runbook::record::Ticks;
use flightdeck::runbook::{self, Loaded};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 200;
const H: u16 = 50;
/// 2025-06-15 09:00:00 UTC (a Sunday), unix ms.
const T0: i64 = 1_749_978_000_000;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn screen(draw: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut t = Terminal::new(TestBackend::new(W, H)).unwrap();
    t.draw(draw).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------- home

fn snapshot() -> HomeSnapshot {
    HomeSnapshot {
        journal: "sqlite /home/bob/.local/share/flightdeck/journal.db".into(),
        waiting: vec![WaitingRow {
            release_id: "r20250615-085500-1a2b".into(),
            runbook: "demo".into(),
            environment: "staging".into(),
            title: "Release approval".into(),
            kind: WaitingKind::Gate {
                gate: "release-approval".into(),
                roles: vec!["release-approver".into()],
                tally: "gate release-approval: release-approver 0/1 — still needed: 1 × release-approver".into(),
            },
            since: Some(T0 - 180_000),
        }],
        releases: vec![
            ReleaseRow {
                id: "r20250615-085500-1a2b".into(),
                runbook: "demo".into(),
                environment: "staging".into(),
                initiator: "alice".into(),
                driver: Some("alice".into()),
                phase: Phase::Waiting,
                open: true,
                done: 9,
                total: Some(11),
                at_step: Some("Release approval".into()),
                started_at: T0 - 300_000,
                finished_at: None,
            },
            ReleaseRow {
                id: "r20250614-160000-77aa".into(),
                runbook: "blue-green".into(),
                environment: "production".into(),
                initiator: "carol".into(),
                driver: None,
                phase: Phase::Failed,
                open: false,
                done: 4,
                total: Some(9),
                at_step: None,
                started_at: T0 - 61_200_000,
                finished_at: Some(T0 - 60_000_000),
            },
            ReleaseRow {
                id: "r20250613-100000-0c0c".into(),
                runbook: "demo".into(),
                environment: "staging".into(),
                initiator: "bob".into(),
                driver: None,
                phase: Phase::Succeeded,
                open: false,
                done: 11,
                total: Some(11),
                at_step: None,
                started_at: T0 - 169_200_000,
                finished_at: Some(T0 - 169_000_000),
            },
        ],
        runbooks: vec![
            RunbookRow {
                path: PathBuf::from("config/runbooks/demo.yaml"),
                name: "demo".into(),
                description: "A guided release".into(),
                environments: vec!["staging".into(), "production".into()],
                error: None,
            },
            RunbookRow {
                path: PathBuf::from("runbooks/broken.yaml"),
                name: "broken".into(),
                description: String::new(),
                environments: vec![],
                error: Some("runbooks/broken.yaml:4:3: stages: missing".into()),
            },
        ],
        problem: None,
        discarded: 0,
    }
}

fn home_state() -> HomeState {
    let mut s = HomeState::new("bob", T0);
    home::update(&mut s, HomeMsg::Snapshot(snapshot()));
    s
}

fn press_home(s: &mut HomeState, code: KeyCode) {
    home::update(s, HomeMsg::Key(key(code)));
}

#[test]
fn home_enter_on_a_waiting_gate_opens_its_release_to_sign() {
    let mut s = home_state();
    assert_eq!(s.focus, HomeList::Waiting);
    press_home(&mut s, KeyCode::Enter);
    // To sign, never to drive: `tui --release ID --watch`.
    assert_eq!(
        s.choice,
        Some(HomeChoice::Sign("r20250615-085500-1a2b".into()))
    );
}

#[test]
fn home_enter_on_a_release_opens_it_and_on_a_runbook_starts_one() {
    let mut s = home_state();
    press_home(&mut s, KeyCode::Tab);
    press_home(&mut s, KeyCode::Down);
    press_home(&mut s, KeyCode::Enter);
    assert_eq!(
        s.choice,
        Some(HomeChoice::Open("r20250614-160000-77aa".into()))
    );
    let mut s = home_state();
    press_home(&mut s, KeyCode::BackTab);
    assert_eq!(s.focus, HomeList::Runbooks);
    press_home(&mut s, KeyCode::Enter);
    assert_eq!(
        s.choice,
        Some(HomeChoice::Start(PathBuf::from(
            "config/runbooks/demo.yaml"
        )))
    );
}

#[test]
fn home_refuses_to_start_an_invalid_runbook_and_says_why() {
    let mut s = home_state();
    press_home(&mut s, KeyCode::BackTab);
    press_home(&mut s, KeyCode::Down);
    press_home(&mut s, KeyCode::Enter);
    assert_eq!(s.choice, None);
    let notice = s.notice.clone().unwrap();
    assert!(notice.contains("broken.yaml:4:3"), "{notice}");
}

#[test]
fn home_filter_narrows_every_list_and_esc_clears_it() {
    let mut s = home_state();
    press_home(&mut s, KeyCode::Char('/'));
    for c in "blue".chars() {
        press_home(&mut s, KeyCode::Char(c));
    }
    assert!(s.filtering);
    assert_eq!(s.shown(HomeList::Releases), vec![1]);
    assert!(s.shown(HomeList::Waiting).is_empty());
    // j and q are typed into the filter, not acted on.
    press_home(&mut s, KeyCode::Char('q'));
    assert!(!s.quit);
    assert_eq!(s.filter, "blueq");
    press_home(&mut s, KeyCode::Backspace);
    press_home(&mut s, KeyCode::Enter);
    assert!(!s.filtering);
    assert_eq!(s.filter, "blue");
    press_home(&mut s, KeyCode::Tab);
    press_home(&mut s, KeyCode::Enter);
    assert_eq!(
        s.choice,
        Some(HomeChoice::Open("r20250614-160000-77aa".into()))
    );
    let mut s = home_state();
    press_home(&mut s, KeyCode::Char('/'));
    press_home(&mut s, KeyCode::Char('x'));
    press_home(&mut s, KeyCode::Esc);
    assert!(s.filter.is_empty());
    assert_eq!(s.shown(HomeList::Releases).len(), 3);
}

#[test]
fn home_a_new_snapshot_keeps_the_cursor_in_range() {
    let mut s = home_state();
    press_home(&mut s, KeyCode::Tab);
    press_home(&mut s, KeyCode::Down);
    press_home(&mut s, KeyCode::Down);
    assert_eq!(s.selected[1], 2);
    let mut smaller = snapshot();
    smaller.releases.truncate(1);
    home::update(&mut s, HomeMsg::Snapshot(smaller));
    assert_eq!(s.selected[1], 0);
}

/// Every key the bar offers does what `update` does, and a key it does
/// not offer changes nothing: one source for both.
#[test]
fn home_key_bar_matches_what_update_accepts() {
    let all = [
        HomeAction::Up,
        HomeAction::Down,
        HomeAction::NextList,
        HomeAction::PrevList,
        HomeAction::Open,
        HomeAction::Filter,
        HomeAction::FilterDone,
        HomeAction::FilterClear,
        HomeAction::Quit,
    ];
    let code_of = |a: HomeAction| match a {
        HomeAction::Up => KeyCode::Up,
        HomeAction::Down => KeyCode::Down,
        HomeAction::NextList => KeyCode::Tab,
        HomeAction::PrevList => KeyCode::BackTab,
        HomeAction::Open | HomeAction::FilterDone => KeyCode::Enter,
        HomeAction::Filter => KeyCode::Char('/'),
        HomeAction::FilterClear => KeyCode::Esc,
        HomeAction::Quit => KeyCode::Char('q'),
    };
    let mut states = Vec::new();
    for focus in HomeList::ALL {
        for pos in 0..3 {
            for (filter, filtering) in [("", false), ("demo", false), ("zzz", false), ("de", true)]
            {
                let mut s = home_state();
                s.focus = focus;
                s.selected = [pos; 3];
                s.filter = filter.into();
                s.filtering = filtering;
                states.push(s);
            }
        }
    }
    let mut empty = HomeState::new("bob", T0);
    home::update(&mut empty, HomeMsg::Snapshot(HomeSnapshot::default()));
    states.push(empty);
    for s in states {
        let offers = home::allowed(&s);
        for a in all {
            // Only the keys of this mode are asked about.
            let k = key(code_of(a));
            if HomeAction::of(k, s.filtering) != Some(a) {
                continue;
            }
            let mut after = s.clone();
            home::update(&mut after, HomeMsg::Key(k));
            let offer = offers.iter().find(|o| o.action == a);
            let changed = after.choice != s.choice
                || after.quit != s.quit
                || after.focus != s.focus
                || after.filtering != s.filtering
                || after.filter != s.filter
                || after.selected != s.selected;
            match offer {
                None => assert!(!changed, "{a:?} is not offered but did something"),
                Some(o) if o.refused.is_some() => {
                    assert!(!changed, "{a:?} is refused but did something");
                    assert_eq!(after.notice, o.refused, "a refusal says why");
                }
                Some(_) => {}
            }
        }
        // Enter, offered and not refused, always chooses something.
        if !s.filtering
            && let Some(o) = offers.iter().find(|o| o.action == HomeAction::Open)
            && o.refused.is_none()
        {
            let mut after = s.clone();
            home::update(&mut after, HomeMsg::Key(key(KeyCode::Enter)));
            assert!(after.choice.is_some(), "Enter offered but chose nothing");
        }
    }
}

#[test]
fn home_screen() {
    let mut s = home_state();
    s.person = "bob".into();
    insta::assert_snapshot!("home", screen(|f| flightdeck::ui::home::render(&s, f)));
    press_home(&mut s, KeyCode::Tab);
    press_home(&mut s, KeyCode::Char('/'));
    for c in "demo".chars() {
        press_home(&mut s, KeyCode::Char(c));
    }
    insta::assert_snapshot!(
        "home_filtered",
        screen(|f| flightdeck::ui::home::render(&s, f))
    );
}

/// README's first screen is home, drawn by the real view into
/// `assets/screens/home.{txt,svg}`; regenerate with
/// `FLIGHTDECK_UPDATE_SCREENS=1 cargo test --test cockpit readme`.
#[test]
fn readme_home_screen_matches_the_real_screen() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let update = std::env::var_os("FLIGHTDECK_UPDATE_SCREENS").is_some_and(|v| !v.is_empty());
    let s = home_state();
    let mut terminal = Terminal::new(TestBackend::new(160, 22)).expect("a test terminal");
    terminal
        .draw(|f| flightdeck::ui::home::render(&s, f))
        .expect("drawing never fails");
    let buf = terminal.backend().buffer().clone();
    let text: String = (0..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            row.trim_end().to_string() + "\n"
        })
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screens");
    let mut stale = Vec::new();
    for (file, now) in [("home.txt", text), ("home.svg", screen_svg::svg(&buf))] {
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &now).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(now.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "assets/screens/{stale:?} differ from home as drawn now; run \
         FLIGHTDECK_UPDATE_SCREENS=1 cargo test --test cockpit readme and commit them"
    );
}

// ---------------------------------------------------------------- form

const FORM_RUNBOOK: &str = r#"
name: shop
environments:
  staging: {}
  production:
    confirm: true
    requires: { passed: staging, same_inputs: [version] }
    freezes:
      - { from: "2025-06-01", to: "2025-07-01", reason: "summer freeze" }
inputs:
  version:
    description: The version to release
    pattern: 'v\d+\.\d+\.\d+'
  replicas:
    type: integer
    default: "3"
  token:
    description: API token for the registry
    secret: true
stages:
  - id: s
    title: S
    steps:
      - id: one
        command: { run: "true" }
"#;

fn form_runbook() -> Loaded {
    runbook::parse_str(FORM_RUNBOOK, Path::new("shop.yaml"))
        .unwrap_or_else(|e| panic!("the form runbook parses:\n{e}"))
}

fn form(given: &[(&str, &str)], passed: &[(&str, &str)]) -> StartForm {
    let l = form_runbook();
    let given: BTreeMap<String, String> = given
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut history = BTreeMap::new();
    history.insert(
        "production".to_string(),
        vec![
            passed
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ],
    );
    StartForm::new(
        &l.runbook,
        PathBuf::from("runbooks/shop.yaml"),
        None,
        &given,
        history,
        T0,
    )
}

fn type_into(f: &mut StartForm, text: &str) {
    for c in text.chars() {
        start_form::update(f, key(KeyCode::Char(c)));
    }
}

#[test]
fn form_checks_each_input_as_you_type_with_the_cli_validator() {
    let mut f = form(&[], &[]);
    assert_eq!(f.focus, FormFocus::Environment);
    start_form::update(&mut f, key(KeyCode::Tab));
    assert_eq!(f.focus, FormFocus::Field(0));
    assert!(f.fields[0].error.as_deref().unwrap().contains("required"));
    type_into(&mut f, "v1.2");
    assert!(
        f.fields[0].error.as_deref().unwrap().contains("pattern"),
        "{:?}",
        f.fields[0].error
    );
    // Nothing starts while a field is wrong.
    start_form::update(&mut f, key(KeyCode::Enter));
    assert_eq!(f.outcome, None);
    assert!(f.notice.as_deref().unwrap().contains("pattern"));
    type_into(&mut f, ".3");
    assert_eq!(f.fields[0].error, None);
    // The same words the command line gives for a bad integer.
    start_form::update(&mut f, key(KeyCode::Tab));
    type_into(&mut f, "x");
    let cli = runbook::inputs::resolve(
        &form_runbook().runbook,
        &[("version", "v1.2.3"), ("replicas", "3x"), ("token", "t")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
    .unwrap_err();
    assert_eq!(f.fields[1].error, Some(cli.0[0].to_string()));
    start_form::update(&mut f, key(KeyCode::Backspace));
    start_form::update(&mut f, key(KeyCode::Tab));
    type_into(&mut f, "s3cret");
    start_form::update(&mut f, key(KeyCode::Enter));
    let Some(FormOutcome::Start {
        environment,
        inputs,
        break_glass,
    }) = f.outcome.clone()
    else {
        panic!("the form starts: {:?}", f.notice);
    };
    assert_eq!(environment, "staging");
    assert_eq!(inputs["version"], "v1.2.3");
    assert_eq!(inputs["replicas"], "3");
    assert_eq!(inputs["token"], "s3cret");
    assert_eq!(break_glass, None);
}

#[test]
fn form_set_values_prefill_and_the_secret_is_masked_on_screen() {
    let f = form(&[("version", "v2.0.0"), ("token", "hunter2")], &[]);
    assert_eq!(f.fields[0].value, "v2.0.0");
    assert_eq!(f.fields[1].value, "3", "the default fills the field");
    let text = screen(|fr| flightdeck::ui::start_form::render(&f, fr));
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("[•••••••"), "{text}");
}

#[test]
fn form_shows_policy_and_needs_a_reason_outside_the_window() {
    let mut f = form(
        &[("version", "v1.0.0"), ("token", "t")],
        &[("version", "v1.0.0")],
    );
    start_form::update(&mut f, key(KeyCode::Right));
    assert_eq!(f.environment().unwrap().name, "production");
    let status = f.status.clone().unwrap();
    assert!(status.frozen.as_deref().unwrap().contains("summer freeze"));
    assert_eq!(status.requires, Some(("staging".into(), true)));
    assert!(status.confirm);
    assert!(f.stops().contains(&FormFocus::BreakGlass));
    start_form::update(&mut f, key(KeyCode::Enter));
    assert_eq!(f.outcome, None, "no start without a break-glass reason");
    assert!(f.notice.as_deref().unwrap().contains("break-glass"));
    insta::assert_snapshot!(
        "form_production",
        screen(|fr| flightdeck::ui::start_form::render(&f, fr))
    );
    while f.focus != FormFocus::BreakGlass {
        start_form::update(&mut f, key(KeyCode::Tab));
    }
    type_into(&mut f, "hotfix for INC-42");
    start_form::update(&mut f, key(KeyCode::Enter));
    assert_eq!(
        f.outcome,
        Some(FormOutcome::Start {
            environment: "production".into(),
            inputs: [("replicas", "3"), ("token", "t"), ("version", "v1.0.0")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            break_glass: Some("hotfix for INC-42".into()),
        })
    );
}

#[test]
fn form_refuses_an_environment_whose_requires_is_not_met() {
    let mut f = form(
        &[("version", "v9.9.9"), ("token", "t")],
        &[("version", "v1.0.0")],
    );
    start_form::update(&mut f, key(KeyCode::Left));
    assert_eq!(f.environment().unwrap().name, "production");
    assert_eq!(
        f.status.as_ref().unwrap().requires,
        Some(("staging".into(), false))
    );
    start_form::update(&mut f, key(KeyCode::Enter));
    assert_eq!(f.outcome, None);
    assert!(f.invalid().unwrap().contains("may not start here"));
    // Back to staging: it starts.
    start_form::update(&mut f, key(KeyCode::Right));
    start_form::update(&mut f, key(KeyCode::Enter));
    assert!(matches!(f.outcome, Some(FormOutcome::Start { .. })));
}

#[test]
fn form_esc_cancels_and_the_key_bar_is_what_update_accepts() {
    let mut f = form(&[], &[]);
    for o in start_form::allowed(&f) {
        if o.action == start_form::FormAction::Start {
            assert!(o.refused.is_some(), "an invalid form offers no start");
        }
    }
    start_form::update(&mut f, key(KeyCode::Esc));
    assert_eq!(f.outcome, Some(FormOutcome::Cancel));
}

#[test]
fn form_screen() {
    let mut f = form(&[("token", "abc")], &[]);
    start_form::update(&mut f, key(KeyCode::Tab));
    type_into(&mut f, "v1.4");
    insta::assert_snapshot!(
        "form_typing",
        screen(|fr| flightdeck::ui::start_form::render(&f, fr))
    );
}

// ---------------------------------------------------------------- checklist

fn demo_state() -> AppState {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/runbooks/demo.yaml");
    StateBuilder::file(&path)
        .runbook_path("config/runbooks/demo.yaml")
        .release_id("r1")
        .runbook_hash("h")
        .env("staging")
        .initiator("alice")
        .person("alice")
        .host("ops-1")
        .now(T0)
        .build()
}

/// The demo's checklist step, settled up to it, its dialog open.
fn at_checklist() -> (AppState, usize) {
    let mut s = demo_state();
    let i = s
        .runbook
        .steps()
        .position(|st| matches!(st.action, runbook::StepAction::Manual(_)))
        .unwrap();
    for j in 0..i {
        s.release.steps[j].status = StepStatus::Succeeded;
    }
    s.view.selected = i;
    let mut cmds = update(&mut s, Msg::Key(key(KeyCode::Char('t'))));
    while let Some(Command::Journal { op, .. }) = cmds.pop() {
        cmds.extend(update(
            &mut s,
            Msg::Backend(BackendEvent::Journaled { op, error: None }),
        ));
    }
    assert_eq!(s.release.steps[i].status, StepStatus::Waiting);
    (s, i)
}

#[test]
fn checklist_opens_unticked_and_enter_needs_every_item() {
    let (mut s, i) = at_checklist();
    let Some(Dialog::Tick { ticked, cursor, .. }) = s.view.dialog.clone() else {
        panic!("the checklist dialog opens: {:?}", s.view.dialog);
    };
    assert!(ticked.len() >= 2, "the demo checklist has items");
    assert!(
        ticked.iter().all(Option::is_none),
        "nothing is ticked at first"
    );
    assert_eq!(cursor, 0);
    // One Enter no longer confirms everything.
    let cmds = update(&mut s, Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(s.view.dialog.is_some());
    assert_eq!(s.release.steps[i].status, StepStatus::Waiting);
    // Tick all but the last: still refused.
    for _ in 0..ticked.len() - 1 {
        s.now += 1_000;
        update(&mut s, Msg::Key(key(KeyCode::Char(' '))));
    }
    assert!(update(&mut s, Msg::Key(key(KeyCode::Enter))).is_empty());
    // Space on a ticked item unticks it; tick it again, then the last.
    update(&mut s, Msg::Key(key(KeyCode::Up)));
    update(&mut s, Msg::Key(key(KeyCode::Char(' '))));
    let Some(Dialog::Tick { ticked: t2, .. }) = s.view.dialog.clone() else {
        panic!()
    };
    assert_eq!(t2.iter().filter(|t| t.is_none()).count(), 2);
    update(&mut s, Msg::Key(key(KeyCode::Char(' '))));
    s.now += 1_000;
    update(&mut s, Msg::Key(key(KeyCode::Char(' '))));
    let cmds = update(&mut s, Msg::Key(key(KeyCode::Enter)));
    let entries: Vec<&JournalEntry> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Journal { entry, .. } => Some(entry),
            _ => None,
        })
        .collect();
    let JournalEntry::ChecklistTicked {
        ticks:
            Ticks {
                person,
                items,
                step_id,
                ..
            },
        ..
    } = entries[0]
    else {
        panic!("the ticks are journaled first: {entries:?}");
    };
    assert_eq!(person, "alice");
    assert_eq!(step_id, &s.step_id(i));
    assert_eq!(items.len(), ticked.len());
    assert!(items.windows(2).all(|w| w[0].1 <= w[1].1), "{items:?}");
    assert!(
        matches!(entries[1], JournalEntry::StepFinished { status, .. } if status == "succeeded"),
        "{entries:?}"
    );
}

#[test]
fn checklist_s_skips_with_a_reason() {
    let (mut s, i) = at_checklist();
    update(&mut s, Msg::Key(key(KeyCode::Char('s'))));
    assert!(matches!(s.view.dialog, Some(Dialog::Skip { step, .. }) if step == i));
    for c in "not needed today".chars() {
        update(&mut s, Msg::Key(key(KeyCode::Char(c))));
    }
    let cmds = update(&mut s, Msg::Key(key(KeyCode::Enter)));
    assert!(
        cmds.iter().any(|c| matches!(c, Command::Journal { entry: JournalEntry::StepFinished { status, detail, .. }, .. }
            if status == "skipped" && detail.as_deref() == Some("not needed today"))),
        "{cmds:?}"
    );
}

#[test]
fn checklist_note_takes_spaces_and_the_dialog_screen() {
    let (mut s, _) = at_checklist();
    let Some(Dialog::Tick { ticked, .. }) = s.view.dialog.clone() else {
        panic!()
    };
    update(&mut s, Msg::Key(key(KeyCode::Char(' '))));
    for _ in 1..=ticked.len() {
        update(&mut s, Msg::Key(key(KeyCode::Down)));
    }
    for c in "ok by me".chars() {
        update(&mut s, Msg::Key(key(KeyCode::Char(c))));
    }
    let Some(Dialog::Tick { note, ticked, .. }) = s.view.dialog.clone() else {
        panic!()
    };
    assert_eq!(note, "ok by me");
    assert_eq!(ticked.iter().filter(|t| t.is_some()).count(), 1);
    insta::assert_snapshot!(
        "checklist_dialog",
        screen(|f| flightdeck::ui::render(&s, f))
    );
}
