//! Deployment rollouts as plain data, and what to make of them: the verdict
//! (`kubectl rollout status` order, krane's fail-fast on doomed pods), the
//! "why stuck" line, and the automatic rollback triggers (docs/semantics.md).
//! Pure: snapshots come from `backend::kube::convert`; time is passed in as
//! unix milliseconds.

use super::kube::RollbackOn;

/// `spec.progressDeadlineSeconds` when the Deployment leaves it out.
pub const DEFAULT_PROGRESS_DEADLINE_S: i64 = 600;
/// Events kept per snapshot (the newest).
pub const MAX_EVENTS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_update_ms: Option<i64>,
    pub last_transition_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeploymentSnap {
    pub name: String,
    pub namespace: String,
    pub generation: i64,
    pub observed_generation: i64,
    /// `spec.replicas` (1 when unset).
    pub replicas: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// `status.replicas`: pods of every ReplicaSet.
    pub total: i32,
    pub unavailable: i32,
    pub conditions: Vec<Condition>,
    pub progress_deadline_s: i64,
    /// "RollingUpdate (surge 25%, unavailable 25%)" or "Recreate".
    pub strategy: String,
    /// `deployment.kubernetes.io/revision`.
    pub revision: Option<i64>,
    pub paused: bool,
    /// Container -> image of the pod template.
    pub images: Vec<(String, String)>,
    /// Container -> its readiness probe in words ("GET /ready on :8080").
    pub probes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaSetSnap {
    pub name: String,
    pub revision: i64,
    pub images: Vec<(String, String)>,
    /// `spec.replicas`.
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    pub total: i32,
    pub pod_template_hash: String,
    /// Its pod template is the Deployment's (how kubectl finds the new one).
    pub is_new: bool,
    pub created_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSnap {
    pub name: String,
    pub image: String,
    pub ready: bool,
    pub restarts: i32,
    pub waiting_reason: Option<String>,
    pub waiting_message: Option<String>,
    pub terminated_reason: Option<String>,
    pub terminated_exit: Option<i32>,
    /// `lastState.terminated`.
    pub last_reason: Option<String>,
    pub last_exit: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodSnap {
    pub name: String,
    pub uid: String,
    pub pod_template_hash: String,
    /// Owning ReplicaSet.
    pub replica_set: Option<String>,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    pub created_ms: Option<i64>,
    pub node: String,
    /// What `kubectl get pods` shows as STATUS.
    pub reason: String,
    pub containers: Vec<ContainerSnap>,
    pub conditions: Vec<Condition>,
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventSnap {
    pub uid: String,
    pub object_kind: String,
    pub object_name: String,
    /// `spec.containers{web}` for container events.
    pub field_path: String,
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub count: i32,
    pub last_ms: i64,
}

/// One Deployment's rollout as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolloutSnapshot {
    pub deployment: Option<DeploymentSnap>,
    /// New first, then by revision, newest first.
    pub replica_sets: Vec<ReplicaSetSnap>,
    /// New ReplicaSet's pods first, then by name.
    pub pods: Vec<PodSnap>,
    /// Events of the Deployment, its ReplicaSets and pods, oldest first.
    pub events: Vec<EventSnap>,
}

impl RolloutSnapshot {
    pub fn new_replica_set(&self) -> Option<&ReplicaSetSnap> {
        self.replica_sets.iter().find(|r| r.is_new)
    }

    /// Is this pod of the new ReplicaSet?
    pub fn is_new_pod(&self, pod: &PodSnap) -> bool {
        match self.new_replica_set() {
            Some(rs) => {
                pod.replica_set.as_deref() == Some(rs.name.as_str())
                    || (!pod.pod_template_hash.is_empty()
                        && pod.pod_template_hash == rs.pod_template_hash)
            }
            None => false,
        }
    }

    pub fn new_pods(&self) -> impl Iterator<Item = &PodSnap> {
        self.pods.iter().filter(|p| self.is_new_pod(p))
    }

    /// Events about one pod, newest first.
    pub fn pod_events<'a>(&'a self, pod: &'a str) -> impl Iterator<Item = &'a EventSnap> + 'a {
        self.events
            .iter()
            .rev()
            .filter(move |e| e.object_kind == "Pod" && e.object_name == pod)
    }

    /// Put replica sets, pods and events in display order, events bounded.
    pub fn normalize(&mut self) {
        self.replica_sets.sort_by(|a, b| {
            b.is_new
                .cmp(&a.is_new)
                .then(b.revision.cmp(&a.revision))
                .then(a.name.cmp(&b.name))
        });
        let new_hash = self
            .new_replica_set()
            .map(|r| (r.name.clone(), r.pod_template_hash.clone()));
        let is_new = |p: &PodSnap| match &new_hash {
            Some((name, hash)) => {
                p.replica_set.as_deref() == Some(name.as_str())
                    || (!hash.is_empty() && &p.pod_template_hash == hash)
            }
            None => false,
        };
        // New first, then by name; "new" decided once per pod, not per
        // comparison (thousands of pods: most of a snapshot's sort).
        let mut keyed: Vec<(bool, PodSnap)> = std::mem::take(&mut self.pods)
            .into_iter()
            .map(|p| (!is_new(&p), p))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        self.pods = keyed.into_iter().map(|(_, p)| p).collect();
        self.events
            .sort_by(|a, b| a.last_ms.cmp(&b.last_ms).then(a.uid.cmp(&b.uid)));
        if self.events.len() > MAX_EVENTS {
            let cut = self.events.len() - MAX_EVENTS;
            self.events.drain(..cut);
        }
    }
}

/// Which of `kubectl rollout status`'s checks holds the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// 1. `metadata.generation > status.observedGeneration`.
    SpecNotObserved,
    /// 3. `status.updatedReplicas < spec.replicas`.
    Updating { updated: i32, desired: i32 },
    /// 4. `status.replicas > status.updatedReplicas`.
    OldReplicasPending { pending: i32 },
    /// 5. `status.availableReplicas < status.updatedReplicas`.
    Availability { available: i32, updated: i32 },
}

impl Hold {
    /// The check in words, as the why-stuck line names it.
    pub fn check(&self) -> String {
        match self {
            Hold::SpecNotObserved => {
                "generation > observedGeneration: the controller has not seen the change yet".into()
            }
            Hold::Updating { updated, desired } => {
                format!("updatedReplicas {updated} < replicas {desired}: still updating")
            }
            Hold::OldReplicasPending { pending } => {
                format!("{pending} old replica(s) pending termination")
            }
            Hold::Availability { available, updated } => {
                format!(
                    "availableReplicas {available} < updatedReplicas {updated}: waiting for availability"
                )
            }
        }
    }
}

/// A new pod that cannot become ready: the rollout is doomed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doom {
    pub pod: String,
    pub container: String,
    /// CrashLoopBackOff, ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ContainerCannotRun.
    pub reason: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 2. `Progressing` has reason `ProgressDeadlineExceeded`.
    DeadlineExceeded {
        message: String,
    },
    Doomed(Doom),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No Deployment seen.
    Missing,
    Progressing(Hold),
    Complete,
    Failed(Failure),
}

