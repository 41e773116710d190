//! The step runner: takes `RunStep`/`CancelStep`, runs each step in its own
//! task, sends its output in batches and then `StepFinished`. On shutdown it
//! stops running steps and the background services they left.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::checks::Checker;
use super::process::{
    Background, CancelHandle, CancelSignal, cancel_pair, cut_line, run_command_reporting,
};
use crate::protocol::command::Command;
use crate::protocol::event::BackendEvent;
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::progress::Outcome;

/// Output is sent at most this often per step, so a flood cannot swamp the UI.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);
/// Most lines in one `StepOutput`; more within an interval are dropped and counted.
pub const MAX_BATCH_LINES: usize = 1000;
/// Room kept in each batch for flightdeck's own lines (signals sent, check
/// results), which are never dropped for the step's output.
const INFO_RESERVE: usize = 50;

/// A step task tells the loop it is done (before its `StepFinished`, so a
/// retry sent on seeing that is never refused as "already running").
pub(super) struct Done {
    pub step: usize,
    pub attempt: u32,
    pub background: Option<Background>,
}

/// Run until `rx` closes, then stop everything this runner started.
pub async fn run(mut rx: UnboundedReceiver<Command>, tx: UnboundedSender<BackendEvent>) {
    let checker = Checker::new();
    let mut running: HashMap<usize, (u32, CancelHandle)> = HashMap::new();
    let mut background: Vec<Background> = Vec::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut tasks = JoinSet::new();
    let mut watchers = Vec::new();
    // Which step each task runs, to report a task that panicked.
    let mut task_steps: HashMap<tokio::task::Id, (usize, u32)> = HashMap::new();
    loop {
        tokio::select! {
            biased;
            Some(done) = done_rx.recv() => {
                if running.get(&done.step).is_some_and(|(a, _)| *a == done.attempt) {
                    running.remove(&done.step);
                }
                background.extend(done.background);
            }
            Some((id, panicked)) = join_next(&mut tasks) => {
                let Some((step, attempt)) = task_steps.remove(&id) else { continue };
                if panicked {
                    running.remove(&step);
                    let _ = tx.send(BackendEvent::StepFinished {
                        step,
                        attempt,
                        outcome: Outcome::Failure {
                            reason: "internal error: the step's task panicked".into(),
                            exit_code: None,
                        },
                    });
                }
            }
            cmd = rx.recv() => match cmd {
                Some(Command::RunStep { step, attempt, action, timeout, env }) => {
                    if running.contains_key(&step) {
                        tracing::warn!(step, attempt, "step is already running; RunStep ignored");
                        continue;
                    }
                    let (handle, signal) = cancel_pair();
                    running.insert(step, (attempt, handle));
                    let job = Job { step, attempt, action, timeout, env };
                    let task = tasks.spawn(run_step(job, checker.clone(), signal, tx.clone(), done_tx.clone()));
                    task_steps.insert(task.id(), (step, attempt));
                }
                Some(Command::CancelStep { step }) => {
                    if let Some((_, handle)) = running.get(&step) {
                        handle.cancel();
                    }
                }
                Some(Command::StartService { step, action, env }) => {
                    let (tx, done_tx) = (tx.clone(), done_tx.clone());
                    tasks.spawn(async move {
                        let (background, event) = super::services::start(step, action, env).await;
                        // Never matches a running attempt: only hands the service over.
                        let _ = done_tx.send(Done { step, attempt: u32::MAX, background });
                        let _ = tx.send(event);
                    });
                }
                Some(Command::EndProcess { step, pgid, kill, grace }) => {
                    // Not in `tasks`: waiting for a foreign group must not hold up shutdown.
                    watchers.push(tokio::spawn(super::services::end_group(step, pgid, kill, grace, tx.clone())));
                }
                Some(Command::KubeRollback { step, action, reason }) => {
                    tokio::spawn(super::kube::rollback(step, action, reason, tx.clone()));
                }
                Some(Command::Notify { hook, event, payload }) => {
                    tasks.spawn(super::data::webhook::hook(hook, event, payload, tx.clone()));
                }
                Some(Command::ReadPlan { targets, cluster }) => {
                    let tx = tx.clone();
                    tasks.spawn(async move {
                        let slots = super::plan::read(&targets, cluster).await;
                        let _ = tx.send(BackendEvent::Plan(slots));
                    });
                }
                Some(Command::CheckContent { step, request }) => {
                    let tx = tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let manifest = super::content::read(&request);
                        let _ = tx.send(BackendEvent::Content { step, manifest });
                    });
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    for (_, handle) in running.values() {
        handle.cancel();
    }
    for w in watchers {
        w.abort();
    }
    while tasks.join_next().await.is_some() {}
    while let Ok(done) = done_rx.try_recv() {
        background.extend(done.background);
    }
    futures::future::join_all(background.into_iter().map(Background::stop)).await;
}

/// Reap a finished step task (so the set does not grow): its id and whether
/// it panicked. Pends while there is none.
async fn join_next(tasks: &mut JoinSet<()>) -> Option<(tokio::task::Id, bool)> {
    if tasks.is_empty() {
        std::future::pending::<()>().await;
    }
    match tasks.join_next_with_id().await? {
        Ok((id, ())) => Some((id, false)),
        Err(e) => Some((e.id(), e.is_panic())),
    }
}

struct Job {
    step: usize,
    attempt: u32,
    action: StepAction,
    timeout: Option<Duration>,
    env: BTreeMap<String, String>,
}

async fn run_step(
    job: Job,
    checker: Checker,
    cancel: CancelSignal,
    tx: UnboundedSender<BackendEvent>,
    done_tx: UnboundedSender<Done>,
) {
    let Job {
        step,
        attempt,
        action,
        timeout,
        env,
    } = job;
    let batch = Arc::new(Mutex::new(Batch::default()));
    let flusher = tokio::spawn(flush_every(batch.clone(), step, tx.clone()));
    let sink = |stream, line| lock(&batch).push(stream, line);
    let (outcome, background) = match &action {
        StepAction::Command(spec) => {
            let spawned = |pid| {
                let _ = tx.send(BackendEvent::StepSpawned { step, attempt, pid });
            };
            let ran = run_command_reporting(spec, &env, timeout, cancel, sink, spawned).await;
            (ran.outcome, ran.background)
        }
        StepAction::Check(spec) => (checker.run(spec, &env, timeout, cancel, sink).await, None),
        StepAction::Data(d) => {
            let mut sink = sink;
            let o = super::data::run_action(d, &env, timeout, cancel, &mut sink).await;
            (o, None)
        }
        StepAction::Kube(k) => (
            super::kube::run_step(k, step, timeout, cancel, &tx, sink).await,
            None,
        ),
        StepAction::Manual(_) | StepAction::Gate(_) => (
            Outcome::Failure {
                reason: "a person settles this step; nothing runs it".into(),
                exit_code: None,
            },
            None,
        ),
    };
    // Stop the flusher before the last batch, so batches stay in order.
    flusher.abort();
    let _ = flusher.await;
    if let Some(event) = lock(&batch).take(step) {
        let _ = tx.send(event);
    }
    let _ = done_tx.send(Done {
        step,
        attempt,
        background,
    });
    let _ = tx.send(BackendEvent::StepFinished {
        step,
        attempt,
        outcome,
    });
}

async fn flush_every(batch: Arc<Mutex<Batch>>, step: usize, tx: UnboundedSender<BackendEvent>) {
    let mut tick = tokio::time::interval(BATCH_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let event = lock(&batch).take(step);
        if let Some(event) = event {
            if tx.send(event).is_err() {
                return;
            }
        }
    }
}

fn lock(batch: &Mutex<Batch>) -> std::sync::MutexGuard<'_, Batch> {
    batch.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lines gathered for the next `StepOutput`.
#[derive(Debug, Default)]
struct Batch {
    lines: Vec<(Stream, String)>,
    dropped: u64,
}

impl Batch {
    fn push(&mut self, stream: Stream, line: String) {
        let limit = match stream {
            Stream::Info => MAX_BATCH_LINES,
            Stream::Stdout | Stream::Stderr => MAX_BATCH_LINES - INFO_RESERVE,
        };
        if self.lines.len() < limit {
            self.lines.push((stream, cut_line(line)));
        } else {
            self.dropped += 1;
        }
    }

    fn take(&mut self, step: usize) -> Option<BackendEvent> {
        if self.lines.is_empty() && self.dropped == 0 {
            return None;
        }
        Some(BackendEvent::StepOutput {
            step,
            lines: std::mem::take(&mut self.lines),
            dropped: std::mem::take(&mut self.dropped),
        })
    }
}
