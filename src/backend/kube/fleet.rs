//! `flightdeck watch`'s list: every Deployment in scope with its verdict.
//! Watches Deployments, ReplicaSets and pods (as projections) with the
//! same watch tasks as a release step; rows are recomputed only for the
//! Deployments a burst of changes touched, and sent sorted, problems first.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::convert;
use super::watch::{Store, WatchSignal, watch_task};
use crate::protocol::kube::ConnState;
use crate::protocol::watch::WatchEvent;
use crate::runbook::rollout::PodSnap;
use crate::runbook::watch::{
    DeploymentRow, Health, deployment_row, image_not_found, keep_pull_evidence,
    pull_failing_without_evidence, rejudge, set_pull_evidence, sort_rows,
};

/// Rows go to the UI at most this often.
pub const ROWS_EVERY: Duration = Duration::from_millis(200);
/// How often one pod's events are read for pull-failure evidence.
const PULL_EVIDENCE_TRIES: u32 = 4;
/// While a watch is broken, the API server is asked this often whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Waiting rollouts are judged again this often even when nothing
/// changed: "no progress for a minute" makes one stuck.
pub const REJUDGE_EVERY: Duration = Duration::from_secs(5);

/// Which Deployments the list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub selector: Option<String>,
    /// Only these Deployments (all when empty).
    pub names: Vec<String>,
}

enum Msg {
    Deployment(Event<Deployment>),
    ReplicaSet(Event<ReplicaSet>),
    Pod(Event<(String, PodSnap)>),
    /// A pod's own events say its image is not found.
    PullEvidence {
        uid: String,
        container: String,
        message: String,
    },
    Broken(usize, String),
    Flowing(usize),
}

impl WatchSignal for Msg {
    fn broken(index: usize, error: String) -> Self {
        Msg::Broken(index, error)
    }
    fn flowing(index: usize) -> Self {
        Msg::Flowing(index)
    }
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match ns {
        Some(n) => Api::namespaced(client.clone(), n),
        None => Api::all(client.clone()),
    }
}

fn uid<K: kube::Resource>(o: &K) -> String {
    o.meta()
        .uid
        .clone()
        .unwrap_or_else(|| o.meta().name.clone().unwrap_or_default())
}

fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// The Deployment (uid) a ReplicaSet belongs to.
fn owner(rs: &ReplicaSet) -> Option<String> {
    rs.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Deployment" && o.controller == Some(true))
        .map(|o| o.uid.clone())
}

struct List {
    scope: Scope,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<(String, PodSnap)>,
    broken: [Option<String>; 3],
    last_broken: Option<Instant>,
    /// ReplicaSet "ns/name" -> Deployment uid.
    rs_owner: HashMap<String, String>,
    rows: HashMap<String, DeploymentRow>,
    dirty: HashSet<String>,
    all_dirty: bool,
    /// Pods whose events were asked for pull-failure evidence (uid).
    asked: HashSet<String>,
    /// Pods to ask about next: (namespace, name, uid).
    to_ask: Vec<(String, String, String)>,
}

