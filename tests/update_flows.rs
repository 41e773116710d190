//! `update` message by message: state and commands out, no IO, no terminal.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;
#[path = "support/driver.rs"]
mod driver;
use driver::{drive_as_person, drive_headless, on_resume, update};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::{AppState, Dialog, ResumeChoice};
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::StepAction;
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::progress::{Outcome, Release, ReleaseStatus, StepStatus};

fn state_with(
    env: &str,
    person: &str,
    headless: bool,
    prepare: impl FnOnce(&mut Release),
) -> AppState {
    let b = StateBuilder::file("config/runbooks/demo.yaml")
        .env(env)
        .person(person)
        .process_env("HOME", "/home/alice");
    if headless {
        drive_headless(&[]);
    } else {
        drive_as_person();
    }
    let mut release = b.new_release();
    prepare(&mut release);
    b.release(release).build()
}

fn state() -> AppState {
    state_with("staging", "alice", false, |_| {})
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(state: &mut AppState, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| update(state, key(c))).collect()
}

fn ack(state: &mut AppState, cmds: &[Command]) -> Vec<Command> {
    let ops: Vec<u64> = cmds
        .iter()
        .filter_map(|c| {
            if let Command::Journal { op, .. } = c {
                Some(*op)
            } else {
                None
            }
        })
        .collect();
    ops.into_iter()
        .flat_map(|op| {
            update(
                state,
                Msg::Backend(BackendEvent::Journaled { op, error: None }),
            )
        })
        .collect()
}

fn finished(step: usize, attempt: u32, outcome: Outcome) -> Msg {
    Msg::Backend(BackendEvent::StepFinished {
        step,
        attempt,
        outcome,
    })
}

fn ok() -> Outcome {
    Outcome::Success {
        exit_code: Some(0),
        note: None,
    }
}

fn index(state: &AppState, id: &str) -> usize {
    state.runbook.step_index(id).unwrap()
}

/// Settle steps before `id` as succeeded, so `id` is current.
fn advance_to(id: &str) -> impl FnOnce(&mut Release) {
    let id = id.to_string();
    move |r: &mut Release| {
        for s in r.steps.iter_mut().take_while(|s| s.step_id != id) {
            s.status = StepStatus::Succeeded;
            s.attempts = 1;
            s.started_at = Some(1);
            s.finished_at = Some(2);
        }
    }
}

#[test]
fn run_journals_the_intent_before_the_step_starts() {
    let mut s = state();
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    let Command::Journal {
        entry: JournalEntry::StepStarted {
            step_id, attempt, ..
        },
        ..
    } = &cmds[0]
    else {
        panic!("expected the intent first, got {cmds:?}")
    };
    assert_eq!((step_id.as_str(), *attempt), ("env-present", 1));
    assert!(matches!(
        s.release.steps[0].status,
        StepStatus::Running { attempt: 1 }
    ));
    // Only once the journal confirms does the check run.
    let next = ack(&mut s, &cmds);
    assert!(
        matches!(
            &next[..],
            [Command::RunStep {
                step: 0,
                attempt: 1,
                action: StepAction::Check(_),
                ..
            }]
        ),
        "{next:?}"
    );
}

#[test]
fn outcome_is_journaled_before_moving_on() {
    let mut s = state();
    let c = update(&mut s, key('g'));
    let c = ack(&mut s, &c);
    assert!(matches!(c[0], Command::RunStep { step: 0, .. }));
    let c = update(&mut s, finished(0, 1, ok()));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepFinished { status, .. }, .. }] if status == "succeeded"),
        "{c:?}"
    );
    assert_eq!(s.release.current(&s.runbook), Some(0).map(|_| 1));
    // The next step only starts after the outcome is durable.
    let c = ack(&mut s, &c);
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepStarted { step_id, .. }, .. }] if step_id == "start-service"),
        "{c:?}"
    );
}

