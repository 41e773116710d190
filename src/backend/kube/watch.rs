//! Following one Deployment's rollout with `kube::runtime` watchers (no
//! polling): the Deployment, its ReplicaSets, their pods and the related
//! Events. Each watch keeps its own store, replaced whole on a relist (410
//! Gone), so a reconnect neither duplicates nor loses objects. A broken
//! watch is reported as "reconnecting" until the API server answers again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

use super::convert;
use super::error::KubeError;
use super::logs::LogFollower;
use super::report::{Reporter, Sink};
use crate::backend::process::CancelSignal;
use crate::protocol::kube::{ConnState, KubeEvent};
use crate::protocol::output::Stream;
use crate::runbook::duration::format_duration;
use crate::runbook::kube::RollbackOn;
use crate::runbook::rollout::{
    self, EventSnap, Fired, HealthTracker, Hold, PodSnap, RolloutSnapshot, Verdict,
};

/// Snapshots go to the UI at most this often (the first of a burst at once).
pub const EMIT_EVERY: Duration = Duration::from_millis(40);
/// Events kept per watch (newest).
const MAX_EVENTS_KEPT: usize = 300;
/// Objects per list page (kube-rs defaults to 500: 13 round trips for 6,250 pods).
pub(crate) const LIST_PAGE: u32 = 10_000;
/// `observe` rebuilds a snapshot for new events alone at most this often
/// (hundreds of pods failing probes bump events ~100 times a second).
const EVENTS_EVERY: Duration = Duration::from_secs(5);
/// Deployments of this many replicas have their probe-failure events
/// sampled (`PROBE_SAMPLE` every `PROBE_SAMPLE_EVERY`) instead of watched.
pub const SAMPLE_PROBES_FROM: i32 = 200;
const PROBE_SAMPLE: u32 = 20;
const PROBE_SAMPLE_EVERY: Duration = Duration::from_secs(15);
/// While a watch is broken, the API server is asked this often whether it is back.
const PROBE_EVERY: Duration = Duration::from_millis(1000);

/// How a followed rollout ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Complete(String),
    Failed(String),
    Fired(Fired),
    /// Rolled out, but a metric trigger never gave a conclusive healthy
    /// answer: a person decides.
    Inconclusive(String),
}

/// The answers of a metric trigger so far.
#[derive(Default)]
struct MetricTracker {
    breaches: u32,
    /// The last answer: Some(true) healthy, Some(false) breached, None
    /// inconclusive (or not asked yet).
    last: Option<bool>,
}

pub struct Follow<'a> {
    pub client: &'a Client,
    pub namespace: &'a str,
    pub deployment: &'a str,
    /// "rollout" or "undo", for the pane.
    pub phase: &'a str,
    pub rollback_on: Option<&'a RollbackOn>,
    /// The generation the change produced: anything older is not the rollout.
    pub min_generation: Option<i64>,
    pub deadline: Option<(Instant, Duration)>,
    pub cancel: CancelSignal,
    pub follow_logs: bool,
}

/// What the watch tasks send to the loop.
enum Msg {
    Deployment(Event<Deployment>),
    ReplicaSet(Event<ReplicaSet>),
    Pod(Event<PodSnap>),
    Event(Event<EventSnap>),
    Broken(usize, String),
    Flowing(usize),
}

/// What a watch task reports besides objects (a rollout's watches and
/// `flightdeck watch`'s list share `watch_task`).
pub(crate) trait WatchSignal {
    fn broken(index: usize, error: String) -> Self;
    fn flowing(index: usize) -> Self;
}

impl WatchSignal for Msg {
    fn broken(index: usize, error: String) -> Self {
        Msg::Broken(index, error)
    }
    fn flowing(index: usize) -> Self {
        Msg::Flowing(index)
    }
}

/// One kind of object, with the relist buffer of the watcher protocol.
pub(crate) struct Store<T> {
    pub(crate) items: HashMap<String, T>,
    relist: Option<HashMap<String, T>>,
    /// The first full list has arrived: "absent" now means absent.
    pub(crate) synced: bool,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            items: HashMap::new(),
            relist: None,
            synced: false,
        }
    }
}

