//! Kubernetes objects -> plain rollout snapshots. Pure functions, tested on
//! fixtures captured from a real API server (tests/fixtures/k8s/).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Pod, PodTemplateSpec, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::runbook::rollout::*;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

fn ms(t: &Option<Time>) -> Option<i64> {
    t.as_ref().map(|t| t.0.as_millisecond())
}

fn int_or_string(v: &Option<IntOrString>, default: &str) -> String {
    match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => default.to_string(),
    }
}

fn images(containers: &[Container]) -> Vec<(String, String)> {
    containers
        .iter()
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect()
}

fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<i64> {
    meta.annotations
        .as_ref()?
        .get(REVISION)
        .and_then(|r| r.parse().ok())
}

/// A readiness probe in words: "GET /ready on :8080", "TCP :5432", "exec cat /tmp/ok".
pub fn probe_words(p: &Probe) -> String {
    if let Some(h) = &p.http_get {
        format!(
            "GET {} on :{}",
            h.path.as_deref().unwrap_or("/"),
            int_or_string(&Some(h.port.clone()), "")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("TCP :{}", int_or_string(&Some(t.port.clone()), ""))
    } else if let Some(e) = &p.exec {
        format!("exec {}", e.command.clone().unwrap_or_default().join(" "))
    } else if let Some(g) = &p.grpc {
        format!("gRPC :{}", g.port)
    } else {
        "probe".into()
    }
}

pub fn deployment(d: &Deployment) -> DeploymentSnap {
    let spec = d.spec.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    let strategy = match spec.strategy.as_ref() {
        Some(s) if s.type_.as_deref() == Some("Recreate") => "Recreate".to_string(),
        s => {
            let ru = s.and_then(|s| s.rolling_update.clone()).unwrap_or_default();
            format!(
                "RollingUpdate (surge {}, unavailable {})",
                int_or_string(&ru.max_surge, "25%"),
                int_or_string(&ru.max_unavailable, "25%")
            )
        }
    };
    let pod_spec = spec.template.spec.clone().unwrap_or_default();
    DeploymentSnap {
        name: d.metadata.name.clone().unwrap_or_default(),
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        replicas: spec.replicas.unwrap_or(1),
        updated: status.updated_replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        total: status.replicas.unwrap_or(0),
        unavailable: status.unavailable_replicas.unwrap_or(0),
        conditions: status
            .conditions
            .unwrap_or_default()
            .into_iter()
            .map(|c| Condition {
                kind: c.type_,
                status: c.status,
                reason: c.reason.unwrap_or_default(),
                message: c.message.unwrap_or_default(),
                last_update_ms: ms(&c.last_update_time),
                last_transition_ms: ms(&c.last_transition_time),
            })
            .collect(),
        progress_deadline_s: spec
            .progress_deadline_seconds
            .map(i64::from)
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE_S),
        strategy,
        revision: revision(&d.metadata),
        paused: spec.paused.unwrap_or(false),
        images: images(&pod_spec.containers),
        probes: pod_spec
            .containers
            .iter()
            .filter_map(|c| {
                c.readiness_probe
                    .as_ref()
                    .map(|p| (c.name.clone(), probe_words(p)))
            })
            .collect(),
    }
}

/// The ReplicaSet belongs to the Deployment (controller owner reference).
pub fn owned_by(rs: &ReplicaSet, d: &Deployment) -> bool {
    let Some(uid) = d.metadata.uid.as_deref() else {
        return false;
    };
    rs.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid)
}

/// kubectl's `EqualIgnoreHash`: the templates match once the
/// `pod-template-hash` label is left out.
pub fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH);
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

pub fn replica_set(rs: &ReplicaSet, d: Option<&Deployment>) -> ReplicaSetSnap {
    let spec = rs.spec.clone().unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    let template = spec.template.clone().unwrap_or_default();
    let is_new = d
        .and_then(|d| d.spec.as_ref())
        .is_some_and(|ds| same_template(&ds.template, &template));
    ReplicaSetSnap {
        name: rs.metadata.name.clone().unwrap_or_default(),
        revision: revision(&rs.metadata).unwrap_or(0),
        images: images(
            &template
                .spec
                .as_ref()
                .map(|s| s.containers.clone())
                .unwrap_or_default(),
        ),
        replicas: spec.replicas.unwrap_or(1),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        total: status.replicas,
        pod_template_hash: rs
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH).cloned())
            .unwrap_or_default(),
        is_new,
        created_ms: ms(&rs.metadata.creation_timestamp),
    }
}