#[test]
fn templates_are_resolved_for_the_backend() {
    let mut s = state_with("staging", "alice", false, advance_to("start-service"));
    let c = update(&mut s, code(KeyCode::Enter));
    let c = ack(&mut s, &c);
    let Command::RunStep {
        action: StepAction::Command(cmd),
        env,
        ..
    } = &c[0]
    else {
        panic!("{c:?}")
    };
    let flightdeck::runbook::Program::Argv(argv) = &cmd.program else {
        panic!()
    };
    assert_eq!(argv[0], "/usr/bin/flightdeck");
    assert!(argv.contains(&"127.0.0.1:18080".to_string()), "{argv:?}");
    assert_eq!(env.get("DEMO_REGION").map(String::as_str), Some("local-1"));
}

#[test]
fn a_failing_step_with_retries_runs_again_by_itself() {
    let mut s = state_with("staging", "alice", false, advance_to("flaky"));
    let i = index(&s, "flaky");
    let c = update(&mut s, key('g'));
    ack(&mut s, &c);
    let c = update(
        &mut s,
        finished(
            i,
            1,
            Outcome::Failure {
                reason: "status 503".into(),
                exit_code: None,
            },
        ),
    );
    assert!(matches!(
        s.release.steps[i].status,
        StepStatus::Failed { .. }
    ));
    let c = ack(&mut s, &c);
    assert!(
        matches!(
            &c[..],
            [Command::Journal {
                entry: JournalEntry::StepStarted { attempt: 2, .. },
                ..
            }]
        ),
        "{c:?}"
    );
    let c = ack(&mut s, &c);
    assert!(matches!(&c[..], [Command::RunStep { attempt: 2, .. }]));
    let c = update(&mut s, finished(i, 2, ok()));
    ack(&mut s, &c);
    assert_eq!(s.release.steps[i].status, StepStatus::Succeeded);
    assert!(
        s.outputs[i]
            .lines
            .iter()
            .any(|(_, l)| l.contains("retrying automatically"))
    );
}

#[test]
fn a_failed_step_stops_the_run_and_offers_retry_and_skip() {
    let mut s = state();
    let c = update(&mut s, key('g'));
    ack(&mut s, &c);
    let c = update(
        &mut s,
        finished(
            0,
            1,
            Outcome::Failure {
                reason: "HOME missing".into(),
                exit_code: None,
            },
        ),
    );
    let c = ack(&mut s, &c);
    assert!(
        c.iter().all(|c| !matches!(c, Command::RunStep { .. })),
        "{c:?}"
    );
    assert!(!s.auto);
    assert!(s.view.notice_text().contains("HOME missing"));
    let keys = flightdeck::ui::keys_now(&s);
    assert!(keys.contains(&flightdeck::app::action::Action::Retry));
    assert!(keys.contains(&flightdeck::app::action::Action::Skip));
    // Retry runs attempt 2.
    let c = update(&mut s, key('r'));
    assert!(matches!(
        &c[..],
        [Command::Journal {
            entry: JournalEntry::StepStarted { attempt: 2, .. },
            ..
        }]
    ));
}

#[test]
fn skipping_needs_a_reason_and_is_journaled() {
    let mut s = state();
    update(&mut s, key('s'));
    assert!(matches!(s.view.dialog, Some(Dialog::Skip { .. })));
    // Enter with no reason does nothing.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    typed(&mut s, "not needed on staging");
    let c = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepFinished { status, detail: Some(d), .. }, .. }] if status == "skipped" && d == "not needed on staging"),
        "{c:?}"
    );
    assert!(matches!(
        s.release.steps[0].status,
        StepStatus::Skipped { .. }
    ));
}

#[test]
fn a_gate_cannot_be_skipped() {
    let mut s = state_with("staging", "alice", false, advance_to("release-approval"));
    let i = index(&s, "release-approval");
    assert_eq!(s.view.selected, i);
    update(&mut s, key('s'));
    assert!(s.view.dialog.is_none());
    assert!(s.view.notice_text().contains("cannot be skipped"));
}

