//! Whole-screen snapshots of what a person sees, drawn with ratatui's
//! `TestBackend` at a fixed size and a fixed clock (ARCHITECTURE.md,
//! "Testing what a person sees"). State changes go through `update`, so
//! these tests also exercise the release logic behind each screen.
//!
//! Snapshots drop colour: the style of key cells is asserted separately.
//! CI runs with `INSTA_UPDATE=no`; after an intended change to a screen,
//! re-run with `INSTA_UPDATE=always` and read the new `.snap` files.

#[path = "support/app_state.rs"]
mod app_state;
#[path = "support/screen_svg.rs"]
mod screen_svg;
use app_state::StateBuilder;

use std::collections::VecDeque;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::{AppState, Dialog};
use flightdeck::app::update::{on_resume, update};
use flightdeck::protocol::command::Command;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::OutputBuffer;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::progress::{Outcome, StepStatus};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

// ---------------------------------------------------------------- fixtures

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;
/// 2025-06-15 09:00:00 UTC, in unix milliseconds.
const T0: i64 = 1_749_978_000_000;
const RELEASE_ID: &str = "rel-20250615-0900-a1b2";
/// A fixed runbook hash, so the approval hash on screen does not move
/// whenever someone edits the demo runbook's comments.
const RUNBOOK_HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Indices of the demo runbook's steps.
const ENV_PRESENT: usize = 0;
const BUILD_IMAGE: usize = 3;
const RELEASE_APPROVAL: usize = 9;

/// The demo runbook's release as every screen here starts it: alice's,
/// at T0, with a fixed id and hash, seen by `person`.
fn demo(person: &str) -> StateBuilder {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/runbooks/demo.yaml");
    StateBuilder::file(path)
        .runbook_path("config/runbooks/demo.yaml")
        .release_id(RELEASE_ID)
        .runbook_hash(RUNBOOK_HASH)
        .env("staging")
        .now(T0)
        .person(person)
        .bin("flightdeck")
}

/// A new release of the demo runbook, started by alice, seen by `person`.
fn fresh(person: &str) -> AppState {
    demo(person).build()
}

// ---------------------------------------------------------------- driving

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn press(state: &mut AppState, code: KeyCode) -> Vec<Command> {
    update(state, key(code))
}

fn type_text(state: &mut AppState, text: &str) {
    for c in text.chars() {
        let cmds = press(state, KeyCode::Char(c));
        assert!(
            cmds.is_empty(),
            "typing {c:?} into a dialog emits nothing, got {cmds:?}"
        );
    }
}

/// Move the clock on, as the event loop's ticks do.
fn advance_clock(state: &mut AppState, ms: i64) -> Vec<Command> {
    let now = state.now + ms;
    update(state, Msg::Tick(now))
}

fn output(
    state: &mut AppState,
    step: usize,
    lines: &[(Stream, &str)],
    dropped: u64,
) -> Vec<Command> {
    let lines = lines.iter().map(|(s, l)| (*s, l.to_string())).collect();
    update(
        state,
        Msg::Backend(BackendEvent::StepOutput {
            step,
            lines,
            dropped,
        }),
    )
}

fn finished(state: &mut AppState, step: usize, attempt: u32, outcome: Outcome) -> Vec<Command> {
    update(
        state,
        Msg::Backend(BackendEvent::StepFinished {
            step,
            attempt,
            outcome,
        }),
    )
}

/// What a step's runner would plausibly print, so earlier steps are not blank.
fn sample_output(state: &AppState, step: usize) -> Vec<(Stream, &'static str)> {
    match state.step_id(step).as_str() {
        "env-present" => vec![(Stream::Info, "HOME set"), (Stream::Info, "PATH set")],
        "start-service" => vec![(
            Stream::Stdout,
            "demo service v1.4.2 listening on 127.0.0.1:18080",
        )],
        "service-port" => vec![(Stream::Info, "127.0.0.1:18080 accepts connections (1 ms)")],
        "push-image" => vec![
            (Stream::Stdout, "pushing demo:v1.4.2"),
            (Stream::Stdout, "digest sha256:5d41402abc4b2a76"),
        ],
        _ => vec![(Stream::Info, "200 OK in 3 ms")],
    }
}

