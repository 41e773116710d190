//! Commands run for real: output streaming, exit codes, timeout and cancel
//! reaching the whole process group, the runner's batching, background
//! services stopped at shutdown.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flightdeck::backend::process::{CancelSignal, MAX_LINE_BYTES, Ran, cancel_pair, run_command};
use flightdeck::backend::runner;
use flightdeck::protocol::command::Command;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::StepAction;
use flightdeck::runbook::progress::Outcome;
use flightdeck::runbook::{CommandSpec, Program};
use tokio::sync::mpsc;

fn shell(script: &str) -> CommandSpec {
    CommandSpec {
        program: Program::Shell(script.to_string()),
        env: BTreeMap::new(),
        cwd: None,
        grace: Duration::from_secs(2),
        background: false,
    }
}

async fn run(spec: &CommandSpec, timeout: Option<Duration>) -> (Ran, Vec<(Stream, String)>) {
    let mut lines = Vec::new();
    let ran = tokio::time::timeout(
        Duration::from_secs(30),
        run_command(
            spec,
            &BTreeMap::new(),
            timeout,
            CancelSignal::never(),
            |s, l| lines.push((s, l)),
        ),
    )
    .await
    .expect("command did not finish");
    (ran, lines)
}

fn of(lines: &[(Stream, String)], stream: Stream) -> Vec<&str> {
    lines
        .iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, l)| l.as_str())
        .collect()
}

/// Alive and not a zombie (a container's init may leave zombies unreaped).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

async fn wait_for(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test]
async fn streams_stdout_and_stderr_in_order() {
    let spec = shell(
        "echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf 'bad\\377byte\\r\\n'; printf 'no newline'",
    );
    let (ran, lines) = run(&spec, None).await;
    assert_eq!(
        ran.outcome,
        Outcome::Success {
            exit_code: Some(0),
            note: None
        }
    );
    assert_eq!(
        of(&lines, Stream::Stdout),
        ["out1", "out2", "bad\u{fffd}byte", "no newline"]
    );
    assert_eq!(of(&lines, Stream::Stderr), ["err1", "err2"]);
    assert!(lines[0].0 == Stream::Info && lines[0].1.starts_with("started pid "));
}

#[tokio::test]
async fn non_zero_exit_is_a_failure_with_its_code() {
    let (ran, _) = run(&shell("echo about to fail; exit 3"), None).await;
    assert_eq!(
        ran.outcome,
        Outcome::Failure {
            reason: "exited with code 3".into(),
            exit_code: Some(3)
        }
    );
}

#[tokio::test]
async fn argv_env_and_cwd_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CommandSpec {
        program: Program::Argv(vec!["sh".into(), "-c".into(), "echo \"$A $B\"; pwd".into()]),
        cwd: Some(dir.path().to_string_lossy().into_owned()),
        ..shell("")
    };
    spec.env.insert("B".into(), "from-step".into());
    let extra: BTreeMap<String, String> = [
        ("A".into(), "from-env".into()),
        ("B".into(), "overridden".into()),
    ]
    .into();
    let mut lines = Vec::new();
    let ran = run_command(&spec, &extra, None, CancelSignal::never(), |s, l| {
        lines.push((s, l))
    })
    .await;
    assert!(
        matches!(ran.outcome, Outcome::Success { .. }),
        "{:?}",
        ran.outcome
    );
    let out = of(&lines, Stream::Stdout);
    assert_eq!(out[0], "from-env from-step");
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(std::fs::canonicalize(out[1]).unwrap(), cwd);
}