#[test]
fn the_initiator_cannot_sign_off() {
    let mut s = state_with("staging", "alice", false, advance_to("release-approval"));
    let c = update(&mut s, key('a'));
    assert!(c.is_empty(), "{c:?}");
    assert!(s.view.dialog.is_none(), "{:?}", s.view.dialog);
    // The refusal says who signs instead, and how (app::allowed).
    let why = &s.view.notice.as_ref().expect("a refusal").text;
    assert!(why.contains("you started this release"), "{why}");
    assert!(
        why.contains("flightdeck approve r-test --gate release-approval"),
        "{why}"
    );
    // The key bar never offered it.
    assert!(!flightdeck::ui::keys_now(&s).contains(&flightdeck::app::action::Action::Approve));
}

#[test]
fn another_person_signs_off_and_the_gate_passes_once_journaled() {
    let mut s = state_with("staging", "bob", false, advance_to("release-approval"));
    let i = index(&s, "release-approval");
    let c = update(&mut s, key('a'));
    ack(&mut s, &c);
    assert_eq!(s.release.steps[i].status, StepStatus::Waiting);
    typed(&mut s, "tested on staging");
    let c = update(&mut s, code(KeyCode::Enter));
    let [
        Command::Journal {
            entry: JournalEntry::Signoff { signoff, .. },
            ..
        },
    ] = &c[..]
    else {
        panic!("{c:?}")
    };
    assert_eq!(
        (
            signoff.person.as_str(),
            signoff.role.as_str(),
            signoff.decision
        ),
        ("bob", "release-approver", Decision::Approve)
    );
    assert_eq!(signoff.approved_hash, s.approval_hash);
    // Not given until the store confirms.
    assert_eq!(s.release.steps[i].status, StepStatus::Waiting);
    assert!(s.release.signoffs.is_empty());
    let c = ack(&mut s, &c);
    assert_eq!(s.release.signoffs.len(), 1);
    assert_eq!(s.release.steps[i].status, StepStatus::Succeeded);
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepFinished { status, .. }, .. }] if status == "succeeded")
    );
}

#[test]
fn a_rejection_stops_the_release() {
    let mut s = state_with("staging", "bob", false, advance_to("release-approval"));
    let c = update(&mut s, key('x'));
    ack(&mut s, &c);
    // A rejection needs a reason.
    update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&s.view.dialog, Some(Dialog::Signoff { error: Some(e), .. }) if e.contains("reason"))
    );
    typed(&mut s, "error budget spent");
    let c = update(&mut s, code(KeyCode::Enter));
    let c = ack(&mut s, &c);
    ack(&mut s, &c);
    assert_eq!(s.release.status, ReleaseStatus::Failed);
    assert!(c.iter().any(|c| matches!(c, Command::Journal { entry: JournalEntry::ReleaseEnded { status, .. }, .. } if status == "failed")));
}

#[test]
fn sign_offs_from_other_terminals_count_and_stale_ones_do_not() {
    let mut s = state_with("staging", "alice", false, advance_to("release-approval"));
    let i = index(&s, "release-approval");
    // alice opens her gate for sign-offs (she cannot sign it herself).
    let c = update(&mut s, code(KeyCode::Enter));
    ack(&mut s, &c);
    let other = |hash: &str| Signoff {
        gate: "release-approval".into(),
        person: "carol".into(),
        host: "laptop".into(),
        role: "release-approver".into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: hash.into(),
        at: 5,
    };
    // Bound to another runbook/inputs: does not count.
    update(
        &mut s,
        Msg::Backend(BackendEvent::Signoffs(vec![other("0000")])),
    );
    assert_eq!(s.release.steps[i].status, StepStatus::Waiting);
    let hash = s.approval_hash.clone();
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::Signoffs(vec![other("0000"), other(&hash)])),
    );
    assert_eq!(s.release.steps[i].status, StepStatus::Succeeded, "{c:?}");
}