impl List {
    fn wanted(&self, d: &Deployment) -> bool {
        self.scope.names.is_empty()
            || d.metadata
                .name
                .as_ref()
                .is_some_and(|n| self.scope.names.contains(n))
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Deployment(ev) => {
                match &ev {
                    Event::Apply(d) | Event::Delete(d) => {
                        self.dirty.insert(uid(d));
                    }
                    _ => self.all_dirty = true,
                }
                self.deployments.apply(ev, uid);
            }
            Msg::ReplicaSet(ev) => {
                match &ev {
                    Event::Apply(rs) | Event::Delete(rs) => {
                        if let Some(o) = owner(rs) {
                            self.dirty.insert(o);
                        }
                    }
                    _ => self.all_dirty = true,
                }
                self.replica_sets.apply(ev, uid);
            }
            Msg::Pod(ev) => {
                match &ev {
                    Event::Apply((ns, p)) | Event::Delete((ns, p)) => {
                        let o = p
                            .replica_set
                            .as_ref()
                            .and_then(|rs| self.rs_owner.get(&key(ns, rs)));
                        // Not ours, or its ReplicaSet not seen yet: that
                        // arrival recomputes its Deployment.
                        if let Some(o) = o {
                            self.dirty.insert(o.clone());
                        }
                    }
                    _ => self.all_dirty = true,
                }
                let ev = match ev {
                    Event::Apply(mut o) => {
                        if let Some((_, old)) = self.pods.items.get(&o.1.uid) {
                            keep_pull_evidence(old, &mut o.1);
                        }
                        Event::Apply(o)
                    }
                    Event::InitApply(mut o) => {
                        if let Some((_, old)) = self.pods.items.get(&o.1.uid) {
                            keep_pull_evidence(old, &mut o.1);
                        }
                        Event::InitApply(o)
                    }
                    other => other,
                };
                self.pods.apply(ev, |(_, p)| p.uid.clone());
            }
            Msg::PullEvidence {
                uid,
                container,
                message,
            } => {
                if let Some((ns, p)) = self.pods.items.get_mut(&uid)
                    && set_pull_evidence(p, &container, &message)
                    && let Some(o) = p
                        .replica_set
                        .as_ref()
                        .and_then(|rs| self.rs_owner.get(&key(ns, rs)))
                {
                    self.dirty.insert(o.clone());
                }
            }
            Msg::Broken(i, e) => {
                self.broken[i] = Some(e);
                self.last_broken = Some(Instant::now());
            }
            Msg::Flowing(i) => self.broken[i] = None,
        }
    }

    /// Judge the waiting rollouts again (time alone makes them stuck):
    /// from their rows, without their pods.
    fn rejudge(&mut self, now_ms: i64) -> bool {
        let mut changed = false;
        for r in self.rows.values_mut() {
            changed |= rejudge(r, now_ms);
        }
        changed
    }

    fn conn(&self) -> ConnState {
        match self.broken.iter().flatten().next() {
            Some(e) => ConnState::Reconnecting { error: e.clone() },
            None => ConnState::Live,
        }
    }

    fn synced(&self) -> bool {
        self.deployments.synced && self.replica_sets.synced && self.pods.synced
    }

    fn changed(&self) -> bool {
        self.all_dirty || !self.dirty.is_empty()
    }

    /// Pods taken out for a snapshot, back in their places.
    fn put_back(&mut self, pods: Vec<PodSnap>) {
        for p in pods {
            if let Some((_, slot)) = self.pods.items.get_mut(&p.uid) {
                *slot = p;
            }
        }
    }

    /// Rows go out at most this often: a list of thousands of pods
    /// changes all the time, and its rows are derived less often (as a
    /// rollout's snapshots are: 1 ms per 5 pods, from `ROWS_EVERY`).
    fn every(&self) -> Duration {
        ROWS_EVERY.max(Duration::from_millis(self.pods.items.len() as u64 / 5))
    }

    /// Recompute the touched rows; the whole list, sorted.
    fn rows(&mut self, now_ms: i64) -> Vec<DeploymentRow> {
        self.rs_owner = self
            .replica_sets
            .items
            .values()
            .filter_map(|rs| {
                let ns = rs.metadata.namespace.as_deref().unwrap_or("");
                let name = rs.metadata.name.as_deref()?;
                Some((key(ns, name), owner(rs)?))
            })
            .collect();
        let all = std::mem::take(&mut self.all_dirty);
        let dirty = std::mem::take(&mut self.dirty);
        let live: HashSet<&String> = self.deployments.items.keys().collect();
        self.rows.retain(|k, _| live.contains(k));
        let todo: Vec<String> = if all {
            self.deployments.items.keys().cloned().collect()
        } else {
            dirty.into_iter().collect()
        };
        if !todo.is_empty() {
            // Pods by their ReplicaSet, for the Deployments to redo only.
            // Moved out of the store for the snapshot and back after it
            // (not copied: thousands of pods per burst were most of a busy
            // list's CPU).
            let todo_set: HashSet<&String> = todo.iter().collect();
            let mut pods_of: HashMap<String, Vec<PodSnap>> = HashMap::new();
            for (ns, p) in self.pods.items.values_mut() {
                let Some(rs) = &p.replica_set else { continue };
                let k = key(ns, rs);
                if let Some(o) = self.rs_owner.get(&k)
                    && todo_set.contains(o)
                {
                    pods_of
                        .entry(o.clone())
                        .or_default()
                        .push(std::mem::take(p));
                }
            }
            let mut returned = Vec::new();
            for id in &todo {
                let Some(d) = self.deployments.items.get(id) else {
                    self.rows.remove(id);
                    continue;
                };
                if !self.wanted(d) {
                    continue;
                }
                let owned = self
                    .replica_sets
                    .items
                    .values()
                    .filter(|rs| owner(rs).as_ref() == Some(id));
                let pods = pods_of.remove(id.as_str()).unwrap_or_default();
                let snap = convert::snapshot(Some(d), owned, pods, Vec::new());
                let row = deployment_row(&snap, now_ms);
                // A new pod failing to pull with no "not found" in its
                // status (first seen after its ErrImagePull): its own
                // events tell, asked once per pod, one pod per Deployment.
                if row.as_ref().is_some_and(|r| r.health != Health::Failed)
                    && let Some(p) = snap.new_pods().find(|p| {
                        !p.deleting
                            && !self.asked.contains(&p.uid)
                            && p.containers.iter().any(pull_failing_without_evidence)
                    })
                {
                    self.asked.insert(p.uid.clone());
                    let ns = d.metadata.namespace.clone().unwrap_or_default();
                    self.to_ask.push((ns, p.name.clone(), p.uid.clone()));
                }
                match row {
                    Some(r) => self.rows.insert(id.clone(), r),
                    None => self.rows.remove(id),
                };
                returned.push(snap.pods);
            }
            // Deployments not redone (gone, or not wanted) give theirs back too.
            returned.extend(pods_of.into_values());
            for pods in returned {
                self.put_back(pods);
            }
        }
        let mut rows: Vec<DeploymentRow> = self.rows.values().cloned().collect();
        sort_rows(&mut rows);
        rows
    }
}

