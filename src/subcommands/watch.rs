//! `flightdeck watch`: on-call rollout health without a runbook. Read-only:
//! the journal is opened read-only (never created, migrated or written),
//! nothing in the cluster changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{CmdResult, EXIT_OK, Failure};
use crate::app::msg::Msg;
use crate::app::watch::{WatchMsg, WatchState, update};
use crate::backend::kube::fleet::{self, Scope};
use crate::backend::kube::logs::{self, SharedBatch};
use crate::backend::kube::{Reporter, client};
use crate::cli::WatchArgs;
use crate::clock::now_ms;
use crate::protocol::event::BackendEvent;
use crate::protocol::kube::LogLine;
use crate::protocol::watch::{WatchCommand, WatchEvent};
use crate::runbook::kube::Cluster;
use crate::settings::Settings;
use crate::terminal::TerminalGuard;

/// At most ~30 frames a second.
const FRAME: Duration = Duration::from_millis(33);
/// Countdowns tick once a second.
const TICK: Duration = Duration::from_secs(1);

pub async fn run(settings: &Settings, args: WatchArgs) -> CmdResult {
    let resolved = client::resolve(
        None,
        args.kube.context.as_deref(),
        args.kube.namespace.as_deref(),
    )
    .map_err(|e| {
        Failure::invalid(format!("kube: {e}")).suggest(
            "name a context of your kubeconfig with --context (`kubectl config get-contexts`)",
        )
    })?;
    let cluster = Cluster {
        kubeconfig: resolved.kubeconfig.clone(),
        context: Some(resolved.context.clone()),
        namespace: resolved.namespace.clone(),
    };
    let kube = client::client(&cluster)
        .await
        .map_err(|e| Failure::failed(format!("kube: {e}")))?;
    let scope = Scope {
        namespace: (!args.all_namespaces).then(|| resolved.namespace.clone()),
        selector: args.selector.clone(),
        names: args.deployments.clone(),
    };
    let mut words = format!("context {}", resolved.context);
    match &scope.namespace {
        Some(ns) => words.push_str(&format!(" · namespace {ns}")),
        None => words.push_str(" · all namespaces"),
    }
    if let Some(sel) = &scope.selector {
        words.push_str(&format!(" · -l {sel}"));
    }
    let mut state = WatchState::new(words, args.all_namespaces, now_ms());
    let colors = crate::ui::ColorMode::from_env();
    let mut guard =
        TerminalGuard::enter().map_err(|e| Failure::terminal("cannot open the terminal", e))?;
    if let Ok(size) = guard.terminal.size() {
        update(&mut state, WatchMsg::Resize(size.height));
    }
    let (wtx, mut wrx) = mpsc::unbounded_channel::<WatchEvent>();
    let (btx, mut brx) = mpsc::unbounded_channel::<BackendEvent>();
    let journal = tokio::spawn(crate::backend::watch_journal::run(
        crate::backend::watch_journal::JournalSource {
            target: settings.journal.clone(),
            key_path: settings.audit_key_path.clone(),
            server: resolved.server.clone(),
        },
        wtx.clone(),
    ));
    let list = tokio::spawn(fleet::run(kube.clone(), scope, wtx));
    let mut backends = Backends {
        client: kube,
        tx: btx,
        open: None,
        logs: Vec::new(),
    };
    let input = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => Some(WatchMsg::Key(k)),
            Ok(TermEvent::Resize(_, h)) => Some(WatchMsg::Resize(h)),
            // The wheel moves through the list or pod table as ↑/↓ do.
            Ok(TermEvent::Mouse(m)) => wheel_key(m.kind).map(WatchMsg::Key),
            _ => None,
        }
    });
    let signals = crate::signals::shutdown_stream().map(|m| match m {
        Msg::Shutdown => WatchMsg::Shutdown,
        _ => WatchMsg::Shutdown,
    });
    let mut input = futures::stream::select(Box::pin(input), signals);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut frames: Vec<u32> = Vec::new();
    let mut last_draw = Instant::now() - FRAME;
    let mut result: std::io::Result<()> = Ok(());
    loop {
        if state.quit {
            break;
        }
        if state.dirty && last_draw.elapsed() >= FRAME {
            let t = Instant::now();
            let drawn = guard.terminal.draw(|f| {
                crate::ui::watch::render(&state, f);
                crate::ui::paint(colors, f);
            });
            if let Err(e) = drawn {
                result = Err(e);
                break;
            }
            frames.push(t.elapsed().as_micros() as u32);
            state.dirty = false;
            last_draw = Instant::now();
        }
        let frame_due = tokio::time::sleep(FRAME.saturating_sub(last_draw.elapsed()));
        let msg = tokio::select! {
            biased;
            k = input.next() => match k { Some(m) => m, None => WatchMsg::Shutdown },
            ev = wrx.recv() => match ev {
                Some(ev) => WatchMsg::Backend(ev),
                None => continue,
            },
            ev = brx.recv() => match ev {
                Some(BackendEvent::Kube { step, event }) => {
                    WatchMsg::Backend(WatchEvent::Kube { open: step as u64, event })
                }
                _ => continue,
            },
            _ = tick.tick() => WatchMsg::Tick(now_ms()),
            _ = frame_due, if state.dirty => continue,
        };
        if !matches!(msg, WatchMsg::Tick(_)) {
            state.now = now_ms().max(state.now);
        }
        for c in update(&mut state, msg) {
            backends.run(c);
        }
    }
    drop(guard);
    list.abort();
    journal.abort();
    backends.stop();
    result.map_err(|e| Failure::terminal("terminal", e))?;
    super::out::say(frame_stats(&mut frames));
    Ok(EXIT_OK)
}