#[tokio::test]
async fn a_missing_program_fails_clearly() {
    let spec = CommandSpec {
        program: Program::Argv(vec!["flightdeck-no-such-program".into()]),
        ..shell("")
    };
    let (ran, _) = run(&spec, None).await;
    match ran.outcome {
        Outcome::Failure {
            reason,
            exit_code: None,
        } => {
            assert!(
                reason.contains("could not start `flightdeck-no-such-program`"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn long_lines_are_cut_while_reading() {
    // 1 MB without a newline, then a normal line.
    let (ran, lines) = run(
        &shell("head -c 1000000 /dev/zero | tr '\\0' x; echo; echo after"),
        None,
    )
    .await;
    assert!(matches!(ran.outcome, Outcome::Success { .. }));
    let out = of(&lines, Stream::Stdout);
    assert_eq!(out.len(), 2, "one cut line, then the next");
    assert!(out[0].len() <= MAX_LINE_BYTES + 64);
    assert!(out[0].starts_with("xxxx") && out[0].contains("line cut"));
    assert_eq!(out[1], "after");
}

#[tokio::test]
async fn timeout_stops_the_process_within_grace() {
    let spec = shell("echo sleeping; sleep 30");
    let start = Instant::now();
    let (ran, lines) = run(&spec, Some(Duration::from_millis(300))).await;
    let took = start.elapsed();
    assert_eq!(
        ran.outcome,
        Outcome::Failure {
            reason: "timed out after 300ms".into(),
            exit_code: None
        }
    );
    assert!(
        took < Duration::from_millis(300) + spec.grace,
        "took {took:?}"
    );
    let info = of(&lines, Stream::Info).join("\n");
    assert!(
        info.contains("SIGTERM") && !info.contains("SIGKILL"),
        "{info}"
    );
}

#[tokio::test]
async fn cancel_escalates_to_sigkill_after_grace() {
    // The shell ignores TERM, and `sleep` inherits that: only SIGKILL ends them.
    let spec = CommandSpec {
        grace: Duration::from_millis(500),
        ..shell("trap '' TERM; sleep 30 & echo \"child $!\"; wait")
    };
    let (handle, signal) = cancel_pair();
    let (line_tx, mut line_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        run_command(&spec, &BTreeMap::new(), None, signal, move |s, l| {
            let _ = line_tx.send((s, l));
        })
        .await
    });
    let mut seen = Vec::new();
    let child: i32 = loop {
        let (s, l) = tokio::time::timeout(Duration::from_secs(10), line_rx.recv())
            .await
            .expect("no output")
            .expect("ended early");
        seen.push((s, l.clone()));
        if let Some(pid) = l.strip_prefix("child ") {
            break pid.parse().unwrap();
        }
    };
    assert!(alive(child));
    let cancelled_at = Instant::now();
    handle.cancel();
    let ran = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("cancel hung")
        .unwrap();
    let took = cancelled_at.elapsed();
    while let Ok(line) = line_rx.try_recv() {
        seen.push(line);
    }
    assert_eq!(
        ran.outcome,
        Outcome::Failure {
            reason: "cancelled".into(),
            exit_code: None
        }
    );
    assert!(
        took >= Duration::from_millis(500),
        "SIGKILL before grace: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let info = of(&seen, Stream::Info).join("\n");
    assert!(info.contains("SIGKILL"), "{info}");
    assert!(
        wait_for(|| !alive(child), Duration::from_secs(2)).await,
        "grandchild survived"
    );
}

#[tokio::test]
async fn leftover_processes_end_with_the_step() {
    let spec = shell("sleep 30 & echo \"child $!\"");
    let (ran, lines) = run(&spec, None).await;
    assert!(
        matches!(ran.outcome, Outcome::Success { .. }),
        "{:?}",
        ran.outcome
    );
    let child: i32 = of(&lines, Stream::Stdout)[0]
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        wait_for(|| !alive(child), Duration::from_secs(2)).await,
        "leftover survived"
    );
}

fn start_runner() -> (
    mpsc::UnboundedSender<Command>,
    mpsc::UnboundedReceiver<BackendEvent>,
    tokio::task::JoinHandle<()>,
) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(runner::run(cmd_rx, ev_tx));
    (cmd_tx, ev_rx, handle)
}

fn run_step(step: usize, spec: CommandSpec, timeout: Option<Duration>) -> Command {
    Command::RunStep {
        step,
        attempt: 1,
        action: StepAction::Command(spec),
        timeout,
        env: BTreeMap::new(),
    }
}

/// Events for `step` up to and including its `StepFinished`.
async fn until_finished(
    events: &mut mpsc::UnboundedReceiver<BackendEvent>,
    step: usize,
) -> (Vec<BackendEvent>, Outcome) {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("no StepFinished")
            .expect("runner ended");
        match event {
            BackendEvent::StepFinished {
                step: s, outcome, ..
            } if s == step => return (seen, outcome),
            other => seen.push(other),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_arrives_batched_and_counted() {
    let (cmds, mut events, _runner) = start_runner();
    cmds.send(run_step(7, shell("yes | head -n 200000"), None))
        .unwrap();
    let (seen, outcome) = until_finished(&mut events, 7).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    let (mut delivered, mut dropped, mut batches) = (0u64, 0u64, 0);
    for event in &seen {
        if matches!(event, BackendEvent::StepSpawned { step: 7, .. }) {
            continue;
        }
        let BackendEvent::StepOutput {
            step,
            lines,
            dropped: d,
        } = event
        else {
            panic!("unexpected {event:?}")
        };
        assert_eq!(*step, 7);
        assert!(lines.len() <= runner::MAX_BATCH_LINES);
        delivered += lines
            .iter()
            .filter(|(s, l)| *s == Stream::Stdout && l == "y")
            .count() as u64;
        dropped += d;
        batches += 1;
    }
    assert_eq!(delivered + dropped, 200_000);
    assert!(batches >= 1 && delivered > 0);
}

#[tokio::test]
async fn runner_cancel_step_reports_cancelled() {
    let (cmds, mut events, _runner) = start_runner();
    cmds.send(run_step(1, shell("echo ready; sleep 30"), None))
        .unwrap();
    // Wait until it is really running, then cancel.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            BackendEvent::StepOutput { lines, .. } if lines.iter().any(|(_, l)| l == "ready") => {
                break;
            }
            BackendEvent::StepFinished { outcome, .. } => panic!("finished early: {outcome:?}"),
            _ => {}
        }
    }
    cmds.send(Command::CancelStep { step: 1 }).unwrap();
    let (_, outcome) = until_finished(&mut events, 1).await;
    assert!(
        matches!(&outcome, Outcome::Failure { reason, .. } if reason == "cancelled"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn background_survives_success_and_stops_at_shutdown() {
    let (cmds, mut events, runner_task) = start_runner();
    let spec = CommandSpec {
        background: true,
        ..shell("sleep 30 & echo \"child $!\"; wait")
    };
    cmds.send(run_step(2, spec, Some(Duration::from_secs(10))))
        .unwrap();
    let (seen, outcome) = until_finished(&mut events, 2).await;
    assert!(
        matches!(
            outcome,
            Outcome::Success {
                exit_code: None,
                ..
            }
        ),
        "{outcome:?}"
    );
    let lines: Vec<(Stream, String)> = seen
        .into_iter()
        .flat_map(|e| match e {
            BackendEvent::StepOutput { lines, .. } => lines,
            _ => Vec::new(),
        })
        .collect();
    let leader: i32 = of(&lines, Stream::Info)
        .iter()
        .find_map(|l| l.strip_prefix("running in the background (pid "))
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .expect("pid reported");
    let child: i32 = of(&lines, Stream::Stdout)
        .iter()
        .find_map(|l| l.strip_prefix("child "))
        .expect("child pid printed")
        .parse()
        .unwrap();
    // Still running well after the step succeeded.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(leader) && alive(child));

    drop(cmds);
    tokio::time::timeout(Duration::from_secs(10), runner_task)
        .await
        .expect("runner did not shut down")
        .unwrap();
    assert!(!alive(leader), "leader outlived the runner");
    assert!(
        wait_for(|| !alive(child), Duration::from_secs(2)).await,
        "child outlived the runner"
    );
}

#[tokio::test]
async fn a_background_process_that_exits_at_once_fails() {
    let spec = CommandSpec {
        background: true,
        ..shell("echo starting; exit 4")
    };
    let (ran, _) = run(&spec, None).await;
    assert!(ran.background.is_none());
    assert!(
        matches!(
            ran.outcome,
            Outcome::Failure {
                exit_code: Some(4),
                ..
            }
        ),
        "{:?}",
        ran.outcome
    );
}
