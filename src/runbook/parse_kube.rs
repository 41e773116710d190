//! Parsing the Kubernetes step kinds (see `kube.rs`).

use std::time::Duration;

use super::kube::*;
use super::model::{CheckSpec, StepAction};
use super::parse::{Ctx, Fields, scalar_string, to_json};
use super::yaml::{Node, Value};

/// Step keys this family owns (`kube.rollout:`, ...).
pub(crate) const KEYS: &[&str] = &[
    "kube.rollout",
    "kube.wait",
    "kube.patch",
    "kube.restart",
    "kube.scale",
    "kube.undo",
];
/// `check:` sub-keys this family owns.
pub(crate) const CHECK_KEYS: &[&str] = &["kube"];

pub(crate) fn action(ctx: &mut Ctx, key: &str, node: &Node, path: &str) -> Option<StepAction> {
    let mut f = Fields::new(ctx, node, path)?;
    let namespace = f.string(ctx, "namespace");
    let deployment = |f: &mut Fields<'_>, ctx: &mut Ctx| f.required_string(ctx, "deployment");
    let op = match key {
        "kube.rollout" => {
            let deployment = deployment(&mut f, ctx);
            let images = images(ctx, &mut f);
            let manifests = f.string_list(ctx, "manifests");
            if images.is_empty() == manifests.is_empty() {
                ctx.err(
                    node.pos,
                    &f.field("images"),
                    "give images (container: image) or manifests (files to apply), one of them",
                );
            }
            KubeOp::Rollout {
                deployment,
                images,
                manifests,
            }
        }
        "kube.wait" => KubeOp::Wait {
            deployment: deployment(&mut f, ctx),
        },
        "kube.patch" => patch(ctx, &mut f, node)?,
        "kube.restart" => KubeOp::Restart {
            deployment: deployment(&mut f, ctx),
            wait: f.bool(ctx, "wait").unwrap_or(true),
        },
        "kube.scale" => {
            let deployment = deployment(&mut f, ctx);
            let replicas = match f.get("replicas") {
                Some(n) => {
                    let s = scalar_string(ctx, n, &f.field("replicas")).unwrap_or_default();
                    if !s.contains("${") && s.parse::<u32>().is_err() {
                        ctx.err(n.pos, &f.field("replicas"), "expected a whole number >= 0");
                    }
                    s
                }
                None => {
                    ctx.err(node.pos, &f.field("replicas"), "is required");
                    String::new()
                }
            };
            KubeOp::Scale {
                deployment,
                replicas,
                wait: f.bool(ctx, "wait").unwrap_or(true),
            }
        }
        "kube.undo" => {
            let deployment = deployment(&mut f, ctx);
            let to_revision = f
                .get("to_revision")
                .and_then(|n| scalar_string(ctx, n, &f.field("to_revision")));
            KubeOp::Undo {
                deployment,
                to_revision,
            }
        }
        _ => return None,
    };
    let rollback_on = match f.get("rollback_on") {
        Some(n) => rollback_on(ctx, n, &f.field("rollback_on")),
        None => None,
    };
    if rollback_on.is_some() && matches!(op, KubeOp::Patch { .. }) {
        ctx.err(
            node.pos,
            &f.field("rollback_on"),
            "only steps that watch a rollout roll back",
        );
    }
    f.finish(ctx);
    Some(StepAction::Kube(KubeAction {
        op,
        namespace,
        rollback_on,
        cluster: Cluster::default(),
        undo: None,
    }))
}

fn images(ctx: &mut Ctx, f: &mut Fields<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(n) = f.get("images") else {
        return out;
    };
    let field = f.field("images");
    match &n.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if let Some(s) = scalar_string(ctx, v, &format!("{field}.{}", k.name)) {
                    out.push((k.name.clone(), s));
                }
            }
        }
        _ => ctx.expected(n, &field, "a mapping of container -> image"),
    }
    out
}

fn patch(ctx: &mut Ctx, f: &mut Fields<'_>, node: &Node) -> Option<KubeOp> {
    let api_version = f.required_string(ctx, "api_version");
    let kind = f.required_string(ctx, "kind");
    let name = f.required_string(ctx, "name");
    let patch_type = match f.string(ctx, "type").as_deref() {
        None | Some("strategic") => PatchType::Strategic,
        Some("merge") => PatchType::Merge,
        Some("json") => PatchType::Json,
        Some(other) => {
            ctx.err(
                node.pos,
                &f.field("type"),
                format!("unknown patch type {other:?}; use strategic, merge or json"),
            );
            PatchType::Strategic
        }
    };
    let patch = match f.get("patch") {
        Some(n) => {
            let v = to_json(&n.value);
            let ok = match patch_type {
                PatchType::Json => v.is_array(),
                _ => v.is_object(),
            };
            if !ok {
                ctx.err(
                    n.pos,
                    &f.field("patch"),
                    match patch_type {
                        PatchType::Json => "a JSON patch is a list of operations",
                        _ => "expected a mapping",
                    },
                );
            }
            v
        }
        None => {
            ctx.err(node.pos, &f.field("patch"), "is required");
            serde_json::Value::Null
        }
    };
    Some(KubeOp::Patch {
        api_version,
        kind,
        name,
        patch_type,
        patch,
    })
}

fn rollback_on(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RollbackOn> {
    let mut f = Fields::new(ctx, node, path)?;
    let mut r = RollbackOn {
        progress_deadline: f.bool(ctx, "progress_deadline").unwrap_or(false),
        crash_loops: f.uint(ctx, "crash_loops"),
        doomed_pod: f.bool(ctx, "doomed_pod").unwrap_or(false),
        health: None,
        metric: None,
    };
    if let Some(n) = f.get("metric") {
        let mpath = f.field("metric");
        r.metric = super::parse_data::prometheus(ctx, n, &mpath).map(Box::new);
    }
    if let Some(n) = f.get("health") {
        let hpath = f.field("health");
        if let Some(mut h) = Fields::new(ctx, n, &hpath) {
            let url = h.required_string(ctx, "http");
            let every = h.duration(ctx, "every").unwrap_or(Duration::from_secs(10));
            let sustained = h.duration(ctx, "for").unwrap_or(Duration::from_secs(120));
            if every.is_zero() {
                ctx.err(n.pos, &h.field("every"), "must be more than 0s");
            }
            h.finish(ctx);
            r.health = Some(HealthTrigger {
                url,
                every,
                sustained,
            });
        }
    }
    f.finish(ctx);
    Some(r)
}

pub(crate) fn check(ctx: &mut Ctx, key: &str, node: &Node, path: &str) -> Option<CheckSpec> {
    if key != "kube" {
        return None;
    }
    if let Value::Bool(true) = node.value {
        return Some(CheckSpec::Kube(KubeCheck::Access {
            namespace: None,
            cluster: Cluster::default(),
            needs: Vec::new(),
        }));
    }
    let mut f = Fields::new(ctx, node, path)?;
    let namespace = f.string(ctx, "namespace");
    f.finish(ctx);
    Some(CheckSpec::Kube(KubeCheck::Access {
        namespace,
        cluster: Cluster::default(),
        needs: Vec::new(),
    }))
}

/// `environments.X.kube: { context, namespace }`.
pub(crate) fn pin(ctx: &mut Ctx, node: &Node, path: &str) -> Option<KubePin> {
    let mut f = Fields::new(ctx, node, path)?;
    let pin = KubePin {
        context: f.string(ctx, "context"),
        namespace: f.string(ctx, "namespace"),
    };
    f.finish(ctx);
    Some(pin)
}