/// The key a wheel notch stands for in `watch` (↑ or ↓).
fn wheel_key(kind: crossterm::event::MouseEventKind) -> Option<crossterm::event::KeyEvent> {
    use crossterm::event::{KeyCode, KeyEvent, MouseEventKind};
    match kind {
        MouseEventKind::ScrollUp => Some(KeyEvent::from(KeyCode::Up)),
        MouseEventKind::ScrollDown => Some(KeyEvent::from(KeyCode::Down)),
        _ => None,
    }
}

/// "frames 120 · p50 0.4 ms · p99 2.1 ms" (the benchmark reads it).
pub fn frame_stats(frames: &mut [u32]) -> String {
    if frames.is_empty() {
        return "frames 0".into();
    }
    frames.sort_unstable();
    let at = |q: f64| {
        let i = ((frames.len() as f64 - 1.0) * q).round() as usize;
        frames[i] as f64 / 1000.0
    };
    format!(
        "frames {} · p50 {:.2} ms · p99 {:.2} ms · max {:.2} ms",
        frames.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// The tasks following the opened Deployment and the picked pod's logs.
struct Backends {
    client: Client,
    tx: mpsc::UnboundedSender<BackendEvent>,
    open: Option<JoinHandle<()>>,
    logs: Vec<JoinHandle<()>>,
}

impl Backends {
    fn reporter(&self, open: u64) -> Reporter {
        Reporter {
            step: open as usize,
            tx: self.tx.clone(),
        }
    }

    fn stop_logs(&mut self) {
        for h in self.logs.drain(..) {
            h.abort();
        }
    }

    fn stop(&mut self) {
        self.stop_logs();
        if let Some(h) = self.open.take() {
            h.abort();
        }
    }

    fn run(&mut self, c: WatchCommand) {
        match c {
            WatchCommand::Open {
                open,
                namespace,
                deployment,
            } => {
                self.stop();
                let client = self.client.clone();
                let report = self.reporter(open);
                self.open = Some(tokio::spawn(async move {
                    crate::backend::kube::watch::observe(&client, &namespace, &deployment, &report)
                        .await
                }));
            }
            WatchCommand::Close => self.stop(),
            WatchCommand::Logs {
                open,
                namespace,
                pod,
                containers,
                previous,
            } => {
                self.stop_logs();
                let batch = SharedBatch::default();
                self.logs
                    .push(logs::spawn_flusher(batch.clone(), self.reporter(open)));
                let api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
                let several = containers.len() > 1;
                for c in containers {
                    let source: Arc<str> = if several {
                        format!("{pod}/{c}").into()
                    } else {
                        pod.clone().into()
                    };
                    let task = if previous {
                        tokio::spawn(previous_logs(
                            api.clone(),
                            pod.clone(),
                            c,
                            source,
                            batch.clone(),
                        ))
                    } else {
                        tokio::spawn(logs::follow_container(
                            api.clone(),
                            pod.clone(),
                            c,
                            source,
                            true,
                            batch.clone(),
                        ))
                    };
                    self.logs.push(task);
                }
            }
        }
    }
}

/// The previous container's log, once (a crash loop's last words).
async fn previous_logs(
    api: Api<Pod>,
    pod: String,
    container: String,
    source: Arc<str>,
    batch: SharedBatch,
) {
    // The tail that fits the pane's buffer, not a whole crash log.
    let lp = LogParams {
        container: Some(container.clone()),
        previous: true,
        tail_lines: Some(crate::app::state::MAX_LOG_LINES as i64),
        limit_bytes: Some(4 * crate::app::state::MAX_LOG_BYTES as i64),
        ..Default::default()
    };
    let text = match api.logs(&pod, &lp).await {
        Ok(t) => t,
        Err(e) => format!("no previous log of {pod}/{container}: {e}"),
    };
    let mut b = batch.lock().unwrap_or_else(|e| e.into_inner());
    for line in text.lines() {
        b.push(LogLine {
            source: source.clone(),
            new: true,
            text: line.to_string(),
        });
    }
}