impl<T> Store<T> {
    pub(crate) fn apply(&mut self, ev: Event<T>, key: impl Fn(&T) -> String) {
        match ev {
            Event::Init => self.relist = Some(HashMap::new()),
            Event::InitApply(o) => {
                let k = key(&o);
                self.relist.get_or_insert_with(HashMap::new).insert(k, o);
            }
            Event::InitDone => {
                if let Some(fresh) = self.relist.take() {
                    self.items = fresh;
                }
                self.synced = true;
            }
            Event::Apply(o) => {
                self.items.insert(key(&o), o);
            }
            Event::Delete(o) => {
                self.items.remove(&key(&o));
            }
        }
    }
}

fn uid<K: kube::Resource>(o: &K) -> String {
    o.meta()
        .uid
        .clone()
        .unwrap_or_else(|| o.meta().name.clone().unwrap_or_default())
}

/// The watches of one Deployment's rollout and the stores they fill.
pub struct Watches {
    rx: mpsc::UnboundedReceiver<Msg>,
    tasks: JoinSet<()>,
    deployment: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<PodSnap>,
    events: Store<EventSnap>,
    broken: [Option<String>; 4],
    last_broken: Option<Instant>,
    name: String,
    /// Starts the events watch once the pods are listed.
    pods_in: Option<tokio::sync::oneshot::Sender<()>>,
    /// The Deployment, a ReplicaSet or a pod changed (not only events)
    /// since `observe` last built a snapshot.
    objects_changed: bool,
}

fn config() -> watcher::Config {
    // Consistent lists (not from the watch cache), so a change just made is
    // never missing from the first snapshot.
    watcher::Config::default()
}

/// A watcher's task: send its events; on an error report it, wait a
/// little (0.25 s doubling to 2 s) and let the watcher recover (resume or
/// relist). Callers spawn it into their `JoinSet`.
pub(crate) async fn watch_task<K, T, M>(
    index: usize,
    api: Api<K>,
    cfg: watcher::Config,
    tx: mpsc::UnboundedSender<M>,
    map: impl Fn(K) -> Option<T> + Send + 'static,
    wrap: fn(Event<T>) -> M,
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    T: Send + 'static,
    M: WatchSignal + Send + 'static,
{
    let mut stream = watcher::watcher(api, cfg).boxed();
    let mut backoff = Duration::from_millis(250);
    let mut broken = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(ev) => {
                if broken {
                    broken = false;
                    backoff = Duration::from_millis(250);
                    let _ = tx.send(M::flowing(index));
                }
                let mapped = match ev {
                    Event::Init => Some(Event::Init),
                    Event::InitDone => Some(Event::InitDone),
                    Event::InitApply(o) => map(o).map(Event::InitApply),
                    Event::Apply(o) => map(o).map(Event::Apply),
                    Event::Delete(o) => map(o).map(Event::Delete),
                };
                if let Some(ev) = mapped
                    && tx.send(wrap(ev)).is_err()
                {
                    return;
                }
            }
            Err(e) => {
                broken = true;
                if tx.send(M::broken(index, e.to_string())).is_err() {
                    return;
                }
                sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// A few of the Deployment's probe-failure events, now and then (enough
/// for "why stuck" to name the failing probe and for the events pane).
async fn sample_probe_failures(
    api: Api<CoreEvent>,
    deployment: String,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let lp = kube::api::ListParams::default()
        .fields("reason=Unhealthy")
        .limit(PROBE_SAMPLE);
    while !tx.is_closed() {
        if let Ok(list) = api.list(&lp).await {
            for e in list.items {
                let e = convert::event(&e);
                if convert::event_concerns(&e, &deployment)
                    && tx.send(Msg::Event(Event::Apply(e))).is_err()
                {
                    return;
                }
            }
        }
        sleep(PROBE_SAMPLE_EVERY).await;
    }
}

pub(crate) fn selector(d: &Deployment) -> String {
    let Some(sel) = d.spec.as_ref().map(|s| &s.selector) else {
        return String::new();
    };
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => continue,
        });
    }
    parts.join(",")
}

