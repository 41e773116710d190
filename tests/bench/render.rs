//! Render timings, as plain figures (no harness): `cargo bench --bench render`.
//!
//! 1. Start to first frame: parse and validate a 60-step runbook, build the
//!    `AppState`, draw one frame into a 200x50 `TestBackend`.
//! 2. Frame render time: a selected step holding 5,000 lines of output,
//!    2,000 frames at 200x50, the selection moving and a few output lines
//!    arriving between frames (outside the timed part).
//!
//! Goals: first frame <= 150 ms, frame p99 <= 4 ms.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use flightdeck::app::keymap::Keymap;
use flightdeck::app::msg::Msg;
use flightdeck::app::setup::Setup;
use flightdeck::app::state::{AppState, Identity};
use flightdeck::app::update::update;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::MAX_LINES;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::progress::Release;
use flightdeck::runbook::{self, StepAction};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
const STAGES: usize = 6;
const STEPS_PER_STAGE: usize = 10;
const FIRST_FRAME_RUNS: usize = 20;
const FRAMES: usize = 2_000;
const FIRST_FRAME_GOAL_MS: f64 = 150.0;
const FRAME_P99_GOAL_US: f64 = 4_000.0;
const T0: i64 = 1_749_978_000_000;

/// 6 stages x 10 steps: commands, HTTP checks, checklists, and a gate
/// closing each stage.
fn runbook_yaml() -> String {
    let mut y = String::from(
        "name: bench\n\
         description: A 60-step runbook for render timings.\n\
         environments:\n  staging:\n    vars:\n      REGION: eu-1\n  production:\n    confirm: true\n\
         inputs:\n  version:\n    pattern: 'v\\d+\\.\\d+\\.\\d+'\n    default: v2.7.1\n  port:\n    type: integer\n    default: 18080\n\
         stages:\n",
    );
    for s in 0..STAGES {
        writeln!(
            y,
            "  - id: stage-{s}\n    title: Stage {s} of the release\n    steps:"
        )
        .unwrap();
        for k in 0..STEPS_PER_STAGE {
            let id = format!("s{s}-step-{k}");
            if k == STEPS_PER_STAGE - 1 {
                writeln!(
                    y,
                    "      - id: {id}\n        title: Approve stage {s}\n        description: Someone other than the initiator signs off.\n        gate:\n          roles:\n            release-approver: 1"
                )
                .unwrap();
                continue;
            }
            match k % 3 {
                0 => writeln!(
                    y,
                    "      - id: {id}\n        title: Deploy ${{inputs.version}} part {k} of stage {s}\n        command:\n          run: |\n            echo deploying ${{inputs.version}} to \"$REGION\"\n            for i in 1 2 3; do echo \"part $i\"; done\n        timeout: 2m\n        retries: 1"
                )
                .unwrap(),
                1 => writeln!(
                    y,
                    "      - id: {id}\n        title: Health of part {k} in stage {s}\n        check:\n          http:\n            url: \"http://127.0.0.1:${{inputs.port}}/health/{s}/{k}\"\n            expect_status: 200\n            expect_json:\n              status: ok\n            max_latency: 500ms"
                )
                .unwrap(),
                _ => writeln!(
                    y,
                    "      - id: {id}\n        title: Look at dashboards for part {k}\n        manual:\n          items:\n            - Error rate for ${{inputs.version}} is flat\n            - Latency p99 below the SLO"
                )
                .unwrap(),
            }
        }
    }
    y
}

fn state_from(text: &str) -> AppState {
    let loaded = runbook::parse_str(text, Path::new("bench.yaml"))
        .unwrap_or_else(|e| panic!("the bench runbook is valid:\n{e}"));
    let inputs =
        runbook::inputs::resolve(&loaded.runbook, &BTreeMap::new()).expect("inputs have defaults");
    let release = Release::new(
        "rel-bench-0001".into(),
        &loaded.runbook,
        loaded.content_hash.clone(),
        "staging".into(),
        inputs,
        "alice".into(),
        T0,
    );
    AppState::new(Setup {
        runbook: loaded.runbook,
        runbook_path: "bench.yaml".into(),
        release,
        identity: Identity {
            person: "alice".into(),
            host: "ops-1".into(),
        },
        process_env: BTreeMap::new(),
        flightdeck_bin: "flightdeck".into(),
        keymap: Keymap::defaults(),
        acks: BTreeSet::new(),
        outputs: Vec::new(),
        now: T0,
    })
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

fn verdict(ok: bool) -> &'static str {
    if ok { "OK" } else { "OVER" }
}

