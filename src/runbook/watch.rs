//! What `flightdeck watch` shows, derived once per snapshot where the
//! snapshot is built (never in the view): one row per Deployment with its
//! verdict in kubectl's words, one row per pod ranked by trouble. Pure.

use super::rollout::{
    self, ContainerSnap, Failure, Hold, PodSnap, RolloutSnapshot, Verdict, why_stuck,
};

/// A rollout that made no progress for this long is called stuck.
pub const STUCK_AFTER_MS: i64 = 60_000;

/// How a Deployment stands, problems first (the list's sort order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Health {
    Failed,
    Stuck,
    #[default]
    Progressing,
    Complete,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Failed => "failed",
            Health::Stuck => "stuck",
            Health::Progressing => "progressing",
            Health::Complete => "complete",
        }
    }
}

/// One Deployment in the list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub health: Health,
    /// "complete", "progressing 3/5", "stuck 1/3", "failed".
    pub verdict: String,
    /// Why it fails or waits (kubectl's words, then the likely cause).
    pub why: String,
    /// When the progress deadline passes (unix ms): the view counts down
    /// to it without recomputing anything.
    pub deadline_at_ms: Option<i64>,
    /// When a waiting rollout turns stuck if nothing moves (unix ms):
    /// time alone re-judges it (`rejudge`), without its pods.
    pub stuck_at_ms: Option<i64>,
    /// The verdict's progress, "n/m".
    pub progress: String,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub pods: usize,
    /// Images of the pod template, "c=image, …".
    pub images: String,
}

/// The row for a snapshot; `now_ms` decides only whether a waiting
/// rollout is stuck (it is recomputed on the next change, not each tick).
pub fn deployment_row(s: &RolloutSnapshot, now_ms: i64) -> Option<DeploymentRow> {
    let d = s.deployment.as_ref()?;
    let v = rollout::verdict(s);
    let mut row = DeploymentRow {
        namespace: d.namespace.clone(),
        name: d.name.clone(),
        desired: d.replicas,
        updated: d.updated,
        ready: d.ready,
        available: d.available,
        pods: s.pods.len(),
        images: d
            .images
            .iter()
            .map(|(c, i)| format!("{c}={i}"))
            .collect::<Vec<_>>()
            .join(", "),
        ..Default::default()
    };
    match &v {
        Verdict::Complete => {
            row.health = Health::Complete;
            row.verdict = "complete".into();
        }
        Verdict::Missing => return None,
        Verdict::Failed(f) => {
            row.health = Health::Failed;
            row.verdict = "failed".into();
            row.why = match f {
                Failure::DeadlineExceeded { message } => {
                    format!("{}: {message}", v.words(&d.name))
                }
                Failure::Doomed(doom) => {
                    format!("{}: {} ({})", doom.reason, doom.detail, doom.pod)
                }
            };
        }
        Verdict::Progressing(hold) => {
            let (n, m) = match hold {
                Hold::Updating { updated, desired } => (*updated, *desired),
                Hold::Availability { available, updated } => (*available, *updated),
                _ => (d.available.min(d.replicas), d.replicas),
            };
            let w = why_stuck(s, now_ms);
            let left = w.as_ref().and_then(|w| w.deadline_left_ms);
            row.deadline_at_ms = left.map(|l| now_ms + l);
            // Progress was last made `deadline - progressDeadlineSeconds`.
            row.stuck_at_ms = row
                .deadline_at_ms
                .map(|at| at - d.progress_deadline_s * 1000 + STUCK_AFTER_MS);
            row.progress = format!("{n}/{m}");
            let stuck = d.paused || row.stuck_at_ms.is_some_and(|at| now_ms >= at);
            row.health = if stuck {
                Health::Stuck
            } else {
                Health::Progressing
            };
            row.verdict = format!("{} {n}/{m}", row.health.as_str());
            row.why = match w.and_then(|w| w.cause) {
                Some(c) => format!("{}; likely: {c}", hold.check()),
                None => hold.check(),
            };
        }
    }
    Some(row)
}