impl Verdict {
    pub fn is_final(&self) -> bool {
        matches!(self, Verdict::Complete | Verdict::Failed(_))
    }

    /// The verdict in words (kubectl's where it has them).
    pub fn words(&self, name: &str) -> String {
        match self {
            Verdict::Missing => format!("deployment {name:?} not found"),
            Verdict::Progressing(Hold::SpecNotObserved) => {
                "Waiting for deployment spec update to be observed...".into()
            }
            Verdict::Progressing(Hold::Updating { updated, desired }) => format!(
                "Waiting for deployment {name:?} rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
            Verdict::Progressing(Hold::OldReplicasPending { pending }) => format!(
                "Waiting for deployment {name:?} rollout to finish: {pending} old replicas are pending termination..."
            ),
            Verdict::Progressing(Hold::Availability { available, updated }) => format!(
                "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
            ),
            Verdict::Complete => format!("deployment {name:?} successfully rolled out"),
            Verdict::Failed(Failure::DeadlineExceeded { .. }) => {
                format!("deployment {name:?} exceeded its progress deadline")
            }
            Verdict::Failed(Failure::Doomed(d)) => {
                format!("pod {} cannot start: {}: {}", d.pod, d.reason, d.detail)
            }
        }
    }
}

/// The verdict on a rollout, checked in `kubectl rollout status`'s order,
/// with doomed new pods failing it at once (after the spec is observed and
/// the deadline checked).
pub fn verdict(s: &RolloutSnapshot) -> Verdict {
    let Some(d) = &s.deployment else {
        return Verdict::Missing;
    };
    if d.generation > d.observed_generation {
        return Verdict::Progressing(Hold::SpecNotObserved);
    }
    if let Some(c) = progressing(d)
        && c.reason == "ProgressDeadlineExceeded"
    {
        return Verdict::Failed(Failure::DeadlineExceeded {
            message: c.message.clone(),
        });
    }
    if let Some(doom) = doomed(s) {
        return Verdict::Failed(Failure::Doomed(doom));
    }
    if d.updated < d.replicas {
        return Verdict::Progressing(Hold::Updating {
            updated: d.updated,
            desired: d.replicas,
        });
    }
    if d.total > d.updated {
        return Verdict::Progressing(Hold::OldReplicasPending {
            pending: d.total - d.updated,
        });
    }
    if d.available < d.updated {
        return Verdict::Progressing(Hold::Availability {
            available: d.available,
            updated: d.updated,
        });
    }
    Verdict::Complete
}

fn progressing(d: &DeploymentSnap) -> Option<&Condition> {
    d.conditions.iter().find(|c| c.kind == "Progressing")
}

/// The first new pod that cannot start, with the reason (krane's rules).
pub fn doomed(s: &RolloutSnapshot) -> Option<Doom> {
    for pod in s.new_pods() {
        if pod.deleting {
            continue;
        }
        for c in &pod.containers {
            if let Some(doom) = doomed_container(s, pod, c) {
                return Some(doom);
            }
        }
    }
    None
}

fn doomed_container(s: &RolloutSnapshot, pod: &PodSnap, c: &ContainerSnap) -> Option<Doom> {
    let doom = |reason: &str, detail: String| Doom {
        pod: pod.name.clone(),
        container: c.name.clone(),
        reason: reason.to_string(),
        detail,
    };
    let waiting = c.waiting_reason.as_deref().unwrap_or("");
    let message = c.waiting_message.as_deref().unwrap_or("");
    match waiting {
        "CrashLoopBackOff" => {
            let code = c
                .last_exit
                .map(|e| format!("last exit code {e}"))
                .unwrap_or_else(|| "no exit code yet".into());
            return Some(doom(
                waiting,
                format!(
                    "container {} keeps crashing ({code}, {} restarts)",
                    c.name, c.restarts
                ),
            ));
        }
        "ErrImagePull" | "ImagePullBackOff" => {
            let not_found = |m: &str| {
                let m = m.to_ascii_lowercase();
                m.contains("not found") || m.contains("manifest unknown")
            };
            let evidence = if not_found(message) {
                Some(message.to_string())
            } else {
                s.pod_events(&pod.name)
                    .find(|e| e.reason == "Failed" && not_found(&e.message))
                    .map(|e| e.message.clone())
            };
            if let Some(m) = evidence {
                return Some(doom(waiting, format!("image {} not found ({m})", c.image)));
            }
        }
        "CreateContainerConfigError" => {
            return Some(doom(waiting, format!("container {}: {message}", c.name)));
        }
        "ContainerCannotRun" => {
            return Some(doom(waiting, format!("container {}: {message}", c.name)));
        }
        _ if crash_looping(c) => {
            let code = c.last_exit.unwrap_or_default();
            return Some(doom(
                "CrashLoopBackOff",
                format!(
                    "container {} keeps crashing (last exit code {code}, {} restarts)",
                    c.name, c.restarts
                ),
            ));
        }
        _ => {}
    }
    for (reason, exit) in [
        (&c.terminated_reason, c.terminated_exit),
        (&c.last_reason, c.last_exit),
    ] {
        if reason.as_deref() == Some("ContainerCannotRun") && exit != Some(128) {
            return Some(doom(
                "ContainerCannotRun",
                format!(
                    "container {} cannot run (exit code {})",
                    c.name,
                    exit.map_or("?".into(), |e| e.to_string())
                ),
            ));
        }
    }
    None
}

/// Between two back-offs a crash-looping container runs for a moment
/// (waiting reason gone, not ready): it has restarted, its last run failed,
/// and it is still not ready. Seen that way it is as doomed as in
/// `CrashLoopBackOff`, so the verdict does not flicker with each restart.
fn crash_looping(c: &ContainerSnap) -> bool {
    c.restarts >= 2 && !c.ready && c.last_exit.is_some_and(|e| e != 0)
}

/// A container's doom in a few words, from its own status (a pod table
/// row): "CrashLoopBackOff (exit 1)", "ErrImagePull: not found".
pub fn doomed_container_reason(c: &ContainerSnap) -> Option<String> {
    let waiting = c.waiting_reason.as_deref().unwrap_or("");
    let message = c
        .waiting_message
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    match waiting {
        "CrashLoopBackOff" => {
            return Some(match c.last_exit {
                Some(e) => format!("{waiting} (exit {e})"),
                None => waiting.to_string(),
            });
        }
        "ErrImagePull" | "ImagePullBackOff"
            if message.contains("not found") || message.contains("manifest unknown") =>
        {
            return Some(format!("{waiting}: not found"));
        }
        "CreateContainerConfigError" | "ContainerCannotRun" => return Some(waiting.to_string()),
        _ if crash_looping(c) => {
            return Some(format!(
                "CrashLoopBackOff (exit {})",
                c.last_exit.unwrap_or_default()
            ));
        }
        _ => {}
    }
    [
        (&c.terminated_reason, c.terminated_exit),
        (&c.last_reason, c.last_exit),
    ]
    .into_iter()
    .any(|(r, exit)| r.as_deref() == Some("ContainerCannotRun") && exit != Some(128))
    .then(|| "ContainerCannotRun".to_string())
}

/// Why a rollout waits: the check that holds it, the time left to the
/// progress deadline, and the most likely cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyStuck {
    pub check: String,
    /// Milliseconds to the progress deadline (negative once passed);
    /// `None` when there is no deadline to count to (paused, not started).
    pub deadline_left_ms: Option<i64>,
    pub cause: Option<String>,
}

