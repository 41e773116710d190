//! `update` for issue 11 parts 5 and 6, message by message: a step a signal
//! stopped is interrupted (not failed), a lingering process blocks a retry,
//! background services start again before the next step, and a driver whose
//! lease lapsed starts nothing until it holds the lease again.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;
#[path = "support/driver.rs"]
mod driver;
use driver::{drive_as_person, drive_headless, on_resume, update};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::Mode;
use flightdeck::app::state::{AppState, Dialog, HeadlessEvent, ResumeChoice};
use flightdeck::protocol::command::{Command, JournalEntry};
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::team::TeamEvent;
use flightdeck::runbook::progress::{Outcome, Release, StepStatus};

const RUNBOOK: &str = "name: orphans
stages:
  - id: s
    steps:
      - id: svc
        title: Service
        command:
          run: 'sleep 1000'
          background: true
      - id: slow
        title: Slow
        command: 'sleep 100'
      - id: after
        title: After
        command: 'echo after'
";

fn state_with(headless: bool, prepare: impl FnOnce(&mut Release)) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orphans.yaml");
    std::fs::write(&path, RUNBOOK).unwrap();
    let b = StateBuilder::file(&path).release_id("r-orphans");
    if headless {
        drive_headless(&[]);
    } else {
        drive_as_person();
    }
    let mut release = b.new_release();
    prepare(&mut release);
    b.release(release).build()
}

/// `svc` ran (succeeded) and `slow` was left started by a dead driver.
fn svc_done_slow_interrupted(r: &mut Release) {
    r.steps[0].status = StepStatus::Succeeded;
    r.steps[0].attempts = 1;
    r.steps[1].status = StepStatus::Interrupted;
    r.steps[1].attempts = 1;
    r.steps[1].started_at = Some(5);
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn journaled(op: u64) -> Msg {
    Msg::Backend(BackendEvent::Journaled { op, error: None })
}

/// Acknowledge every journal write among `cmds`, returning what follows.
fn ack(state: &mut AppState, cmds: &[Command]) -> Vec<Command> {
    let ops: Vec<u64> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Journal { op, .. } => Some(*op),
            _ => None,
        })
        .collect();
    ops.into_iter()
        .flat_map(|op| update(state, journaled(op)))
        .collect()
}

fn entries(cmds: &[Command]) -> Vec<&JournalEntry> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Journal { entry, .. } => Some(entry),
            _ => None,
        })
        .collect()
}

/// Start `slow` (after `svc` succeeded) and have its process spawn.
fn running_slow(headless: bool) -> AppState {
    let mut s = state_with(headless, |r| {
        r.steps[0].status = StepStatus::Succeeded;
        r.steps[0].attempts = 1;
    });
    s.view.selected = 1;
    let c = update(&mut s, key(KeyCode::Enter));
    let c = ack(&mut s, &c);
    assert!(
        matches!(&c[..], [Command::RunStep { step: 1, .. }]),
        "{c:?}"
    );
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::StepSpawned {
            step: 1,
            attempt: 1,
            pid: 4242,
        }),
    );
    let e = entries(&c);
    assert!(
        matches!(
            e[..],
            [JournalEntry::StepProcess {
                pid: 4242,
                pgid: 4242,
                attempt: 1,
                ..
            }]
        ),
        "{c:?}"
    );
    ack(&mut s, &c);
    s
}

#[test]
fn a_step_a_signal_stopped_is_journaled_interrupted_not_failed() {
    let mut s = running_slow(true);
    let c = update(&mut s, Msg::Shutdown);
    assert!(c.contains(&Command::CancelStep { step: 1 }), "{c:?}");
    // The runner reports the cancelled command as a failure.
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::StepFinished {
            step: 1,
            attempt: 1,
            outcome: Outcome::Failure {
                reason: "cancelled".into(),
                exit_code: None,
            },
        }),
    );
    let e = entries(&c);
    assert!(
        matches!(e[..], [JournalEntry::StepInterrupted { step_id, attempt: 1, .. }] if step_id == "slow"),
        "{c:?}"
    );
    assert!(
        !e.iter()
            .any(|e| matches!(e, JournalEntry::StepFinished { .. })),
        "no outcome is journaled: {c:?}"
    );
    assert_eq!(s.release.steps[1].status, StepStatus::Interrupted);
    assert!(s.plumbing.events.iter().any(
        |e| matches!(e, HeadlessEvent::StepFinished { step, status, .. } if step == "slow" && status == "interrupted")
    ));
    ack(&mut s, &c);
    assert!(flightdeck::app::update::ready_to_exit(&s));
}

