//! Kubernetes step kinds: rollouts, waits, patches, restarts, scales, undo.
//! Plain data: the backend (`backend::kube`) turns these into API calls.

use std::time::Duration;

/// Which cluster a kube step talks to. Filled in when the step launches
/// (from `--context`/`--namespace`, the kubeconfig and the environment's
/// pin), never written in a runbook.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cluster {
    /// Kubeconfig file; `None`: `$KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<String>,
    /// Context to use; `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// Namespace when the step names none.
    pub namespace: String,
}

/// `environments.X.kube`: the cluster a runbook environment must run on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KubePin {
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// One Kubernetes step (or undo).
#[derive(Debug, Clone, PartialEq)]
pub struct KubeAction {
    pub op: KubeOp,
    /// The step's own namespace; `None`: the environment's, then the context's.
    pub namespace: Option<String>,
    /// When to roll back automatically (steps that watch a rollout).
    pub rollback_on: Option<RollbackOn>,
    /// Filled at launch.
    pub cluster: Cluster,
    /// What undoes this step when a trigger fires (or by hand): the step's
    /// `undo`, filled at launch; `None` for a rollout means `kube.undo` of
    /// its Deployment.
    pub undo: Option<Box<super::model::StepAction>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KubeOp {
    /// `kube.rollout`: set images (or server-side apply manifests), then watch.
    Rollout {
        deployment: String,
        /// Container name -> image.
        images: Vec<(String, String)>,
        /// Manifest files applied with server-side apply.
        manifests: Vec<String>,
    },
    /// `kube.wait`: watch an existing rollout to its verdict.
    Wait { deployment: String },
    /// `kube.patch`: any object.
    Patch {
        api_version: String,
        kind: String,
        name: String,
        patch_type: PatchType,
        patch: serde_json::Value,
    },
    /// `kube.restart`: what `kubectl rollout restart` does.
    Restart { deployment: String, wait: bool },
    /// `kube.scale`.
    Scale {
        deployment: String,
        /// A whole number (may come from `${inputs.x}`).
        replicas: String,
        wait: bool,
    },
    /// `kube.undo`: back to the previous revision or `to_revision`.
    Undo {
        deployment: String,
        to_revision: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Strategic,
    Merge,
    Json,
}

impl PatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchType::Strategic => "strategic",
            PatchType::Merge => "merge",
            PatchType::Json => "json",
        }
    }
}

/// `rollback_on:` of a watching step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RollbackOn {
    /// `Progressing=False, ProgressDeadlineExceeded`.
    pub progress_deadline: bool,
    /// Restarts of a new ReplicaSet pod above this, or CrashLoopBackOff.
    pub crash_loops: Option<u32>,
    /// A new pod that cannot start (fail-fast reasons).
    pub doomed_pod: bool,
    pub health: Option<HealthTrigger>,
    /// A metric condition (e.g. error rate < 5%) breached for its `sustain`
    /// window, queried every `interval`. Inconclusive answers never fire it
    /// and never count as healthy.
    pub metric: Option<Box<super::data::PromSpec>>,
}

/// Consecutive breaches of a metric condition that fire the trigger.
pub fn metric_breaches_needed(p: &super::data::PromSpec) -> u32 {
    let every = p.interval.as_millis().max(1);
    (p.sustain.unwrap_or_default().as_millis().div_ceil(every) as u32).max(1)
}

/// A health URL failing for a sustained time.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthTrigger {
    pub url: String,
    pub every: Duration,
    /// Fires after failing this long: `for / every` consecutive failures.
    pub sustained: Duration,
}

impl HealthTrigger {
    /// Consecutive failures that fire the trigger (12 for every 10s, for 2m).
    pub fn failures_needed(&self) -> u32 {
        let every = self.every.as_millis().max(1);
        (self.sustained.as_millis().div_ceil(every) as u32).max(1)
    }
}

/// `check: { kube: ... }`
#[derive(Debug, Clone, PartialEq)]
pub enum KubeCheck {
    /// The API answers and the user may do what the runbook's kube steps do.
    Access {
        namespace: Option<String>,
        cluster: Cluster,
        /// Filled at launch from the runbook's kube steps.
        needs: Vec<Permission>,
    },
}

/// One thing a SelfSubjectAccessReview asks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.subresource.is_empty() {
            write!(f, "/{}", self.subresource)?;
        }
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        write!(f, " in {}", self.namespace)
    }
}