/// Watch the Deployments in scope until the receiver is gone.
pub async fn run(client: Client, scope: Scope, tx: mpsc::UnboundedSender<WatchEvent>) {
    let (mtx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let mut dcfg = watcher::Config::default();
    if let Some(sel) = &scope.selector {
        dcfg = dcfg.labels(sel);
    }
    if let [one] = scope.names.as_slice() {
        dcfg = dcfg.fields(&format!("metadata.name={one}"));
    }
    tasks.spawn(watch_task(
        0,
        api::<Deployment>(&client, &scope.namespace),
        dcfg,
        mtx.clone(),
        Some,
        Msg::Deployment,
    ));
    tasks.spawn(watch_task(
        1,
        api::<ReplicaSet>(&client, &scope.namespace),
        watcher::Config::default().page_size(super::watch::LIST_PAGE),
        mtx.clone(),
        Some,
        Msg::ReplicaSet,
    ));
    let mtx_evidence = mtx.clone();
    tasks.spawn(watch_task(
        2,
        api::<Pod>(&client, &scope.namespace),
        watcher::Config::default().page_size(super::watch::LIST_PAGE),
        mtx,
        |p: Pod| {
            Some((
                p.metadata.namespace.clone().unwrap_or_default(),
                convert::pod(&p),
            ))
        },
        Msg::Pod,
    ));
    let mut list = List {
        scope,
        deployments: Store::default(),
        replica_sets: Store::default(),
        pods: Store::default(),
        broken: Default::default(),
        last_broken: None,
        rs_owner: HashMap::new(),
        rows: HashMap::new(),
        dirty: HashSet::new(),
        all_dirty: true,
        asked: HashSet::new(),
        to_ask: Vec::new(),
    };
    let evidence_tx = mtx_evidence;
    let mut conn = ConnState::Connecting;
    let mut last_emit = Instant::now()
        .checked_sub(Duration::from_secs(10))
        .unwrap_or_else(Instant::now);
    let mut sent_synced = false;
    let mut next_probe: Option<Instant> = None;
    let mut rejudge = tokio::time::interval(REJUDGE_EVERY);
    rejudge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let due =
            (list.changed() || (list.synced() && !sent_synced)).then_some(last_emit + list.every());
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { return };
                list.handle(m);
                while let Ok(m) = rx.try_recv() {
                    list.handle(m);
                }
            }
            _ = rejudge.tick() => {
                if list.rejudge(crate::clock::now_ms()) {
                    sent_synced = false;
                }
            }
            // A resumed watch of a quiet namespace sends nothing: ask the
            // API server whether it is back (as a release step's watch does).
            _ = async { match next_probe { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                next_probe = None;
                if list.broken.iter().any(Option::is_some) {
                    let back = client.apiserver_version().await.is_ok();
                    let quiet = list.last_broken.is_none_or(|t| t.elapsed() >= PROBE_EVERY);
                    if back && quiet {
                        list.broken = Default::default();
                    }
                }
            }
            _ = async { match due { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {}
        }
        if list.broken.iter().any(Option::is_some) && next_probe.is_none() {
            next_probe = Some(Instant::now() + PROBE_EVERY);
        }
        let c = list.conn();
        if c != conn {
            conn = c.clone();
            if tx.send(WatchEvent::ListConn(c)).is_err() {
                return;
            }
        }
        if !list.synced() || last_emit.elapsed() < list.every() {
            continue;
        }
        if !list.changed() && sent_synced {
            continue;
        }
        last_emit = Instant::now();
        sent_synced = true;
        let rows = list.rows(crate::clock::now_ms());
        for (ns, pod, uid) in list.to_ask.drain(..) {
            tasks.spawn(ask_pull_evidence(
                client.clone(),
                ns,
                pod,
                uid,
                evidence_tx.clone(),
            ));
        }
        if tx.send(WatchEvent::Rows(rows)).is_err() {
            return;
        }
    }
}

/// Read one pod's events for a pull failure that says "not found", and
/// report it. The kubelet may post the event after the status: asked a
/// few times, 5 s apart, then no more (nothing is reported).
async fn ask_pull_evidence(
    client: Client,
    ns: String,
    pod: String,
    uid: String,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, &ns);
    let lp = kube::api::ListParams::default().fields(&format!(
        "involvedObject.kind=Pod,involvedObject.name={pod},reason=Failed"
    ));
    for attempt in 0..PULL_EVIDENCE_TRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let Ok(list) = api.list(&lp).await else {
            continue;
        };
        for e in list.items {
            let e = convert::event(&e);
            let Some(container) = crate::runbook::rollout::container_of(&e.field_path) else {
                continue;
            };
            if image_not_found(&e.message) {
                let _ = tx.send(Msg::PullEvidence {
                    uid,
                    container,
                    message: crate::sanitize::sanitize_line(&e.message),
                });
                return;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}