impl Watches {
    /// Start watching Deployment `name` (which must exist) in `ns`.
    pub async fn start(client: &Client, ns: &str, name: &str) -> Result<Watches, KubeError> {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let d = super::ops::deployment_in(&deployments, name, ns).await?;
        let labels = selector(&d);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        tasks.spawn(watch_task(
            0,
            deployments,
            config().fields(&format!("metadata.name={name}")),
            tx.clone(),
            Some,
            Msg::Deployment,
        ));
        tasks.spawn(watch_task(
            1,
            Api::<ReplicaSet>::namespaced(client.clone(), ns),
            config().labels(&labels),
            tx.clone(),
            Some,
            Msg::ReplicaSet,
        ));
        tasks.spawn(watch_task(
            2,
            Api::<Pod>::namespaced(client.clone(), ns),
            // One page: thousands of pods arrive in one list, not pages of 500.
            config().labels(&labels).page_size(LIST_PAGE),
            tx.clone(),
            |p: Pod| Some(convert::pod(&p)),
            Msg::Pod,
        ));
        let dep_name = name.to_string();
        // The namespace's events (tens of thousands on a busy cluster) are
        // listed only once the pods are in: they never delay the pods.
        let (pods_in, go) = tokio::sync::oneshot::channel::<()>();
        // At scale, probe failures (one event bump per failing pod every
        // few seconds: ~100/s at 500 pods) are sampled, not streamed:
        // decoding them was most of an idle watch's CPU.
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let sampled = replicas >= SAMPLE_PROBES_FROM;
        let events = Api::<CoreEvent>::namespaced(client.clone(), ns);
        let sampler = sampled.then(|| (events.clone(), dep_name.clone(), tx.clone()));
        let concerns = move |e: CoreEvent| {
            let e = convert::event(&e);
            convert::event_concerns(&e, &dep_name).then_some(e)
        };
        let events_watch = watch_task(
            3,
            events,
            if sampled {
                config().fields("reason!=Unhealthy")
            } else {
                config()
            },
            tx,
            concerns,
            Msg::Event,
        );
        tasks.spawn(async move {
            let _ = go.await;
            // Ends with the watches (its sends fail, or it sees the
            // channel closed).
            if let Some((api, d, tx)) = sampler {
                tokio::spawn(sample_probe_failures(api, d, tx));
            }
            events_watch.await;
        });
        Ok(Watches {
            rx,
            tasks,
            deployment: Store::default(),
            replica_sets: Store::default(),
            pods: Store::default(),
            events: Store::default(),
            broken: Default::default(),
            last_broken: None,
            name: name.to_string(),
            objects_changed: false,
            pods_in: Some(pods_in),
        })
    }

    /// A watch broke: probe the API server after `PROBE_EVERY` (unless a
    /// probe is already due).
    fn schedule_probe(&self, next_probe: &mut Option<Instant>) {
        if self.is_broken() && next_probe.is_none() {
            *next_probe = Some(Instant::now() + PROBE_EVERY);
        }
    }

    /// While broken, ask the API server: when it answers and no watch broke
    /// for a probe interval, the watches count as whole again; otherwise
    /// the next probe is due then.
    async fn probe(&mut self, client: &Client) -> Option<Instant> {
        if !self.is_broken() {
            return None;
        }
        let back = client.apiserver_version().await.is_ok();
        let quiet = self.last_broken.is_none_or(|t| t.elapsed() >= PROBE_EVERY);
        if back && quiet {
            self.broken = Default::default();
            None
        } else {
            Some(Instant::now() + PROBE_EVERY)
        }
    }

    pub fn conn(&self) -> ConnState {
        match self.broken.iter().flatten().next() {
            Some(e) => ConnState::Reconnecting { error: e.clone() },
            None => ConnState::Live,
        }
    }

    fn is_broken(&self) -> bool {
        self.broken.iter().any(Option::is_some)
    }