/// Play the backends: acknowledge every journal write, and let every step
/// before `target` run for a while and succeed. Confirm risky steps and tick
/// checklists on the way. Returns once `target` is the current step; a
/// `RunStep` for `target` itself is left running and returned.
fn drive_to(state: &mut AppState, target: usize) -> Option<(usize, u32)> {
    let mut queue: VecDeque<Command> = press(state, KeyCode::Char('g')).into();
    let mut running = None;
    for _ in 0..1000 {
        while let Some(cmd) = queue.pop_front() {
            match cmd {
                Command::Journal { op, .. } => {
                    queue.extend(update(
                        state,
                        Msg::Backend(BackendEvent::Journaled { op, error: None }),
                    ));
                }
                Command::RunStep { step, attempt, .. } if step >= target => {
                    running = Some((step, attempt))
                }
                Command::RunStep { step, attempt, .. } => {
                    queue.extend(advance_clock(state, 700));
                    let lines = sample_output(state, step);
                    queue.extend(output(state, step, &lines, 0));
                    queue.extend(advance_clock(state, 800));
                    queue.extend(finished(
                        state,
                        step,
                        attempt,
                        Outcome::Success {
                            exit_code: None,
                            note: None,
                        },
                    ));
                }
                Command::RefreshSignoffs { .. } => {}
                other => panic!("unexpected command while driving the demo: {other:?}"),
            }
        }
        let current = state
            .release
            .current(&state.runbook)
            .expect("the release is not over");
        if current >= target {
            assert_eq!(current, target, "the release stopped at the target step");
            return running;
        }
        match state.view.dialog {
            // push-image is risky; staging does not ask to type its name.
            Some(Dialog::Confirm { .. }) => queue.extend(press(state, KeyCode::Char('y'))),
            // Checklists are ticked item by item, then confirmed.
            Some(Dialog::Tick { ref ticked, .. }) => {
                for _ in 0..ticked.len() {
                    queue.extend(press(state, KeyCode::Char(' ')));
                }
                queue.extend(press(state, KeyCode::Enter))
            }
            Some(ref d) => panic!("unexpected dialog while driving the demo: {d:?}"),
            None if state.release.steps[current].status == StepStatus::Waiting => {
                queue.extend(advance_clock(state, 5_000));
                queue.extend(press(state, KeyCode::Char('t')));
            }
            None => panic!(
                "the release stalled at step {current}: {:?}",
                state.release.steps[current]
            ),
        }
    }
    panic!("the demo did not reach step {target}");
}

/// Acknowledge the journal writes among `cmds`; return the other commands.
fn ack(state: &mut AppState, cmds: Vec<Command>) -> Vec<Command> {
    let mut queue: VecDeque<Command> = cmds.into();
    let mut rest = Vec::new();
    while let Some(cmd) = queue.pop_front() {
        match cmd {
            Command::Journal { op, .. } => {
                queue.extend(update(
                    state,
                    Msg::Backend(BackendEvent::Journaled { op, error: None }),
                ));
            }
            other => rest.push(other),
        }
    }
    rest
}

/// The build step running, its intent journaled, some output shown.
fn building() -> (AppState, u32) {
    let mut state = fresh("alice");
    let (step, attempt) =
        drive_to(&mut state, BUILD_IMAGE).expect("the build step was handed to the runner");
    assert_eq!(step, BUILD_IMAGE);
    assert_eq!(
        state.release.steps[BUILD_IMAGE].status,
        StepStatus::Running { attempt }
    );
    assert_eq!(
        state.view.selected, BUILD_IMAGE,
        "the selection follows the running step"
    );
    (state, attempt)
}

/// The release waiting at its gate, with the gate selected.
fn at_gate(person: &str) -> AppState {
    let mut state = fresh(person);
    drive_to(&mut state, RELEASE_APPROVAL);
    assert_eq!(state.view.selected, RELEASE_APPROVAL);
    state
}

// ---------------------------------------------------------------- drawing

fn draw(state: &AppState) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
    terminal
        .draw(|f| flightdeck::ui::render(state, f))
        .expect("drawing never fails");
    terminal
}