#[test]
fn a_step_the_person_cancelled_still_fails() {
    let mut s = running_slow(false);
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::StepFinished {
            step: 1,
            attempt: 1,
            outcome: Outcome::Failure {
                reason: "cancelled".into(),
                exit_code: None,
            },
        }),
    );
    assert!(
        matches!(entries(&c)[..], [JournalEntry::StepFinished { status, .. }] if status == "failed"),
        "{c:?}"
    );
}

#[test]
fn headless_resume_stops_at_an_interrupted_step_unless_retry_names_it() {
    let mut s = state_with(true, svc_done_slow_interrupted);
    let c = on_resume(&mut s);
    // The background service starts again first.
    assert!(
        matches!(&c[..], [Command::StartService { step: 0, .. }]),
        "{c:?}"
    );
    assert!(s.plumbing.events.iter().any(
        |e| matches!(e, HeadlessEvent::Waiting { step, reason } if step == "slow" && reason.contains("--retry slow"))
    ));
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::ServiceStarted {
            step: 0,
            pid: Some(777),
            error: None,
        }),
    );
    assert!(
        matches!(
            entries(&c)[..],
            [JournalEntry::ServiceStarted { pid: Some(777), .. }]
        ),
        "{c:?}"
    );
    let c = ack(&mut s, &c);
    assert!(c.contains(&Command::Quit), "stops at the step: {c:?}");

    // With --retry slow: the choice is journaled, then the step runs.
    let mut s = state_with(true, svc_done_slow_interrupted);
    drive_headless(&["slow"]);
    let c = on_resume(&mut s);
    assert!(
        !s.plumbing
            .events
            .iter()
            .any(|e| matches!(e, HeadlessEvent::Waiting { .. })),
        "{:?}",
        s.plumbing.events
    );
    // Nothing runs while the service is starting again.
    let c2 = update(&mut s, Msg::Tick(2_000));
    assert!(entries(&c2).is_empty(), "{c2:?}");
    assert!(matches!(&c[..], [Command::StartService { .. }]));
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::ServiceStarted {
            step: 0,
            pid: Some(777),
            error: None,
        }),
    );
    let c = ack(&mut s, &c);
    let e = entries(&c);
    assert!(
        matches!(e[..], [JournalEntry::ResumeChoice { choice, .. }] if choice == "retry"),
        "{c:?}"
    );
    let c = ack(&mut s, &c);
    assert!(
        matches!(
            entries(&c)[..],
            [JournalEntry::StepStarted { attempt: 2, .. }]
        ),
        "{c:?}"
    );
}

#[test]
fn a_service_that_does_not_start_again_stops_a_headless_run() {
    let mut s = state_with(true, |r| {
        r.steps[0].status = StepStatus::Succeeded;
        r.steps[0].attempts = 1;
    });
    let c = on_resume(&mut s);
    assert!(matches!(&c[..], [Command::StartService { step: 0, .. }]));
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::ServiceStarted {
            step: 0,
            pid: None,
            error: Some("exited with code 1".into()),
        }),
    );
    assert!(
        matches!(
            entries(&c)[..],
            [JournalEntry::ServiceStarted {
                pid: None,
                error: Some(_),
                ..
            }]
        ),
        "{c:?}"
    );
    assert!(c.contains(&Command::Quit), "{c:?}");
    assert_eq!(s.release.steps[1].status, StepStatus::Pending);
}

#[test]
fn a_lingering_step_offers_wait_or_kill_before_any_retry() {
    let mut s = state_with(false, svc_done_slow_interrupted);
    s.processes.lingering.insert(1, 4242);
    let _ = on_resume(&mut s);
    let Some(Dialog::Interrupted {
        step: 1, choices, ..
    }) = &s.view.dialog
    else {
        panic!("{:?}", s.view.dialog)
    };
    assert_eq!(choices, &vec![ResumeChoice::Wait, ResumeChoice::Kill]);
    assert_eq!(
        flightdeck::app::update::still_running(&s, 1).as_deref(),
        Some("still running, pid 4242")
    );
    // Kill: journaled, then the group is ended.
    let c = update(&mut s, key(KeyCode::Down));
    assert!(c.is_empty());
    let c = update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(entries(&c)[..], [JournalEntry::ResumeChoice { choice, .. }] if choice == "kill"),
        "{c:?}"
    );
    let c = ack(&mut s, &c);
    assert!(
        matches!(
            &c[..],
            [Command::EndProcess {
                step: 1,
                pgid: 4242,
                kill: true,
                ..
            }]
        ),
        "{c:?}"
    );
    // Gone: now the usual choices.
    let c = update(&mut s, Msg::Backend(BackendEvent::ProcessGone { step: 1 }));
    assert!(c.is_empty(), "{c:?}");
    let Some(Dialog::Interrupted { choices, .. }) = &s.view.dialog else {
        panic!("{:?}", s.view.dialog)
    };
    assert!(choices.contains(&ResumeChoice::Retry), "{choices:?}");
}