    /// Apply one message; true when the stores changed.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Deployment(ev) => {
                self.objects_changed = true;
                self.deployment.apply(ev, uid)
            }
            Msg::ReplicaSet(ev) => {
                self.objects_changed = true;
                self.replica_sets.apply(ev, uid)
            }
            Msg::Pod(ev) => {
                self.objects_changed = true;
                self.pods.apply(ev, |p| p.uid.clone());
                if self.pods.synced
                    && let Some(go) = self.pods_in.take()
                {
                    let _ = go.send(());
                }
            }
            Msg::Event(ev) => {
                self.events.apply(ev, |e| e.uid.clone());
                // Trim in batches: sorting the kept events on every new one
                // was most of an idle watch's CPU with hundreds of pods
                // failing probes.
                if self.events.items.len() > 2 * MAX_EVENTS_KEPT {
                    let mut by_age: Vec<(i64, String)> = self
                        .events
                        .items
                        .values()
                        .map(|e| (e.last_ms, e.uid.clone()))
                        .collect();
                    by_age.sort();
                    let cut = by_age.len() - MAX_EVENTS_KEPT;
                    for (_, k) in by_age.into_iter().take(cut) {
                        self.events.items.remove(&k);
                    }
                }
            }
            Msg::Broken(i, e) => {
                self.broken[i] = Some(e);
                self.last_broken = Some(Instant::now());
                return false;
            }
            Msg::Flowing(i) => {
                self.broken[i] = None;
                return false;
            }
        }
        true
    }

    /// Every watch has delivered its first list. Before that a missing
    /// Deployment or ReplicaSet may only not have arrived yet.
    pub fn synced(&self) -> bool {
        self.deployment.synced && self.replica_sets.synced && self.pods.synced
    }

    /// The rollout as the stores have it now.
    pub fn snapshot(&self) -> RolloutSnapshot {
        let d = self
            .deployment
            .items
            .values()
            .find(|d| d.metadata.name.as_deref() == Some(self.name.as_str()));
        let owned: Vec<&ReplicaSet> = self
            .replica_sets
            .items
            .values()
            .filter(|rs| d.is_some_and(|d| convert::owned_by(rs, d)))
            .collect();
        let names: BTreeSet<&str> = owned
            .iter()
            .filter_map(|rs| rs.metadata.name.as_deref())
            .collect();
        let pods = self
            .pods
            .items
            .values()
            .filter(|p| p.replica_set.as_deref().is_some_and(|r| names.contains(r)))
            .cloned()
            .collect();
        let events = self.events.items.values().cloned().collect();
        convert::snapshot(d, owned, pods, events)
    }

    /// Wait for the next change (applying a burst of messages at once).
    /// `None` when the watches ended.
    async fn changed(&mut self) -> Option<bool> {
        let first = self.rx.recv().await?;
        let mut changed = self.handle(first);
        while let Ok(m) = self.rx.try_recv() {
            changed |= self.handle(m);
        }
        Some(changed)
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// The verdict, with a snapshot older than the change counting as not observed.
fn judge(s: &RolloutSnapshot, min_generation: Option<i64>) -> Verdict {
    if let (Some(d), Some(min)) = (&s.deployment, min_generation)
        && d.generation < min
    {
        return Verdict::Progressing(Hold::SpecNotObserved);
    }
    rollout::verdict(s)
}

async fn until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Follow a rollout to its verdict, a fired trigger, the deadline or a cancel.
pub async fn follow(f: Follow<'_>, report: &Reporter, sink: &mut Sink<'_>) -> Ended {
    report.send(KubeEvent::Watching {
        namespace: f.namespace.to_string(),
        deployment: f.deployment.to_string(),
        phase: f.phase.to_string(),
    });
    let mut w = match Watches::start(f.client, f.namespace, f.deployment).await {
        Ok(w) => w,
        Err(e) => {
            report.send(KubeEvent::Connection(ConnState::Stopped));
            return Ended::Failed(e.to_string());
        }
    };
    let mut logs = f
        .follow_logs
        .then(|| LogFollower::new(f.client.clone(), f.namespace, report.clone()));
    let mut cancel = f.cancel.clone();
    let mut conn = ConnState::Connecting;
    let mut last_emit = Instant::now() - EMIT_EVERY;
    let mut pending = false;
    let mut last_snapshot = Arc::new(RolloutSnapshot::default());
    let mut last_words = String::new();
    let mut health = HealthTracker::default();
    let health_spec = f.rollback_on.and_then(|r| r.health.clone());
    let http = health_spec
        .as_ref()
        .and_then(|_| crate::backend::http_client::http_client().ok());
    let mut next_health = health_spec.as_ref().map(|_| Instant::now());
    let metric_spec = f.rollback_on.and_then(|r| r.metric.clone());
    let prom_http = metric_spec
        .as_ref()
        .and_then(|_| crate::backend::http_client::http_client().ok());
    let mut next_metric = metric_spec.as_ref().map(|_| Instant::now());
    let mut metric = MetricTracker::default();
    // With health or metric triggers the rollout bakes this long before passing.
    let bake_window = [
        health_spec.as_ref().map(|h| h.sustained),
        metric_spec.as_ref().map(|m| m.sustain.unwrap_or_default()),
    ]
    .into_iter()
    .flatten()
    .max();
    let mut complete_at: Option<Instant> = None;
    let mut bake_end: Option<Instant> = None;
    // Re-judge even if nothing in the cluster changed (health, bake time).
    let mut force = false;
    let mut next_probe: Option<Instant> = None;
    let ended = loop {
        let emit_at = pending.then_some(last_emit + EMIT_EVERY);
        tokio::select! {
            changed = w.changed() => {
                let Some(changed) = changed else {
                    break Ended::Failed("the watches ended".into());
                };
                pending |= changed;
                w.schedule_probe(&mut next_probe);
            }
            _ = until(emit_at) => {}
            _ = until(next_probe) => next_probe = w.probe(f.client).await,
            _ = until(next_health) => {
                if let (Some(spec), Some(client)) = (&health_spec, &http) {
                    let ok = matches!(
                        client.get(&spec.url).timeout(spec.every.min(Duration::from_secs(10))).send().await,
                        Ok(r) if r.status().is_success()
                    );
                    health.record(ok);
                    if !ok {
                        sink(Stream::Info, format!(
                            "health check {} failed ({} in a row)", spec.url, health.consecutive_failures
                        ));
                    }
                    next_health = Some(Instant::now() + spec.every);
                    pending = true;
                    force = true;
                }
            }
            _ = until(next_metric) => {
                if let (Some(spec), Some(client)) = (&metric_spec, &prom_http) {
                    use crate::backend::data::prom::{Answer, query};
                    match query(client, spec).await {
                        Answer::Values(values) => {
                            match values.iter().find(|(_, v)| !spec.op.holds(*v, spec.threshold)) {
                                Some((labels, v)) => {
                                    metric.breaches += 1;
                                    metric.last = Some(false);
                                    sink(Stream::Info, format!(
                                        "metric {} {labels} = {v} breaks {} {} ({} in a row)",
                                        spec.query, spec.op.as_str(), spec.threshold, metric.breaches
                                    ));
                                }
                                None => {
                                    metric.breaches = 0;
                                    metric.last = Some(true);
                                }
                            }
                        }
                        Answer::Inconclusive(why) => {
                            // Neither a breach nor a pass.
                            metric.last = None;
                            sink(Stream::Info, format!("metric {} inconclusive: {why}", spec.query));
                        }
                    }
                    next_metric = Some(Instant::now() + spec.interval);
                    pending = true;
                    force = true;
                }
            }
            _ = until(bake_end) => {
                bake_end = None;
                pending = true;
                force = true;
            }
            _ = cancel.cancelled() => break Ended::Failed("cancelled".into()),
            _ = until(f.deadline.map(|d| d.0)) => {
                let why = rollout::why_stuck(&last_snapshot, crate::clock::now_ms())
                    .map(|w| format!(": {}", w.line()))
                    .unwrap_or_default();
                break Ended::Failed(format!(
                    "timed out after {}{why}",
                    format_duration(f.deadline.map(|d| d.1).unwrap_or_default())
                ));
            }
        }
        let now_conn = w.conn();
        if now_conn != conn {
            if let ConnState::Reconnecting { error } = &now_conn {
                sink(Stream::Info, format!("watch broken, reconnecting: {error}"));
            } else if matches!(conn, ConnState::Reconnecting { .. }) {
                sink(Stream::Info, "watches resumed".into());
            }
            conn = now_conn.clone();
            report.send(KubeEvent::Connection(now_conn));
        }
        if !pending || last_emit.elapsed() < EMIT_EVERY || !w.synced() {
            continue;
        }
        pending = false;
        last_emit = Instant::now();
        let snap = Arc::new(w.snapshot());
        if *snap == *last_snapshot && !force {
            continue;
        }
        force = false;
        last_snapshot = snap.clone();
        report.send(KubeEvent::Snapshot(snap.clone()));
        if let Some(l) = &mut logs {
            l.update(&snap);
        }
        if let Some(on) = f.rollback_on
            && let Some(fired) = rollout::trigger(on, &snap, &health)
        {
            break Ended::Fired(fired);
        }
        if let Some(spec) = &metric_spec
            && metric.breaches >= crate::runbook::kube::metric_breaches_needed(spec)
        {
            break Ended::Fired(Fired {
                trigger: rollout::Trigger::Metric,
                reason: format!(
                    "metric {} broke {} {} in {} checks in a row ({} apart)",
                    spec.query,
                    spec.op.as_str(),
                    spec.threshold,
                    metric.breaches,
                    format_duration(spec.interval)
                ),
            });
        }
        let v = judge(&snap, f.min_generation);
        let words = v.words(f.deployment);
        if words != last_words {
            sink(Stream::Info, words.clone());
            last_words = words.clone();
        }
        match v {
            Verdict::Complete => {
                let Some(window) = bake_window else {
                    break Ended::Complete(complete_note(&snap, &words));
                };
                // With health or metric triggers, the rollout bakes for its window.
                let at = *complete_at.get_or_insert_with(|| {
                    sink(
                        Stream::Info,
                        format!(
                            "rolled out; watching health and metrics for {} before passing",
                            format_duration(window)
                        ),
                    );
                    Instant::now()
                });
                if at.elapsed() >= window {
                    if let Some(spec) = &metric_spec
                        && metric.last != Some(true)
                    {
                        break Ended::Inconclusive(format!(
                            "rolled out, but metric {} gave no conclusive healthy answer; a person decides",
                            spec.query
                        ));
                    }
                    break Ended::Complete(format!(
                        "{}; healthy for {}",
                        complete_note(&snap, &words),
                        format_duration(window)
                    ));
                }
                // Wake up at the end of the window.
                bake_end = Some(at + window);
            }
            Verdict::Failed(_) => break Ended::Failed(words),
            Verdict::Missing => break Ended::Failed(words),
            Verdict::Progressing(_) => {}
        }
    };
    report.send(KubeEvent::Connection(ConnState::Stopped));
    if let Some(l) = logs {
        l.stop().await;
    }
    ended
}

/// Follow a Deployment's rollout with no end (`flightdeck watch`): the
/// same watches and snapshots as a release step, reported until the task
/// is aborted or the app is gone. Read-only.
pub async fn observe(client: &Client, namespace: &str, deployment: &str, report: &Reporter) {
    report.send(KubeEvent::Watching {
        namespace: namespace.to_string(),
        deployment: deployment.to_string(),
        phase: "watch".to_string(),
    });
    let mut w = match Watches::start(client, namespace, deployment).await {
        Ok(w) => w,
        Err(e) => {
            report.send(KubeEvent::Connection(ConnState::Reconnecting {
                error: e.to_string(),
            }));
            return;
        }
    };
    let mut conn = ConnState::Connecting;
    // The first snapshot goes out as soon as the lists are in.
    let mut last_emit = Instant::now()
        .checked_sub(Duration::from_secs(10))
        .unwrap_or_else(Instant::now);
    let mut pending = false;
    let mut last_snapshot = Arc::new(RolloutSnapshot::default());
    let mut next_probe: Option<Instant> = None;
    // A big rollout changes all the time: build its snapshot less often
    // (40 ms up to 250 pods, then 1 ms per 5 pods: 1.25 s at 6,250), and
    // for events alone (probe failures every few seconds per pod) at most
    // every EVENTS_EVERY.
    let every = |w: &Watches| {
        let by_size = EMIT_EVERY.max(Duration::from_millis(w.pods.items.len() as u64 / 5));
        if w.objects_changed {
            by_size
        } else {
            by_size.max(EVENTS_EVERY)
        }
    };
    loop {
        let emit_at = pending.then_some(last_emit + every(&w));
        tokio::select! {
            changed = w.changed() => {
                let Some(changed) = changed else { return };
                pending |= changed;
                w.schedule_probe(&mut next_probe);
            }
            _ = until(emit_at) => {}
            _ = until(next_probe) => next_probe = w.probe(client).await,
        }
        let now_conn = w.conn();
        if now_conn != conn {
            conn = now_conn.clone();
            if !report.send(KubeEvent::Connection(now_conn)) {
                return;
            }
        }
        if !pending || last_emit.elapsed() < every(&w) || !w.synced() {
            continue;
        }
        pending = false;
        let objects = std::mem::take(&mut w.objects_changed);
        last_emit = Instant::now();
        // One copy of the stores per snapshot, shared with the UI; compared
        // with the last only when events alone changed (a changed pod is
        // a change: comparing thousands of them was a busy list's CPU).
        let snap = Arc::new(w.snapshot());
        if !objects && snap == last_snapshot {
            continue;
        }
        last_snapshot = snap.clone();
        if !report.send(KubeEvent::Snapshot(snap)) {
            return;
        }
    }
}

fn complete_note(s: &RolloutSnapshot, words: &str) -> String {
    match s.new_replica_set() {
        Some(rs) => format!(
            "{words} (revision {}, {})",
            rs.revision,
            rs.images
                .iter()
                .map(|(c, i)| format!("{c}={i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => words.to_string(),
    }
}