fn container(c: &ContainerStatus) -> ContainerSnap {
    let state = c.state.clone().unwrap_or_default();
    let last = c.last_state.as_ref().and_then(|s| s.terminated.clone());
    ContainerSnap {
        name: c.name.clone(),
        image: c.image.clone(),
        ready: c.ready,
        restarts: c.restart_count,
        waiting_reason: state.waiting.as_ref().and_then(|w| w.reason.clone()),
        waiting_message: state.waiting.as_ref().and_then(|w| w.message.clone()),
        terminated_reason: state.terminated.as_ref().and_then(|t| t.reason.clone()),
        terminated_exit: state.terminated.as_ref().map(|t| t.exit_code),
        last_reason: last.as_ref().and_then(|t| t.reason.clone()),
        last_exit: last.as_ref().map(|t| t.exit_code),
    }
}

pub fn pod(p: &Pod) -> PodSnap {
    let status = p.status.clone().unwrap_or_default();
    let spec = p.spec.clone().unwrap_or_default();
    let mut containers: Vec<ContainerSnap> = status
        .container_statuses
        .iter()
        .flatten()
        .map(container)
        .collect();
    // Containers without a status yet (just scheduled) still count.
    for c in &spec.containers {
        if !containers.iter().any(|s| s.name == c.name) {
            containers.push(ContainerSnap {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                ..Default::default()
            });
        }
    }
    let conditions: Vec<Condition> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| Condition {
            kind: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
            last_update_ms: ms(&c.last_probe_time),
            last_transition_ms: ms(&c.last_transition_time),
        })
        .collect();
    let ready = conditions
        .iter()
        .any(|c| c.kind == "Ready" && c.status == "True");
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    let deleting = p.metadata.deletion_timestamp.is_some();
    // kubectl's STATUS column: a waiting or terminated reason wins over the phase.
    let reason = if deleting {
        "Terminating".to_string()
    } else if let Some(r) = containers
        .iter()
        .find_map(|c| c.waiting_reason.clone().or(c.terminated_reason.clone()))
    {
        r
    } else {
        status.reason.clone().unwrap_or_else(|| phase.clone())
    };
    PodSnap {
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: p.metadata.uid.clone().unwrap_or_default(),
        pod_template_hash: p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH).cloned())
            .unwrap_or_default(),
        replica_set: p
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.kind == "ReplicaSet")
            .map(|o| o.name.clone()),
        phase,
        ready,
        restarts: containers.iter().map(|c| c.restarts).sum(),
        created_ms: ms(&p.metadata.creation_timestamp),
        node: spec.node_name.unwrap_or_default(),
        reason,
        containers,
        conditions,
        deleting,
    }
}

pub fn event(e: &Event) -> EventSnap {
    let last_ms = ms(&e.last_timestamp)
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_millisecond()))
        .or_else(|| ms(&e.first_timestamp))
        .or_else(|| ms(&e.metadata.creation_timestamp))
        .unwrap_or(0);
    EventSnap {
        uid: e.metadata.uid.clone().unwrap_or_default(),
        object_kind: e.involved_object.kind.clone().unwrap_or_default(),
        object_name: e.involved_object.name.clone().unwrap_or_default(),
        field_path: e.involved_object.field_path.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        warning: e.type_.as_deref() == Some("Warning"),
        count: e.count.unwrap_or(1),
        last_ms,
    }
}

/// Is this event about the Deployment `name`, one of its ReplicaSets or pods?
pub fn event_concerns(e: &EventSnap, deployment: &str) -> bool {
    match e.object_kind.as_str() {
        "Deployment" => e.object_name == deployment,
        "ReplicaSet" | "Pod" => e
            .object_name
            .strip_prefix(deployment)
            .is_some_and(|rest| rest.starts_with('-')),
        _ => false,
    }
}

/// Everything about one Deployment's rollout, in display order.
pub fn snapshot<'a>(
    d: Option<&Deployment>,
    replica_sets: impl IntoIterator<Item = &'a ReplicaSet>,
    pods: Vec<PodSnap>,
    events: Vec<EventSnap>,
) -> RolloutSnapshot {
    let replica_sets = replica_sets
        .into_iter()
        .filter(|rs| d.is_none_or(|d| owned_by(rs, d)))
        .map(|rs| replica_set(rs, d))
        .collect();
    let mut s = RolloutSnapshot {
        deployment: d.map(deployment),
        replica_sets,
        pods,
        events,
    };
    s.normalize();
    s
}