#[test]
fn a_lingering_step_stops_a_headless_resume_even_with_retry() {
    let mut s = state_with(true, svc_done_slow_interrupted);
    s.processes.lingering.insert(1, 4242);
    drive_headless(&["slow"]);
    let c = on_resume(&mut s);
    assert!(s.plumbing.events.iter().any(
        |e| matches!(e, HeadlessEvent::Waiting { step, reason } if step == "slow" && reason.contains("still running, pid 4242"))
    ));
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::ServiceStarted {
            step: 0,
            pid: Some(1),
            error: None,
        }),
    )
    .into_iter()
    .chain(c)
    .collect::<Vec<_>>();
    let c = ack(&mut s, &c);
    assert!(c.contains(&Command::Quit), "{c:?}");
    assert!(
        !entries(&c)
            .iter()
            .any(|e| matches!(e, JournalEntry::ResumeChoice { .. }))
    );
}

#[test]
fn a_driver_whose_lease_lapsed_starts_no_step_until_renewed() {
    let mut s = state_with(false, |r| {
        r.steps[0].status = StepStatus::Succeeded;
        r.steps[0].attempts = 1;
    });
    s.team.mode = Mode::Driver;
    s.view.selected = 1;
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::Team(TeamEvent::LeaseLapsed {
            why: "the lease could not be renewed in time (connection refused)".into(),
        })),
    );
    assert!(c.is_empty(), "nothing is cancelled: {c:?}");
    let c = update(&mut s, key(KeyCode::Enter));
    assert!(entries(&c).is_empty(), "no step starts: {c:?}");
    assert!(
        s.view
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("not the driver")),
        "{:?}",
        s.view.notice
    );
    // The header says so.
    let backend = ratatui::backend::TestBackend::new(160, 30);
    let mut term = ratatui::Terminal::new(backend).unwrap();
    term.draw(|f| flightdeck::ui::render(&s, f)).unwrap();
    let screen = format!("{:?}", term.backend().buffer());
    assert!(screen.contains("NOT DRIVING"), "{screen}");

    let _ = update(
        &mut s,
        Msg::Backend(BackendEvent::Team(TeamEvent::LeaseRegained)),
    );
    assert!(s.team.lapsed.is_none());
    let c = update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(entries(&c)[..], [JournalEntry::StepStarted { .. }]),
        "{c:?}"
    );
}

#[test]
fn a_headless_driver_whose_lease_lapsed_waits_instead_of_running() {
    let mut s = state_with(true, |r| {
        r.steps[0].status = StepStatus::Succeeded;
        r.steps[0].attempts = 1;
    });
    s.team.mode = Mode::Driver;
    let _ = update(
        &mut s,
        Msg::Backend(BackendEvent::Team(TeamEvent::LeaseLapsed {
            why: "no answer".into(),
        })),
    );
    let c = update(&mut s, Msg::Tick(5_000));
    assert!(c.is_empty(), "{c:?}");
    let c = update(
        &mut s,
        Msg::Backend(BackendEvent::Team(TeamEvent::LeaseRegained)),
    );
    assert!(
        matches!(entries(&c)[..], [JournalEntry::StepStarted { .. }]),
        "{c:?}"
    );
}

#[test]
fn waiting_for_a_lingering_step_journals_nothing_and_reopens_when_gone() {
    let mut s = state_with(false, svc_done_slow_interrupted);
    s.processes.lingering.insert(1, 4242);
    let _ = on_resume(&mut s);
    let c = update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(
            &c[..],
            [Command::EndProcess {
                step: 1,
                pgid: 4242,
                kill: false,
                ..
            }]
        ),
        "{c:?}"
    );
    assert!(s.view.dialog.is_none());
    // Retry is refused while it still runs: the dialog offers wait/kill again.
    let c = update(&mut s, key(KeyCode::Char('r')));
    assert!(entries(&c).is_empty(), "{c:?}");
    let Some(Dialog::Interrupted { choices, .. }) = &s.view.dialog else {
        panic!("{:?}", s.view.dialog)
    };
    assert_eq!(choices, &vec![ResumeChoice::Wait, ResumeChoice::Kill]);
    // Asking to wait again sends nothing new.
    let c = update(&mut s, key(KeyCode::Enter));
    assert!(c.is_empty(), "{c:?}");
    let _ = update(&mut s, Msg::Backend(BackendEvent::ProcessGone { step: 1 }));
    let Some(Dialog::Interrupted { choices, .. }) = &s.view.dialog else {
        panic!("{:?}", s.view.dialog)
    };
    assert!(choices.contains(&ResumeChoice::Retry), "{choices:?}");
}