/// Every cell's symbol, row by row.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn assert_shows(terminal: &Terminal<TestBackend>, text: &str) {
    let screen = screen_text(terminal);
    assert!(
        screen.contains(text),
        "the screen shows {text:?}:\n{screen}"
    );
}

/// Nothing raw from a process reaches the terminal.
fn assert_no_control_chars(terminal: &Terminal<TestBackend>) {
    let screen = screen_text(terminal);
    assert!(!screen.contains('\x1b'), "no ESC on screen:\n{screen}");
    assert!(
        !screen.contains('\u{202e}'),
        "no bidi override on screen:\n{screen}"
    );
    assert!(
        !screen.chars().any(|c| c.is_control() && c != '\n'),
        "no control characters on screen:\n{screen}"
    );
}

// ---------------------------------------------------------------- screens

#[test]
fn a_fresh_release_first_step_selected() {
    let state = fresh("alice");
    assert_eq!(state.view.selected, ENV_PRESENT);
    let terminal = draw(&state);
    assert_shows(&terminal, RELEASE_ID);
    insta::assert_snapshot!("a_fresh_release", terminal.backend());
}

#[test]
fn b_command_step_running_with_live_output() {
    let (mut state, _) = building();
    advance_clock(&mut state, 400);
    output(
        &mut state,
        BUILD_IMAGE,
        &[
            (Stream::Stdout, "building demo v1.4.2 for local-1"),
            (Stream::Stdout, "compiling module 1/6"),
            (Stream::Stdout, "compiling module 2/6"),
            (
                Stream::Stderr,
                "\x1b[31merror\x1b[0m: colour codes from the tool are not passed through",
            ),
            (
                Stream::Stdout,
                "file name: \u{202e}txt.exe is shown without reversing",
            ),
            (Stream::Stdout, "compiling module 3/6"),
        ],
        0,
    );
    advance_clock(&mut state, 1_300);
    let terminal = draw(&state);
    assert_no_control_chars(&terminal);
    assert_shows(&terminal, "compiling module 3/6");
    insta::assert_snapshot!("b_command_running", terminal.backend());
}

#[test]
fn c_failed_step_shows_reason_and_red_icon() {
    let (mut state, attempt) = building();
    advance_clock(&mut state, 900);
    output(
        &mut state,
        BUILD_IMAGE,
        &[
            (Stream::Stdout, "building demo v1.4.2 for local-1"),
            (Stream::Stderr, "error: module 2 does not compile"),
        ],
        0,
    );
    advance_clock(&mut state, 600);
    let cmds = finished(
        &mut state,
        BUILD_IMAGE,
        attempt,
        Outcome::Failure {
            reason: "exited with code 2".into(),
            exit_code: Some(2),
        },
    );
    // The outcome is journaled before the screen calls it settled.
    let rest = ack(&mut state, cmds);
    assert!(
        rest.is_empty(),
        "a failure without retries runs nothing more: {rest:?}"
    );
    assert!(matches!(
        state.release.steps[BUILD_IMAGE].status,
        StepStatus::Failed { .. }
    ));

    let terminal = draw(&state);
    assert_shows(&terminal, "exited with code 2");
    insta::assert_snapshot!("c_failed_step", terminal.backend());

    // Snapshots drop colour: the failed step's icon in the checklist is red.
    let buf = terminal.backend().buffer();
    let left = (WIDTH * 2 / 5).clamp(30, 64);
    let icons: Vec<(u16, u16)> = (0..HEIGHT)
        .flat_map(|y| (0..left).map(move |x| (x, y)))
        .filter(|&(x, y)| buf[(x, y)].symbol() == "✘")
        .collect();
    assert_eq!(
        icons.len(),
        1,
        "one failed step in the checklist, at {icons:?}"
    );
    let (x, y) = icons[0];
    assert_eq!(buf[(x, y)].fg, Color::Red, "the failed step's icon is red");
    let row: String = (0..left).map(|x| buf[(x, y)].symbol()).collect();
    assert!(
        row.contains("Build v1.4.2"),
        "the red icon sits on the build step's row: {row:?}"
    );
}