/// Judge a waiting row again for time alone: one that made no progress
/// for `STUCK_AFTER_MS` is stuck. True when it changed.
pub fn rejudge(row: &mut DeploymentRow, now_ms: i64) -> bool {
    if row.health != Health::Progressing || row.stuck_at_ms.is_none_or(|at| now_ms < at) {
        return false;
    }
    row.health = Health::Stuck;
    row.verdict = format!("{} {}", row.health.as_str(), row.progress);
    true
}

/// Problems first, then by namespace and name: the list's order.
pub fn sort_rows(rows: &mut [DeploymentRow]) {
    rows.sort_by(|a, b| {
        a.health
            .cmp(&b.health)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// How bad a pod is, worst first (the pod table's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Trouble {
    /// Cannot start: CrashLoopBackOff, image not found, config error.
    Doomed,
    NotReady,
    /// Ready, but restarted.
    Restarted,
    #[default]
    Fine,
}

/// One pod in the table, with what the table sorts and filters on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodRow {
    pub name: String,
    pub new: bool,
    pub phase: String,
    /// "1/2".
    pub ready: String,
    pub restarts: i32,
    pub created_ms: Option<i64>,
    pub node: String,
    /// `kubectl get pods`' STATUS, or why it is doomed.
    pub reason: String,
    pub trouble: Trouble,
    pub containers: Vec<String>,
    /// Lowercased name and reason, so filtering does not allocate.
    pub haystack: String,
}

fn pod_trouble(s: &RolloutSnapshot, p: &PodSnap, doomed_reason: Option<&str>) -> Trouble {
    if doomed_reason.is_some() {
        Trouble::Doomed
    } else if !p.ready && !p.deleting && (s.is_new_pod(p) || p.phase != "Succeeded") {
        Trouble::NotReady
    } else if p.restarts > 0 {
        Trouble::Restarted
    } else {
        Trouble::Fine
    }
}

/// The pods of a snapshot, worst first, then most restarts, then by name.
pub fn pod_rows(s: &RolloutSnapshot) -> Vec<PodRow> {
    let new_rs = s.new_replica_set().map(|r| r.name.clone());
    let mut rows: Vec<PodRow> = s
        .pods
        .iter()
        .map(|p| {
            let new = new_rs.is_some() && s.is_new_pod(p);
            let doom = if p.deleting {
                None
            } else {
                p.containers
                    .iter()
                    .find_map(rollout::doomed_container_reason)
            };
            let trouble = pod_trouble(s, p, doom.as_deref());
            let reason = match &doom {
                Some(d) => d.clone(),
                None => p.reason.clone(),
            };
            PodRow {
                haystack: format!("{} {}", p.name, reason).to_lowercase(),
                name: p.name.clone(),
                new,
                phase: p.phase.clone(),
                ready: format!(
                    "{}/{}",
                    p.containers.iter().filter(|c| c.ready).count(),
                    p.containers.len()
                ),
                restarts: p.restarts,
                created_ms: p.created_ms,
                node: p.node.clone(),
                reason,
                trouble,
                containers: p.containers.iter().map(|c| c.name.clone()).collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.trouble
            .cmp(&b.trouble)
            .then(b.restarts.cmp(&a.restarts))
            .then(b.new.cmp(&a.new))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}

/// Does a pull failure's message say the image is not there (SEMANTICS:
/// fail fast on `ErrImagePull` / `ImagePullBackOff` with "not found")?
pub fn image_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("not found") || m.contains("manifest unknown")
}

fn pulling(c: &ContainerSnap) -> bool {
    matches!(
        c.waiting_reason.as_deref(),
        Some("ErrImagePull" | "ImagePullBackOff")
    )
}

/// A container failing to pull whose status no longer says why: after
/// the first `ErrImagePull` ("manifest ... not found") the kubelet shows
/// `ImagePullBackOff` ("Back-off pulling image"), which alone dooms nothing.
pub fn pull_failing_without_evidence(c: &ContainerSnap) -> bool {
    pulling(c) && !image_not_found(c.waiting_message.as_deref().unwrap_or(""))
}

/// Keep what an earlier status of the same pod said: a container still
/// failing to pull the same image keeps its "not found" message, so the
/// list (which has no events) does not flip from failed back to waiting.
pub fn keep_pull_evidence(old: &PodSnap, new: &mut PodSnap) {
    for c in new
        .containers
        .iter_mut()
        .filter(|c| pull_failing_without_evidence(c))
    {
        if let Some(o) = old.containers.iter().find(|o| {
            o.name == c.name
                && o.image == c.image
                && pulling(o)
                && image_not_found(o.waiting_message.as_deref().unwrap_or(""))
        }) {
            c.waiting_message = o.waiting_message.clone();
        }
    }
}

/// Put the evidence found elsewhere (the pod's own events) on a container
/// still failing to pull. True when it changed the pod.
pub fn set_pull_evidence(p: &mut PodSnap, container: &str, message: &str) -> bool {
    let Some(c) = p
        .containers
        .iter_mut()
        .find(|c| c.name == container && pull_failing_without_evidence(c))
    else {
        return false;
    };
    c.waiting_message = Some(message.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::rollout::{
        Condition, ContainerSnap, DeploymentSnap, PodSnap, ReplicaSetSnap,
    };

    fn snap(replicas: i32, updated: i32, available: i32, pods: Vec<PodSnap>) -> RolloutSnapshot {
        let mut s = RolloutSnapshot {
            deployment: Some(DeploymentSnap {
                name: "web".into(),
                namespace: "shop".into(),
                generation: 2,
                observed_generation: 2,
                replicas,
                updated,
                ready: available,
                available,
                total: updated,
                progress_deadline_s: 600,
                conditions: vec![Condition {
                    kind: "Progressing".into(),
                    status: "True".into(),
                    reason: "ReplicaSetUpdated".into(),
                    last_update_ms: Some(1_000_000),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            replica_sets: vec![ReplicaSetSnap {
                name: "web-new".into(),
                is_new: true,
                revision: 2,
                ..Default::default()
            }],
            pods,
            events: vec![],
        };
        s.normalize();
        s
    }

    fn pod(name: &str, ready: bool, waiting: Option<&str>, restarts: i32) -> PodSnap {
        PodSnap {
            name: name.into(),
            uid: name.into(),
            replica_set: Some("web-new".into()),
            phase: "Running".into(),
            ready,
            restarts,
            reason: waiting.unwrap_or("Running").into(),
            containers: vec![ContainerSnap {
                name: "app".into(),
                ready,
                restarts,
                waiting_reason: waiting.map(str::to_string),
                last_exit: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn verdicts_read_like_kubectl_and_problems_sort_first() {
        let done = deployment_row(&snap(2, 2, 2, vec![]), 1_000_000).unwrap();
        assert_eq!(
            (done.health, done.verdict.as_str()),
            (Health::Complete, "complete")
        );
        let moving = deployment_row(&snap(5, 3, 3, vec![]), 1_010_000).unwrap();
        assert_eq!(moving.verdict, "progressing 3/5");
        assert_eq!(moving.deadline_at_ms, Some(1_000_000 + 600_000));
        let idle = deployment_row(&snap(5, 3, 3, vec![]), 1_000_000 + STUCK_AFTER_MS).unwrap();
        assert_eq!(idle.verdict, "stuck 3/5");
        let crash = snap(
            1,
            1,
            0,
            vec![pod("web-a", false, Some("CrashLoopBackOff"), 4)],
        );
        let failed = deployment_row(&crash, 1_000_000).unwrap();
        assert_eq!(failed.health, Health::Failed);
        assert!(failed.why.starts_with("CrashLoopBackOff"), "{}", failed.why);
        assert!(failed.why.contains("last exit code 1"), "{}", failed.why);
        let mut rows = vec![done, moving, idle, failed];
        sort_rows(&mut rows);
        let order: Vec<Health> = rows.iter().map(|r| r.health).collect();
        assert_eq!(
            order,
            [
                Health::Failed,
                Health::Stuck,
                Health::Progressing,
                Health::Complete
            ]
        );
    }

    #[test]
    fn pods_sort_doomed_then_not_ready_then_restarts() {
        let s = snap(
            4,
            4,
            1,
            vec![
                pod("web-a", true, None, 0),
                pod("web-b", true, None, 2),
                pod("web-c", false, None, 0),
                pod("web-d", false, Some("CrashLoopBackOff"), 7),
            ],
        );
        let rows = pod_rows(&s);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["web-d", "web-c", "web-b", "web-a"]);
        assert_eq!(rows[0].trouble, Trouble::Doomed);
        assert_eq!(rows[0].reason, "CrashLoopBackOff (exit 1)");
    }

    #[test]
    fn a_missing_image_stays_evident_through_the_back_off() {
        let pulling = |reason: &str, message: &str, image: &str| {
            let mut p = pod("web-a", false, Some(reason), 0);
            p.containers[0].waiting_message = Some(message.into());
            p.containers[0].image = image.into();
            p.containers[0].last_exit = None;
            p
        };
        let first = pulling(
            "ErrImagePull",
            "manifest for web:9 not found: manifest unknown",
            "web:9",
        );
        let mut later = pulling(
            "ImagePullBackOff",
            "Back-off pulling image \"web:9\"",
            "web:9",
        );
        assert!(pull_failing_without_evidence(&later.containers[0]));
        keep_pull_evidence(&first, &mut later);
        assert!(!pull_failing_without_evidence(&later.containers[0]));
        let failed = deployment_row(&snap(1, 1, 0, vec![later.clone()]), 1_000_000).unwrap();
        assert_eq!(failed.health, Health::Failed, "{failed:?}");
        assert!(
            failed.why.contains("image web:9 not found"),
            "{}",
            failed.why
        );
        // Another image is another story.
        let mut other = pulling("ImagePullBackOff", "Back-off pulling image", "web:10");
        keep_pull_evidence(&first, &mut other);
        assert!(pull_failing_without_evidence(&other.containers[0]));
        assert!(set_pull_evidence(&mut other, "app", "web:10 not found"));
        assert!(!set_pull_evidence(&mut other, "app", "again"));
        let waiting = deployment_row(
            &snap(
                1,
                1,
                0,
                vec![pulling("ImagePullBackOff", "Back-off pulling image", "x:1")],
            ),
            1_000_000,
        )
        .unwrap();
        assert_ne!(waiting.health, Health::Failed, "no evidence, no doom");
    }

    #[test]
    fn time_alone_makes_a_waiting_row_stuck_without_its_pods() {
        let mut row = deployment_row(&snap(5, 3, 3, vec![]), 1_010_000).unwrap();
        assert_eq!(row.verdict, "progressing 3/5");
        assert!(!rejudge(&mut row, 1_000_000 + STUCK_AFTER_MS - 1));
        assert!(rejudge(&mut row, 1_000_000 + STUCK_AFTER_MS));
        assert_eq!(
            (row.health, row.verdict.as_str()),
            (Health::Stuck, "stuck 3/5")
        );
        let fresh = deployment_row(&snap(5, 3, 3, vec![]), 1_000_000 + STUCK_AFTER_MS).unwrap();
        assert_eq!(row, fresh, "the same row as recomputing it");
        assert!(!rejudge(&mut row, 2_000_000), "once");
    }
}
