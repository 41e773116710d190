//! Following the logs of a rollout's pods: one stream per container (new
//! ReplicaSet first, a few old ones too), merged into batches with a pod
//! prefix, bounded per batch with the overflow counted. Reconnects resume
//! after the last timestamp seen, so lines are neither lost nor repeated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::LogParams;
use kube::{Api, Client};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::report::Reporter;
use crate::protocol::kube::{KubeEvent, LogLine};
use crate::runbook::rollout::RolloutSnapshot;

/// Batches go to the UI this often.
pub const LOG_BATCH_EVERY: Duration = Duration::from_millis(50);
/// Most lines in one batch; more are dropped and counted (400,000 lines/s,
/// room for the bursts log servers send).
pub const MAX_LOG_BATCH: usize = 20_000;
/// Streams followed per rollout: new pods, then old ones.
pub const MAX_NEW_STREAMS: usize = 10;
pub const MAX_OLD_STREAMS: usize = 4;
/// Longest line kept, in bytes (the UI cuts further).
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most text bytes in one batch (20,000 lines of 8 KiB would be 160 MB).
pub const MAX_LOG_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Lines gathered for the next `PodLogs` event.
#[derive(Debug, Default)]
pub struct LogBatch {
    pub lines: Vec<LogLine>,
    pub dropped: u64,
    /// Text bytes in `lines`.
    pub bytes: usize,
}

impl LogBatch {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() < MAX_LOG_BATCH && self.bytes + line.text.len() <= MAX_LOG_BATCH_BYTES {
            self.bytes += line.text.len();
            self.lines.push(line);
        } else {
            self.dropped += 1;
        }
    }

    pub fn take(&mut self) -> Option<KubeEvent> {
        if self.lines.is_empty() && self.dropped == 0 {
            return None;
        }
        self.bytes = 0;
        Some(KubeEvent::PodLogs {
            lines: std::mem::take(&mut self.lines),
            dropped: std::mem::take(&mut self.dropped),
        })
    }
}

pub type SharedBatch = Arc<Mutex<LogBatch>>;

fn lock(b: &SharedBatch) -> std::sync::MutexGuard<'_, LogBatch> {
    b.lock().unwrap_or_else(|e| e.into_inner())
}

/// Send the batch every `LOG_BATCH_EVERY` until aborted.
pub fn spawn_flusher(batch: SharedBatch, report: Reporter) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LOG_BATCH_EVERY);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ev = lock(&batch).take();
            if let Some(ev) = ev
                && !report.send(ev)
            {
                return;
            }
        }
    })
}

/// Split "2024-01-02T03:04:05.123456789Z text" into its timestamp and text.
pub fn split_timestamp(line: &str) -> (Option<Timestamp>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) => match ts.parse::<Timestamp>() {
            Ok(t) => (Some(t), rest),
            Err(_) => (None, line),
        },
        None => match line.parse::<Timestamp>() {
            Ok(t) => (Some(t), ""),
            Err(_) => (None, line),
        },
    }
}

/// Follow one container's log until aborted: reconnect after the stream
/// ends (restart, API hiccup), from the last timestamp seen.
pub async fn follow_container(
    api: Api<Pod>,
    pod: String,
    container: String,
    source: Arc<str>,
    new: bool,
    batch: SharedBatch,
) {
    let mut last: Option<Timestamp> = None;
    let mut backoff = Duration::from_millis(500);
    loop {
        let lp = LogParams {
            container: Some(container.clone()),
            follow: true,
            timestamps: true,
            since_time: last,
            ..Default::default()
        };
        match api.log_stream(&pod, &lp).await {
            Ok(reader) => {
                backoff = Duration::from_millis(500);
                let mut lines = reader.lines();
                while let Ok(Some(mut raw)) = lines.try_next().await {
                    if raw.len() > MAX_LINE_BYTES {
                        let mut cut = MAX_LINE_BYTES;
                        while !raw.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        raw.truncate(cut);
                    }
                    let (ts, text) = split_timestamp(&raw);
                    if let (Some(t), Some(l)) = (ts, last)
                        && t <= l
                    {
                        continue; // seen before the reconnect
                    }
                    if ts.is_some() {
                        last = ts;
                    }
                    lock(&batch).push(LogLine {
                        source: source.clone(),
                        new,
                        text: text.to_string(),
                    });
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return,
            Err(_) => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Which containers' logs are followed, kept in step with the snapshots.
pub struct LogFollower {
    api: Api<Pod>,
    batch: SharedBatch,
    flusher: JoinHandle<()>,
    streams: HashMap<(String, String), JoinHandle<()>>,
}

impl LogFollower {
    pub fn new(client: Client, ns: &str, report: Reporter) -> LogFollower {
        let batch = SharedBatch::default();
        LogFollower {
            api: Api::namespaced(client, ns),
            flusher: spawn_flusher(batch.clone(), report),
            batch,
            streams: HashMap::new(),
        }
    }

    /// Start streams for the pods worth following, stop those gone.
    pub fn update(&mut self, s: &RolloutSnapshot) {
        let mut wanted: Vec<(String, String, bool, bool)> = Vec::new();
        let (mut new_n, mut old_n) = (0, 0);
        for p in &s.pods {
            let is_new = s.is_new_pod(p);
            let started = p
                .containers
                .iter()
                .any(|c| c.waiting_reason.is_none() || c.restarts > 0);
            if p.deleting || !started {
                continue;
            }
            let (count, max) = if is_new {
                (&mut new_n, MAX_NEW_STREAMS)
            } else {
                (&mut old_n, MAX_OLD_STREAMS)
            };
            if *count >= max {
                continue;
            }
            *count += 1;
            let several = p.containers.len() > 1;
            for c in &p.containers {
                wanted.push((p.name.clone(), c.name.clone(), is_new, several));
            }
        }
        let keep: std::collections::HashSet<(String, String)> = wanted
            .iter()
            .map(|(p, c, _, _)| (p.clone(), c.clone()))
            .collect();
        self.streams.retain(|k, h| {
            let stay = keep.contains(k);
            if !stay {
                h.abort();
            }
            stay
        });
        for (pod, container, new, several) in wanted {
            let key = (pod.clone(), container.clone());
            if self.streams.contains_key(&key) {
                continue;
            }
            let source: Arc<str> = if several {
                format!("{pod}/{container}").into()
            } else {
                pod.clone().into()
            };
            let task = tokio::spawn(follow_container(
                self.api.clone(),
                pod,
                container,
                source,
                new,
                self.batch.clone(),
            ));
            self.streams.insert(key, task);
        }
    }

    /// Stop every stream; send what is left.
    pub async fn stop(self) {
        for (_, h) in self.streams {
            h.abort();
        }
        // One last flush, then stop the flusher.
        tokio::time::sleep(LOG_BATCH_EVERY).await;
        self.flusher.abort();
    }
}