impl WhyStuck {
    /// One line: "waiting on …; 4m 32s to the progress deadline; likely: …".
    pub fn line(&self) -> String {
        let mut out = format!("waiting on {}", self.check);
        if let Some(ms) = self.deadline_left_ms {
            if ms >= 0 {
                out.push_str(&format!("; {} to the progress deadline", clock(ms)));
            } else {
                out.push_str(&format!("; progress deadline passed {} ago", clock(-ms)));
            }
        }
        if let Some(c) = &self.cause {
            out.push_str(&format!("; likely: {c}"));
        }
        out
    }
}

/// `272_000` -> "4m 32s".
pub fn clock(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn why_stuck(s: &RolloutSnapshot, now_ms: i64) -> Option<WhyStuck> {
    let Verdict::Progressing(hold) = verdict(s) else {
        return None;
    };
    let d = s.deployment.as_ref()?;
    let deadline_left_ms = if d.paused {
        None
    } else {
        progressing(d)
            .and_then(|c| c.last_update_ms)
            .map(|at| at + d.progress_deadline_s * 1000 - now_ms)
    };
    Some(WhyStuck {
        check: hold.check(),
        deadline_left_ms,
        cause: likely_cause(s, &hold),
    })
}

fn likely_cause(s: &RolloutSnapshot, hold: &Hold) -> Option<String> {
    let d = s.deployment.as_ref()?;
    if d.paused {
        return Some("the Deployment is paused".into());
    }
    if let Hold::OldReplicasPending { .. } = hold {
        let old: Vec<&str> = s
            .pods
            .iter()
            .filter(|p| !s.is_new_pod(p))
            .map(|p| p.name.as_str())
            .take(3)
            .collect();
        if !old.is_empty() {
            return Some(format!("old pods still running: {}", old.join(", ")));
        }
    }
    let new: Vec<&PodSnap> = s.new_pods().filter(|p| !p.deleting).collect();
    // Scheduling.
    let failed_scheduling =
        s.events.iter().rev().find(|e| {
            e.reason == "FailedScheduling" && new.iter().any(|p| p.name == e.object_name)
        });
    if let Some(e) = failed_scheduling {
        let m = e.message.to_ascii_lowercase();
        let what = if m.contains("insufficient cpu") {
            "insufficient cpu: "
        } else if m.contains("insufficient memory") {
            "insufficient memory: "
        } else {
            ""
        };
        return Some(format!("FailedScheduling: {what}{}", e.message));
    }
    if let Some(p) = new.iter().find(|p| {
        p.conditions
            .iter()
            .any(|c| c.kind == "PodScheduled" && c.status == "False")
    }) {
        let c = p
            .conditions
            .iter()
            .find(|c| c.kind == "PodScheduled")
            .expect("found above");
        return Some(format!(
            "pod {} not scheduled: {} {}",
            p.name, c.reason, c.message
        ));
    }
    // Images.
    for p in &new {
        for c in &p.containers {
            match c.waiting_reason.as_deref() {
                Some(r @ ("ErrImagePull" | "ImagePullBackOff" | "InvalidImageName")) => {
                    return Some(format!(
                        "{r} for {}: {}",
                        c.image,
                        c.waiting_message.as_deref().unwrap_or("")
                    ));
                }
                Some("CrashLoopBackOff") => {
                    return Some(format!(
                        "container {} of {} crash-looping (last exit code {})",
                        c.name,
                        p.name,
                        c.last_exit.map_or("?".into(), |e| e.to_string())
                    ));
                }
                _ => {}
            }
        }
    }
    // Readiness: running but not ready, probe failures named.
    for p in &new {
        if p.phase != "Running" || p.ready {
            continue;
        }
        let unhealthy = s
            .pod_events(&p.name)
            .find(|e| e.reason == "Unhealthy" && e.message.contains("eadiness"));
        let container = unhealthy
            .and_then(|e| container_of(&e.field_path))
            .or_else(|| {
                p.containers
                    .iter()
                    .find(|c| !c.ready)
                    .map(|c| c.name.clone())
            });
        let Some(container) = container else { continue };
        let probe = d
            .probes
            .iter()
            .find(|(c, _)| *c == container)
            .map(|(_, p)| format!(" ({p})"))
            .unwrap_or_default();
        let why = unhealthy
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "not ready yet".into());
        return Some(format!(
            "readiness probe of container {container}{probe} in {}: {why}",
            p.name
        ));
    }
    // Containers still being created / images pulling.
    for p in &new {
        if let Some(c) = p
            .containers
            .iter()
            .find(|c| c.waiting_reason.as_deref() == Some("ContainerCreating"))
        {
            let pulling = s.pod_events(&p.name).find(|e| e.reason == "Pulling");
            return Some(match pulling {
                Some(e) => format!("{}: {}", p.name, e.message),
                None => format!("{}: container {} being created", p.name, c.name),
            });
        }
    }
    if let Some(e) = s.events.iter().rev().find(|e| e.warning) {
        return Some(format!("{} {}: {}", e.object_name, e.reason, e.message));
    }
    None
}