#[test]
fn d_gate_dialog_for_the_initiator_refuses() {
    let mut state = at_gate("alice");
    let cmds = press(&mut state, KeyCode::Char('a'));
    let rest = ack(&mut state, cmds);
    assert!(rest.is_empty(), "refusing runs nothing: {rest:?}");
    assert!(
        state.view.dialog.is_none(),
        "no dialog: {:?}",
        state.view.dialog
    );
    // The refusal is on screen, and the key bar does not offer `a`.
    let terminal = draw(&state);
    assert_shows(
        &terminal,
        "you started this release: another person signs it",
    );
    insta::assert_snapshot!("d_gate_signoff_initiator", terminal.backend());
}

#[test]
fn e_gate_dialog_for_another_person() {
    let mut state = at_gate("bob");
    let cmds = press(&mut state, KeyCode::Char('a'));
    let rest = ack(&mut state, cmds);
    assert!(rest.is_empty(), "opening the gate runs nothing: {rest:?}");
    type_text(&mut state, "changelog and dashboards look fine");
    let Some(Dialog::Signoff { error: None, .. }) = &state.view.dialog else {
        panic!("bob may sign: {:?}", state.view.dialog);
    };
    let terminal = draw(&state);
    assert_shows(&terminal, "as bob@ops-1");
    insta::assert_snapshot!("e_gate_signoff_other_person", terminal.backend());
}

#[test]
fn f_help_overlay() {
    let mut state = fresh("alice");
    let cmds = press(&mut state, KeyCode::Char('?'));
    assert!(cmds.is_empty());
    assert_eq!(state.view.dialog, Some(Dialog::Help));
    let terminal = draw(&state);
    insta::assert_snapshot!("f_help", terminal.backend());
}

#[test]
fn g_interrupted_step_after_resume() {
    let b = demo("alice");
    let mut release = b.new_release();
    for (i, run) in release.steps.iter_mut().enumerate().take(BUILD_IMAGE) {
        run.status = StepStatus::Succeeded;
        run.attempts = 1;
        run.started_at = Some(T0 + 1_000 * i as i64);
        run.finished_at = Some(T0 + 1_000 * i as i64 + 800);
    }
    let build = &mut release.steps[BUILD_IMAGE];
    build.status = StepStatus::Interrupted;
    build.attempts = 1;
    build.started_at = Some(T0 + 3_000);
    // Output restored from the journal, as `session` does on resume.
    let mut outputs = vec![OutputBuffer::default(); release.steps.len()];
    for line in [
        "building demo v1.4.2 for local-1",
        "compiling module 1/6",
        "compiling module 2/6",
    ] {
        outputs[BUILD_IMAGE].push(Stream::Stdout, line.into());
    }
    let mut state = b
        .now(T0 + 600_000)
        .release(release)
        .outputs(outputs)
        .build();
    let cmds = on_resume(&mut state);
    // Only the demo service starts again (it stopped with its driver).
    assert!(
        cmds.iter().all(|c| matches!(
            c,
            flightdeck::protocol::command::Command::StartService { .. }
        )),
        "nothing re-runs by itself: {cmds:?}"
    );
    assert!(matches!(
        state.view.dialog,
        Some(Dialog::Interrupted {
            step: BUILD_IMAGE,
            ..
        })
    ));
    assert_eq!(state.view.selected, BUILD_IMAGE);
    let terminal = draw(&state);
    assert_shows(&terminal, "was interrupted");
    insta::assert_snapshot!("g_interrupted_after_resume", terminal.backend());
}

#[test]
fn h_output_flood_counts_dropped_lines() {
    let (mut state, _) = building();
    let lines: Vec<(Stream, String)> = (1..=10_000)
        .map(|n| (Stream::Stdout, format!("flood line {n:05}")))
        .collect();
    update(
        &mut state,
        Msg::Backend(BackendEvent::StepOutput {
            step: BUILD_IMAGE,
            lines,
            dropped: 5_000,
        }),
    );
    advance_clock(&mut state, 2_000);
    let buf = &state.outputs[BUILD_IMAGE];
    assert_eq!(buf.lines.len(), flightdeck::protocol::output::MAX_LINES);
    assert!(buf.dropped >= 5_000);
    let terminal = draw(&state);
    assert_shows(&terminal, &format!("{} dropped", buf.dropped));
    assert_shows(&terminal, "flood line 10000");
    insta::assert_snapshot!("h_output_flood", terminal.backend());
}