fn output(state: &mut AppState, step: usize, lines: Vec<(Stream, String)>) {
    update(
        state,
        Msg::Backend(BackendEvent::StepOutput {
            step,
            lines,
            dropped: 0,
        }),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let profile = if cfg!(debug_assertions) {
        "debug assertions ON (not an optimized build)"
    } else {
        "optimized"
    };
    println!("flightdeck render bench · {WIDTH}x{HEIGHT} · {profile}");

    // ------------------------------------------------ start to first frame
    let text = runbook_yaml();
    let mut firsts = Vec::with_capacity(FIRST_FRAME_RUNS);
    let mut steps = 0;
    for _ in 0..FIRST_FRAME_RUNS {
        let start = Instant::now();
        let state = state_from(&text);
        let mut term = terminal();
        term.draw(|f| flightdeck::ui::render(&state, f))
            .expect("draw");
        firsts.push(start.elapsed());
        steps = state.step_count();
        std::hint::black_box(&term);
    }
    assert_eq!(steps, STAGES * STEPS_PER_STAGE);
    firsts.sort();
    let median = firsts[firsts.len() / 2];
    let max = *firsts.last().unwrap();
    println!();
    println!(
        "start to first frame ({steps} steps, {} bytes of YAML, {FIRST_FRAME_RUNS} runs)",
        text.len()
    );
    println!(
        "  median {:8.2} ms   max {:8.2} ms   goal <= {FIRST_FRAME_GOAL_MS} ms   {}",
        ms(median),
        ms(max),
        verdict(ms(max) <= FIRST_FRAME_GOAL_MS)
    );

    // ------------------------------------------------ frame render time
    let mut state = state_from(&text);
    // A command step in the middle of the runbook, so the checklist scrolls.
    let heavy = (0..state.step_count())
        .filter(|&i| matches!(state.action(i), Some(StepAction::Command(_))))
        .nth(STAGES * 3 / 2)
        .expect("a command step");
    let lines = (0..MAX_LINES + 200)
        .map(|n| {
            let stream = if n % 17 == 0 { Stream::Stderr } else { Stream::Stdout };
            (stream, format!("{n:06} deploying part {} to eu-1: \x1b[32mok\x1b[0m replicas {}/{} ready, took {} ms", n % 7, n % 5, 5, n % 900))
        })
        .collect();
    output(&mut state, heavy, lines);
    assert_eq!(state.outputs[heavy].lines.len(), MAX_LINES);
    // Select the heavy step through the keymap, as a person would.
    while state.view.selected < heavy {
        update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('j'))));
    }
    let mut term = terminal();
    term.draw(|f| flightdeck::ui::render(&state, f))
        .expect("draw");
    // The frames measured below do show the flood.
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    let last = format!("{:06} deploying part", MAX_LINES + 199);
    assert!(
        screen.contains(&last),
        "the output pane shows the last line"
    );
    let mut frames = Vec::with_capacity(FRAMES);
    let mut n = MAX_LINES + 200;
    for frame in 0..FRAMES {
        // Between frames: the selection moves now and then, output arrives.
        match frame % 8 {
            3 => update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('j')))),
            4 => update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('k')))),
            6 if frame % 64 == 6 => update(&mut state, Msg::Key(KeyEvent::from(KeyCode::PageUp))),
            7 if frame % 64 == 7 => update(&mut state, Msg::Key(KeyEvent::from(KeyCode::PageDown))),
            _ => Vec::new(),
        };
        let batch = (0..3)
            .map(|_| {
                n += 1;
                (
                    Stream::Stdout,
                    format!("{n:06} deploying part {} to eu-1: ok", n % 7),
                )
            })
            .collect();
        output(&mut state, heavy, batch);
        update(&mut state, Msg::Tick(T0 + frame as i64 * 33));
        let start = Instant::now();
        term.draw(|f| flightdeck::ui::render(&state, f))
            .expect("draw");
        frames.push(start.elapsed());
    }
    std::hint::black_box(&term);
    frames.sort();
    let (p50, p95, p99) = (
        percentile(&frames, 50),
        percentile(&frames, 95),
        percentile(&frames, 99),
    );
    let max = *frames.last().unwrap();
    println!();
    println!(
        "frame render ({FRAMES} frames, selected step holds {} lines)",
        state.outputs[heavy].lines.len()
    );
    println!(
        "  p50 {:8.1} us   p95 {:8.1} us   p99 {:8.1} us   max {:8.1} us   goal p99 <= {FRAME_P99_GOAL_US} us   {}",
        us(p50),
        us(p95),
        us(p99),
        us(max),
        verdict(us(p99) <= FRAME_P99_GOAL_US)
    );
}