/// `spec.containers{web}` -> `web`.
pub fn container_of(field_path: &str) -> Option<String> {
    let start = field_path.find('{')? + 1;
    let end = field_path[start..].find('}')? + start;
    Some(field_path[start..end].to_string())
}

/// What a view shows of a snapshot, computed once when the snapshot
/// arrives (not per frame): the verdict, why it waits with the deadline as
/// a time (so a countdown needs only a subtraction), pod counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// `Arc::as_ptr` of the snapshot this was computed for (0: none).
    pub of: usize,
    pub verdict: Verdict,
    pub why: Option<WhyStuck>,
    /// When the progress deadline passes (unix ms).
    pub deadline_at: Option<i64>,
    pub new_pods: usize,
    pub ready_pods: usize,
}

impl Default for Derived {
    fn default() -> Self {
        Derived {
            of: 0,
            verdict: Verdict::Missing,
            why: None,
            deadline_at: None,
            new_pods: 0,
            ready_pods: 0,
        }
    }
}

impl Derived {
    pub fn of(s: &RolloutSnapshot, id: usize, now_ms: i64) -> Derived {
        let why = why_stuck(s, now_ms);
        Derived {
            of: id,
            verdict: verdict(s),
            deadline_at: why
                .as_ref()
                .and_then(|w| w.deadline_left_ms)
                .map(|l| now_ms + l),
            why,
            new_pods: s.new_pods().count(),
            ready_pods: s.pods.iter().filter(|p| p.ready).count(),
        }
    }