// ---------------------------------------------------------------- NO_COLOR

fn draw_in(mode: flightdeck::ui::ColorMode, state: &AppState) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
    terminal
        .draw(|f| flightdeck::ui::render_with(mode, state, f))
        .expect("drawing never fails");
    terminal
}

#[test]
fn no_color_draws_no_colour_in_any_cell() {
    use flightdeck::ui::ColorMode;
    for state in [at_gate("alice"), building().0] {
        let coloured = draw_in(ColorMode::Color, &state);
        let cells = &coloured.backend().buffer().content;
        assert!(
            cells.iter().any(|c| c.fg != Color::Reset),
            "with colour, some cell has one"
        );
        let plain = draw_in(ColorMode::NoColor, &state);
        let buf = plain.backend().buffer();
        for (i, c) in buf.content.iter().enumerate() {
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "cell {i} ({:?}) has colour under NO_COLOR",
                c.symbol()
            );
        }
        // The same text, and the selection still stands out (reversed).
        assert_eq!(screen_text(&plain), screen_text(&coloured));
        assert!(
            buf.content
                .iter()
                .any(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED)),
            "the selected step is reversed instead of tinted"
        );
    }
}

#[test]
fn no_color_follows_no_color_org() {
    use flightdeck::ui::ColorMode;
    use std::ffi::OsStr;
    assert_eq!(ColorMode::from_no_color(None), ColorMode::Color);
    assert_eq!(
        ColorMode::from_no_color(Some(OsStr::new(""))),
        ColorMode::Color
    );
    assert_eq!(
        ColorMode::from_no_color(Some(OsStr::new("1"))),
        ColorMode::NoColor
    );
    assert_eq!(
        ColorMode::from_no_color(Some(OsStr::new("0"))),
        ColorMode::NoColor
    );
}

// ---------------------------------------------------------------- README

/// README's screenshots are these screens, drawn by the real views: each
/// is kept as text (to read in a diff) and SVG (what README shows). Run
/// with `FLIGHTDECK_UPDATE_SCREENS=1` to write them after a screen changed.
#[test]
fn readme_screens_match_the_real_screens() {
    let update = std::env::var_os("FLIGHTDECK_UPDATE_SCREENS").is_some_and(|v| !v.is_empty());
    let mut gate = at_gate("alice");
    let cmds = press(&mut gate, KeyCode::Enter);
    let rest = ack(&mut gate, cmds);
    assert!(
        rest.iter()
            .all(|c| matches!(c, Command::RefreshSignoffs { .. })),
        "{rest:?}"
    );
    assert_eq!(
        gate.release.steps[RELEASE_APPROVAL].status,
        StepStatus::Waiting
    );
    advance_clock(&mut gate, 900);
    let (mut running, _) = building();
    advance_clock(&mut running, 400);
    let lines = [
        (Stream::Stdout, "building demo v1.4.2 for local-1"),
        (Stream::Stdout, "compiling module 1/6"),
        (Stream::Stdout, "compiling module 2/6"),
        (Stream::Stderr, "warning: 1 deprecated call (demo)"),
    ];
    output(&mut running, BUILD_IMAGE, &lines, 0);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screens");
    let mut stale = Vec::new();
    for (name, state) in [("gate", &gate), ("running", &running)] {
        // As tall as the checklist, so the picture has no empty half.
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, 26)).expect("a test terminal");
        terminal
            .draw(|f| flightdeck::ui::render(state, f))
            .expect("drawing never fails");
        let files = [
            (format!("{name}.txt"), screen_text(&terminal)),
            (
                format!("{name}.svg"),
                screen_svg::svg(terminal.backend().buffer()),
            ),
        ];
        for (file, now) in files {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &now).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(now.as_str()) {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "assets/screens/{stale:?} differ from the screens drawn now; \
         run FLIGHTDECK_UPDATE_SCREENS=1 cargo test --test screens readme and commit them"
    );
}