#[test]
fn a_waiting_gate_asks_the_journal_for_new_sign_offs() {
    let mut s = state_with("staging", "alice", false, advance_to("release-approval"));
    let c = update(&mut s, code(KeyCode::Enter));
    ack(&mut s, &c);
    let c = update(&mut s, Msg::Tick(10_000));
    assert!(
        matches!(&c[..], [Command::RefreshSignoffs { release_id }] if release_id == "r-test"),
        "{c:?}"
    );
    // Not again within the refresh interval.
    assert!(update(&mut s, Msg::Tick(10_200)).is_empty());
}

#[test]
fn risky_steps_in_production_need_the_environment_name_typed() {
    let mut s = state_with("production", "alice", false, advance_to("push-image"));
    let c = update(&mut s, key('g'));
    assert!(c.is_empty(), "{c:?}");
    assert!(
        matches!(&s.view.dialog, Some(Dialog::Confirm { expect: Some(n), .. }) if n == "production")
    );
    assert!(
        update(&mut s, key('y')).is_empty(),
        "y alone must not confirm"
    );
    update(&mut s, code(KeyCode::Backspace));
    typed(&mut s, "productio");
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    typed(&mut s, "n");
    let c = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepStarted { step_id, .. }, .. }] if step_id == "push-image"),
        "{c:?}"
    );
}

#[test]
fn an_interrupted_step_is_never_rerun_silently() {
    let mut s = state_with("staging", "alice", false, |r| {
        advance_to("build-image")(r);
        let i = r
            .steps
            .iter()
            .position(|s| s.step_id == "build-image")
            .unwrap();
        r.steps[i].status = StepStatus::Interrupted;
        r.steps[i].attempts = 1;
    });
    let i = index(&s, "build-image");
    let c = on_resume(&mut s);
    // Only the demo service starts again (it stopped with its driver).
    assert!(
        matches!(&c[..], [Command::StartService { step, .. }] if *step == index(&s, "start-service")),
        "{c:?}"
    );
    let Some(Dialog::Interrupted { choices, .. }) = &s.view.dialog else {
        panic!("{:?}", s.view.dialog)
    };
    assert_eq!(
        choices,
        &vec![
            ResumeChoice::Retry,
            ResumeChoice::MarkDone,
            ResumeChoice::Skip
        ]
    );
    // Run-to-gate does not run it either.
    update(&mut s, code(KeyCode::Esc));
    let c = update(&mut s, key('g'));
    assert!(
        c.iter().all(|c| !matches!(
            c,
            Command::RunStep { .. }
                | Command::Journal {
                    entry: JournalEntry::StepStarted { .. },
                    ..
                }
        )),
        "{c:?}"
    );
    // Choosing "mark done" is journaled, then settles the step.
    s.view.dialog = None;
    update(&mut s, key('r'));
    update(&mut s, code(KeyCode::Down));
    let c = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::ResumeChoice { choice, .. }, .. }] if choice == "mark done"),
        "{c:?}"
    );
    assert_eq!(s.release.steps[i].status, StepStatus::Interrupted);
    let c = ack(&mut s, &c);
    assert_eq!(s.release.steps[i].status, StepStatus::Succeeded);
    assert!(matches!(
        &c[..],
        [Command::Journal {
            entry: JournalEntry::StepFinished { .. },
            ..
        }]
    ));
}

