//! The release's secret set as `update` uses it: what it gathers, and that
//! text entering from a backend is masked once, before the journal, the
//! headless stream, the status line or a webhook sees it.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use flightdeck::app::msg::Msg;
use flightdeck::app::state::{AppState, HeadlessEvent};
use flightdeck::app::update::update;
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::data::DataAction;
use flightdeck::runbook::progress::{Outcome, Release, StepStatus};
use flightdeck::runbook::{StepAction, secrets};

const RUNBOOK: &str = r#"
name: su
secrets: [SU_TOKEN]
inputs:
  pw: { secret: true }
  dsn: { default: "postgres://app:dsn-pass-123@db/app" }
notify:
  - url: "https://hooks.slack.com/services/T0/B0/hookpath123"
    on: [started]
stages:
  - id: a
    title: A
    steps:
      - id: env
        check: { env: [SU_KEY] }
      - id: web
        check:
          http:
            url: "http://127.0.0.1:1/x?token=${env.SU_KEY}"
            headers: { Authorization: "Bearer bearer-tok-777" }
      - id: reg
        check:
          registry: { url: "http://127.0.0.1:1", username: u, password: reg-pass-42 }
      - id: tell
        notify: { url: "https://hooks.example/x/y", message: "deployed with ${inputs.pw}" }
"#;

const PW: &str = "input-pw-31337";
const SU_KEY: &str = "env-check-key-555";
const SU_TOKEN: &str = "listed-token-999";

fn state() -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("su.yaml");
    std::fs::write(&path, RUNBOOK).unwrap();
    StateBuilder::file(&path)
        .release_id("r-su")
        .input("pw", PW)
        .process_env("SU_KEY", SU_KEY)
        .process_env("SU_TOKEN", SU_TOKEN)
        .process_env("OTHER_DB", "postgres://x:env-url-pass-8@db/x")
        .process_env("HOME", "/home/alice")
        .build()
}

const ALL: [&str; 9] = [
    PW,
    SU_KEY,
    SU_TOKEN,
    "dsn-pass-123",
    "env-url-pass-8",
    "bearer-tok-777",
    "reg-pass-42",
    "hookpath123",
    "/home/alice-not-a-secret",
];

#[test]
fn the_set_holds_every_kind_of_secret() {
    let s = state();
    for v in &ALL[..8] {
        assert_eq!(s.values.secrets.mask(&format!("<{v}>")), "<***>", "{v}");
    }
    // Ordinary values stay readable.
    assert_eq!(s.values.secrets.mask("/home/alice ok"), "/home/alice ok");
}

#[test]
fn secret_inputs_are_sealed_for_the_journal_and_the_approval_hash() {
    let a = state();
    let b = state();
    let sealed = a.journaled_inputs()["pw"].clone();
    assert!(secrets::matches_sealed(&sealed, PW), "{sealed}");
    assert_eq!(
        a.release.inputs["pw"], PW,
        "the release itself runs with the value"
    );
    // A salt per release: the same value seals differently, and the
    // approval hash covers the seal.
    assert_ne!(sealed, b.journaled_inputs()["pw"]);
    assert_ne!(a.approval_hash, b.approval_hash);
    assert_eq!(a.render_text("pw=${inputs.pw}"), "pw=(secret)");
    // An input holding a URL password is kept sealed like a secret one.
    let dsn = a.journaled_inputs()["dsn"].clone();
    assert!(
        secrets::matches_sealed(&dsn, "postgres://app:dsn-pass-123@db/app"),
        "{dsn}"
    );
}

fn run_step(s: &mut AppState, id: &str) -> Vec<Command> {
    let i = s.runbook.step_index(id).unwrap();
    for st in s.release.steps.iter_mut().take(i) {
        st.status = StepStatus::Succeeded;
        st.attempts = 1;
    }
    s.view.selected = i;
    let c = update(
        s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )),
    );
    let ops: Vec<u64> = c
        .iter()
        .filter_map(|c| match c {
            Command::Journal { op, .. } => Some(*op),
            _ => None,
        })
        .collect();
    ops.into_iter()
        .flat_map(|op| update(s, Msg::Backend(BackendEvent::Journaled { op, error: None })))
        .collect()
}

#[test]
fn backend_text_is_masked_before_any_sink() {
    let mut s = state();
    let web = s.runbook.step_index("web").unwrap();
    let c = run_step(&mut s, "web");
    assert!(
        c.iter().any(|c| matches!(c, Command::RunStep { .. })),
        "{c:?}"
    );
    update(
        &mut s,
        Msg::Backend(BackendEvent::StepOutput {
            step: web,
            lines: vec![(
                Stream::Stdout,
                format!("GET http://127.0.0.1:1/x?token={SU_KEY} with {SU_TOKEN}"),
            )],
            dropped: 0,
        }),
    );
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::StepFinished {
            step: web,
            attempt: 1,
            outcome: Outcome::Failure {
                reason: format!("http://u:{PW}@h/ and ?token={SU_KEY}: refused"),
                exit_code: None,
            },
        }),
    );
    let journaled = format!("{c:?}");
    assert!(journaled.contains("StepFinished"), "{journaled}");
    let events = format!("{:?}", s.plumbing.events);
    let notice = format!("{:?}", s.view.notice);
    let status = format!("{:?}", s.release.steps[web].status);
    let output = format!("{:?}", s.outputs[web].lines);
    for (what, text) in [
        ("journal entry", &journaled),
        ("headless events", &events),
        ("status line", &notice),
        ("step status", &status),
        ("output", &output),
    ] {
        for v in ALL {
            assert!(!text.contains(v), "{what} holds {v}: {text}");
        }
    }
    assert!(
        journaled.contains("http://u:***@h/ and ?token=***: refused"),
        "{journaled}"
    );
    assert!(
        s.plumbing.events.iter().any(
            |e| matches!(e, HeadlessEvent::Output { line, .. } if line.contains("token=*** with ***"))
        ),
        "{events}"
    );
}

#[test]
fn a_notify_step_posts_its_message_masked() {
    let mut s = state();
    let c = run_step(&mut s, "tell");
    let message = c
        .iter()
        .find_map(|c| match c {
            Command::RunStep {
                action: StepAction::Data(DataAction::Notify(n)),
                ..
            } => Some(n.message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no notify RunStep in {c:?}"));
    assert_eq!(message, "deployed with ***");
}

#[test]
fn journal_entries_of_a_new_release_carry_the_seal_only() {
    let s = state();
    let entry = JournalEntry::ReleaseStarted {
        release: Box::new(Release {
            inputs: s.journaled_inputs(),
            ..s.release.clone()
        }),
        runbook_path: s.runbook_path.clone(),
    };
    let text = format!("{entry:?}");
    assert!(!text.contains(PW), "{text}");
    assert!(text.contains("sha256:"), "{text}");
}

#[test]
fn a_step_never_runs_with_a_sealed_value() {
    let mut s = state();
    let sealed = s.journaled_inputs()["pw"].clone();
    s.release.inputs.insert("pw".into(), sealed);
    let c = run_step(&mut s, "web");
    assert!(c.is_empty(), "{c:?}");
    let c = update(&mut s, Msg::Tick(2_000));
    assert!(
        !c.iter()
            .any(|c| matches!(c, Command::RunStep { .. } | Command::Journal { .. })),
        "{c:?}"
    );
    let notice = format!("{:?}", s.view.notice);
    assert!(
        notice.contains("was not given to this terminal"),
        "{notice}"
    );
}