impl KubeAction {
    pub fn kind_name(&self) -> &'static str {
        match self.op {
            KubeOp::Rollout { .. } => "kube.rollout",
            KubeOp::Wait { .. } => "kube.wait",
            KubeOp::Patch { .. } => "kube.patch",
            KubeOp::Restart { .. } => "kube.restart",
            KubeOp::Scale { .. } => "kube.scale",
            KubeOp::Undo { .. } => "kube.undo",
        }
    }

    /// The Deployment whose rollout the step watches, if any.
    pub fn watched_deployment(&self) -> Option<&str> {
        match &self.op {
            KubeOp::Rollout { deployment, .. }
            | KubeOp::Wait { deployment }
            | KubeOp::Undo { deployment, .. } => Some(deployment),
            KubeOp::Restart { deployment, wait }
            | KubeOp::Scale {
                deployment, wait, ..
            } => wait.then_some(deployment.as_str()),
            KubeOp::Patch { .. } => None,
        }
    }

    /// The Deployment a manual or automatic rollback reverts.
    pub fn deployment(&self) -> Option<&str> {
        match &self.op {
            KubeOp::Rollout { deployment, .. }
            | KubeOp::Wait { deployment }
            | KubeOp::Undo { deployment, .. }
            | KubeOp::Restart { deployment, .. }
            | KubeOp::Scale { deployment, .. } => Some(deployment),
            KubeOp::Patch { .. } => None,
        }
    }

    /// The default undo: `kube.undo` of the step's Deployment.
    pub fn default_undo(&self) -> Option<KubeAction> {
        let deployment = self.deployment()?.to_string();
        if matches!(self.op, KubeOp::Patch { .. }) {
            return None;
        }
        Some(KubeAction {
            op: KubeOp::Undo {
                deployment,
                to_revision: None,
            },
            namespace: self.namespace.clone(),
            rollback_on: None,
            cluster: self.cluster.clone(),
            undo: None,
        })
    }

    /// What a SelfSubjectAccessReview must allow for this step.
    pub fn permissions(&self, namespace: &str) -> Vec<Permission> {
        let ns = self.namespace.as_deref().unwrap_or(namespace);
        let p = |verb: &str, group: &str, resource: &str, sub: &str| Permission {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
        };
        let mut out = Vec::new();
        match &self.op {
            KubeOp::Patch {
                api_version, kind, ..
            } => {
                let group = api_version
                    .rsplit_once('/')
                    .map(|(g, _)| g)
                    .unwrap_or_default();
                out.push(p("get", group, &plural(kind), ""));
                out.push(p("patch", group, &plural(kind), ""));
            }
            KubeOp::Undo { .. } => {
                out.push(p("list", "apps", "replicasets", ""));
                out.push(p("patch", "apps", "deployments", ""));
            }
            _ => {
                out.push(p("patch", "apps", "deployments", ""));
                // A rollback (trigger or by hand) is a `kube.undo`.
                out.push(p("list", "apps", "replicasets", ""));
            }
        }
        if self.watched_deployment().is_some() {
            for (verb, group, resource, sub) in [
                ("watch", "apps", "deployments", ""),
                ("watch", "apps", "replicasets", ""),
                ("watch", "", "pods", ""),
                ("watch", "", "events", ""),
                ("get", "", "pods", "log"),
            ] {
                out.push(p(verb, group, resource, sub));
            }
        }
        out
    }
}

/// `ConfigMap` -> `configmaps`, `Ingress` -> `ingresses`, `NetworkPolicy` -> `networkpolicies`.
pub fn plural(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if let Some(stem) = k.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{k}s")
    }
}

impl KubeCheck {
    pub fn kind_name(&self) -> &'static str {
        match self {
            KubeCheck::Access { .. } => "check kube",
        }
    }
}

impl super::template::Templated for KubeAction {
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String)) {
        if let Some(ns) = &mut self.namespace {
            f("kube.namespace", ns);
        }
        match &mut self.op {
            KubeOp::Rollout {
                deployment,
                images,
                manifests,
            } => {
                f("kube.deployment", deployment);
                for (_, image) in images {
                    f("kube.images", image);
                }
                for m in manifests {
                    f("kube.manifests", m);
                }
            }
            KubeOp::Wait { deployment } | KubeOp::Restart { deployment, .. } => {
                f("kube.deployment", deployment)
            }
            KubeOp::Scale {
                deployment,
                replicas,
                ..
            } => {
                f("kube.deployment", deployment);
                f("kube.replicas", replicas);
            }
            KubeOp::Undo {
                deployment,
                to_revision,
            } => {
                f("kube.deployment", deployment);
                if let Some(r) = to_revision {
                    f("kube.to_revision", r);
                }
            }
            KubeOp::Patch { name, patch, .. } => {
                f("kube.name", name);
                visit_json(patch, f);
            }
        }
        if let Some(h) = self.rollback_on.as_mut().and_then(|r| r.health.as_mut()) {
            f("kube.rollback_on.health.http", &mut h.url);
        }
        if let Some(m) = self.rollback_on.as_mut().and_then(|r| r.metric.as_mut()) {
            f("kube.rollback_on.metric.url", &mut m.url);
            f("kube.rollback_on.metric.query", &mut m.query);
        }
        if let Some(u) = &mut self.undo {
            u.visit(f);
        }
    }
}

fn visit_json(v: &mut serde_json::Value, f: &mut dyn FnMut(&'static str, &mut String)) {
    match v {
        serde_json::Value::String(s) => f("kube.patch", s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| visit_json(i, f)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|i| visit_json(i, f)),
        _ => {}
    }
}

impl super::template::Templated for KubeCheck {
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String)) {
        match self {
            KubeCheck::Access { namespace, .. } => {
                if let Some(ns) = namespace {
                    f("check.kube.namespace", ns);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("ConfigMap"), "configmaps");
        assert_eq!(plural("Service"), "services");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Gateway"), "gateways");
    }

    #[test]
    fn health_needs_sustained_failures() {
        let h = HealthTrigger {
            url: "http://x".into(),
            every: Duration::from_secs(10),
            sustained: Duration::from_secs(120),
        };
        assert_eq!(h.failures_needed(), 12);
    }
}