#[test]
fn output_is_sanitized_masked_and_bounded() {
    let mut s = state();
    s.values.secrets.add("hunter22");
    let lines = vec![
        (
            Stream::Stdout,
            "\x1b[2J\x1b]0;pwned\x07clear screen".to_string(),
        ),
        (Stream::Stderr, "token=hunter22".to_string()),
        (Stream::Stdout, "\u{202e}reversed".to_string()),
    ];
    update(
        &mut s,
        Msg::Backend(BackendEvent::StepOutput {
            step: 0,
            lines,
            dropped: 7,
        }),
    );
    let out = &s.outputs[0];
    for (_, l) in &out.lines {
        assert!(
            !l.contains('\x1b') && !l.contains('\x07') && !l.contains('\u{202e}'),
            "{l:?}"
        );
        assert!(!l.contains("hunter22"));
    }
    assert_eq!(out.dropped, 7);
    for _ in 0..20 {
        let lines = (0..1000)
            .map(|n| (Stream::Stdout, format!("line {n}")))
            .collect();
        update(
            &mut s,
            Msg::Backend(BackendEvent::StepOutput {
                step: 0,
                lines,
                dropped: 0,
            }),
        );
    }
    assert_eq!(
        s.outputs[0].lines.len(),
        flightdeck::protocol::output::MAX_LINES
    );
    assert_eq!(s.outputs[0].total, 20_000 + 3 + 7);
}

#[test]
fn headless_stops_at_a_person_and_acks_tick_checklists() {
    let mut s = state_with("staging", "alice", true, advance_to("release-checklist"));
    let c = update(&mut s, Msg::Tick(2_000));
    let c = ack(&mut s, &c);
    assert!(c.iter().any(|c| matches!(c, Command::Quit)), "{c:?}");
    assert!(s.plumbing.quitting);

    let mut s = state_with("staging", "alice", true, advance_to("release-checklist"));
    s.acks.insert("release-checklist".into());
    let c = update(&mut s, Msg::Tick(2_000));
    let c = ack(&mut s, &c);
    let c = ack(&mut s, &c);
    assert_eq!(
        s.release.steps[index(&s, "release-checklist")].status,
        StepStatus::Succeeded
    );
    // On to the gate, which waits: quit with the release still running.
    let c = ack(&mut s, &c);
    assert!(s.plumbing.quitting, "{c:?}");
    assert_eq!(s.release.status, ReleaseStatus::Running);
}

#[test]
fn a_journal_failure_stops_driving() {
    let mut s = state();
    let c = update(&mut s, key('g'));
    let Command::Journal { op, .. } = c[0] else {
        panic!()
    };
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::Journaled {
            op,
            error: Some("disk full".into()),
        }),
    );
    assert!(c.is_empty());
    assert!(s.journal_error.is_some());
    assert!(
        update(&mut s, key('g'))
            .iter()
            .all(|c| !matches!(c, Command::RunStep { .. }))
    );
}

#[test]
fn help_lists_every_action_from_the_keymap() {
    let mut s = state();
    update(&mut s, key('?'));
    assert_eq!(s.view.dialog, Some(Dialog::Help));
    update(&mut s, key('x'));
    assert_eq!(s.view.dialog, None);
}

#[test]
fn an_inconclusive_result_pauses_and_never_passes() {
    let mut s = state_with("staging", "alice", true, advance_to("health"));
    let i = index(&s, "health");
    let c = update(&mut s, Msg::Tick(2_000));
    ack(&mut s, &c);
    let c = update(
        &mut s,
        finished(
            i,
            1,
            Outcome::Inconclusive {
                reason: "query returned no data".into(),
            },
        ),
    );
    assert!(
        matches!(&c[..], [Command::Journal { entry: JournalEntry::StepFinished { status, .. }, .. }] if status == "inconclusive"),
        "{c:?}"
    );
    let c = ack(&mut s, &c);
    assert!(matches!(
        s.release.steps[i].status,
        StepStatus::Inconclusive { .. }
    ));
    assert_eq!(
        s.release.current(&s.runbook),
        Some(i),
        "it does not count as settled"
    );
    // Headless: stop and wait for a person, the release still running.
    assert!(c.iter().any(|c| matches!(c, Command::Quit)), "{c:?}");
    assert_eq!(s.release.status, ReleaseStatus::Running);
}