    /// The why-stuck line as of `now_ms` (only the countdown moves).
    pub fn why_at(&self, now_ms: i64) -> Option<WhyStuck> {
        let mut w = self.why.clone()?;
        w.deadline_left_ms = self.deadline_at.map(|at| at - now_ms);
        Some(w)
    }
}

/// Which rollback trigger fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    ProgressDeadline,
    CrashLoops,
    DoomedPod,
    Health,
    Metric,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::ProgressDeadline => "progress_deadline",
            Trigger::CrashLoops => "crash_loops",
            Trigger::DoomedPod => "doomed_pod",
            Trigger::Health => "health",
            Trigger::Metric => "metric",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub trigger: Trigger,
    pub reason: String,
}

/// Consecutive health check results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthTracker {
    pub consecutive_failures: u32,
    pub checks: u32,
}

impl HealthTracker {
    pub fn record(&mut self, ok: bool) {
        self.checks += 1;
        if ok {
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures += 1;
        }
    }
}

/// Does a rollback trigger fire on this snapshot?
pub fn trigger(on: &RollbackOn, s: &RolloutSnapshot, health: &HealthTracker) -> Option<Fired> {
    let v = verdict(s);
    if on.progress_deadline
        && let Verdict::Failed(Failure::DeadlineExceeded { message }) = &v
    {
        return Some(Fired {
            trigger: Trigger::ProgressDeadline,
            reason: format!("progress deadline exceeded: {message}"),
        });
    }
    if let Some(limit) = on.crash_loops {
        for p in s.new_pods() {
            for c in &p.containers {
                if c.waiting_reason.as_deref() == Some("CrashLoopBackOff") {
                    return Some(Fired {
                        trigger: Trigger::CrashLoops,
                        reason: format!(
                            "CrashLoopBackOff: container {} of new pod {} (last exit code {}, {} restarts)",
                            c.name,
                            p.name,
                            c.last_exit.map_or("?".into(), |e| e.to_string()),
                            c.restarts
                        ),
                    });
                }
                if c.restarts > limit as i32 {
                    return Some(Fired {
                        trigger: Trigger::CrashLoops,
                        reason: format!(
                            "container {} of new pod {} restarted {} times (above {limit})",
                            c.name, p.name, c.restarts
                        ),
                    });
                }
            }
        }
    }
    if on.doomed_pod
        && let Verdict::Failed(Failure::Doomed(d)) = &v
    {
        return Some(Fired {
            trigger: Trigger::DoomedPod,
            reason: format!("pod {} cannot start: {}: {}", d.pod, d.reason, d.detail),
        });
    }
    if let Some(h) = &on.health
        && health.consecutive_failures >= h.failures_needed()
    {
        return Some(Fired {
            trigger: Trigger::Health,
            reason: format!(
                "health check {} failed {} times in a row ({} apart)",
                h.url,
                health.consecutive_failures,
                super::duration::format_duration(h.every)
            ),
        });
    }
    None
}
