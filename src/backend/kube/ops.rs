//! The changes kube steps make: set images, server-side apply, patch,
//! restart, scale, undo (as `kubectl rollout undo` does it).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{self, Scope};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::convert::{POD_TEMPLATE_HASH, REVISION, owned_by, same_template};
use super::error::KubeError;
use crate::runbook::kube::{KubeOp, PatchType};

pub const FIELD_MANAGER: &str = "flightdeck";

/// What a change did: a line for the output, and the Deployment generation
/// the watch must see observed (so a stale read never passes for done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub note: String,
    pub generation: Option<i64>,
}

/// Make the change `op` describes, in namespace `ns`.
pub async fn apply(client: &Client, ns: &str, op: &KubeOp) -> Result<Applied, KubeError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    match op {
        KubeOp::Rollout {
            deployment,
            images,
            manifests,
        } => {
            if !manifests.is_empty() {
                let mut notes = Vec::new();
                for m in manifests {
                    notes.extend(apply_manifest(client, ns, m).await?);
                }
                let d = deployment_in(&deployments, deployment, ns).await?;
                return Ok(Applied {
                    note: format!("applied {}", notes.join(", ")),
                    generation: d.metadata.generation,
                });
            }
            let d = deployment_in(&deployments, deployment, ns).await?;
            let have: Vec<String> = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            for (c, _) in images {
                if !have.contains(c) {
                    return Err(KubeError::NoContainer {
                        deployment: deployment.clone(),
                        container: c.clone(),
                        have,
                    });
                }
            }
            let containers: Vec<Value> = images
                .iter()
                .map(|(name, image)| json!({ "name": name, "image": image }))
                .collect();
            let patch = json!({ "spec": { "template": { "spec": { "containers": containers } } } });
            let d = patch_deployment(
                &deployments,
                deployment,
                ns,
                &PatchParams::apply(FIELD_MANAGER),
                Patch::Strategic(patch),
                "setting images of",
            )
            .await?;
            let list: Vec<String> = images.iter().map(|(c, i)| format!("{c}={i}")).collect();
            Ok(Applied {
                note: format!("deployment {deployment}: image {}", list.join(", ")),
                generation: d.metadata.generation,
            })
        }
        KubeOp::Wait { deployment } => {
            let d = deployment_in(&deployments, deployment, ns).await?;
            Ok(Applied {
                note: format!("watching deployment {deployment}"),
                generation: d.metadata.generation,
            })
        }
        KubeOp::Patch { .. } => {
            let p = patch_call(client, ns, op).await?;
            let obj = p
                .api
                .patch(p.name, &PatchParams::default(), &p.body)
                .await
                .map_err(KubeError::api("patching", p.kind, p.name, ns))?;
            Ok(Applied {
                note: format!(
                    "patched {} {} ({} patch, resourceVersion {})",
                    p.kind,
                    p.name,
                    p.patch_type.as_str(),
                    obj.resource_version().unwrap_or_default()
                ),
                generation: None,
            })
        }
        KubeOp::Restart { deployment, .. } => {
            let now = jiff_now();
            let patch = json!({ "spec": { "template": { "metadata": { "annotations": {
                "kubectl.kubernetes.io/restartedAt": now
            } } } } });
            let d = patch_deployment(
                &deployments,
                deployment,
                ns,
                &PatchParams::default(),
                Patch::Strategic(patch),
                "restarting",
            )
            .await?;
            Ok(Applied {
                note: format!("deployment {deployment} restarted at {now}"),
                generation: d.metadata.generation,
            })
        }
        KubeOp::Scale {
            deployment,
            replicas,
            ..
        } => {
            let n = replica_count(replicas)?;
            let patch = json!({ "spec": { "replicas": n } });
            let d = patch_deployment(
                &deployments,
                deployment,
                ns,
                &PatchParams::default(),
                Patch::Merge(patch),
                "scaling",
            )
            .await?;
            Ok(Applied {
                note: format!("deployment {deployment} scaled to {n}"),
                generation: d.metadata.generation,
            })
        }
        KubeOp::Undo {
            deployment,
            to_revision,
        } => {
            let to = match to_revision.as_deref().map(str::trim) {
                None | Some("") => 0,
                Some(r) => r
                    .parse::<i64>()
                    .map_err(|_| KubeError::ToRevision(r.to_string()))?,
            };
            undo(client, ns, deployment, to).await
        }
    }
}

/// The Deployment `name` of `api` (namespace `ns`), which must exist.
pub(crate) async fn deployment_in(
    api: &Api<Deployment>,
    name: &str,
    ns: &str,
) -> Result<Deployment, KubeError> {
    api.get_opt(name)
        .await
        .map_err(KubeError::api("reading", "deployment", name, ns))?
        .ok_or_else(|| KubeError::NotFound {
            kind: "deployment".into(),
            name: name.to_string(),
            namespace: ns.to_string(),
        })
}

/// Patch Deployment `name`; `doing` names the change in errors.
async fn patch_deployment(
    api: &Api<Deployment>,
    name: &str,
    ns: &str,
    params: &PatchParams,
    patch: Patch<Value>,
    doing: &'static str,
) -> Result<Deployment, KubeError> {
    api.patch(name, params, &patch)
        .await
        .map_err(KubeError::api(doing, "deployment", name, ns))
}

/// A `kube.scale` step's `replicas`, as the API takes it.
pub(crate) fn replica_count(replicas: &str) -> Result<i32, KubeError> {
    replicas
        .trim()
        .parse()
        .map_err(|_| KubeError::Replicas(replicas.to_string()))
}

fn jiff_now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// The Api for any kind, found through discovery (namespaced or cluster-wide).
pub(crate) async fn dynamic_api(
    client: &Client,
    ns: &str,
    api_version: &str,
    kind: &str,
) -> Result<Api<DynamicObject>, KubeError> {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|source| KubeError::Discovery {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            source: Box::new(source),
        })?;
    Ok(match caps.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    })
}

/// A `kube.patch` made ready to send (for the step and the plan's dry
/// run alike): its object's API, found through discovery, and the body.
pub(crate) struct PatchCall<'a> {
    pub api: Api<DynamicObject>,
    pub kind: &'a str,
    pub name: &'a str,
    pub patch_type: PatchType,
    pub body: Patch<Value>,
}

/// The `PatchCall` of `op`, which must be a `kube.patch`.
pub(crate) async fn patch_call<'a>(
    client: &Client,
    ns: &str,
    op: &'a KubeOp,
) -> Result<PatchCall<'a>, KubeError> {
    let KubeOp::Patch {
        api_version,
        kind,
        name,
        patch_type,
        patch,
    } = op
    else {
        return Err(KubeError::NotAPatch);
    };
    Ok(PatchCall {
        api: dynamic_api(client, ns, api_version, kind).await?,
        kind,
        name,
        patch_type: *patch_type,
        body: patch_of(patch_type, patch)?,
    })
}

/// The kube patch a runbook's `patch_type` and body describe.
fn patch_of(patch_type: &PatchType, patch: &Value) -> Result<Patch<Value>, KubeError> {
    Ok(match patch_type {
        PatchType::Strategic => Patch::Strategic(patch.clone()),
        PatchType::Merge => Patch::Merge(patch.clone()),
        PatchType::Json => Patch::Json(
            serde_json::from_value(patch.clone()).map_err(KubeError::json("not a JSON patch"))?,
        ),
    })
}

/// One document of a manifest file: its kind and name, and the API that
/// serves it (in the document's own namespace, else the step's).
pub(crate) struct ManifestDoc {
    pub doc: Value,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub api: Api<DynamicObject>,
}

/// Every document of manifest file `path`, each with its API; all are
/// checked before any is applied.
pub(crate) async fn manifest_docs(
    client: &Client,
    ns: &str,
    path: &str,
) -> Result<Vec<ManifestDoc>, KubeError> {
    let text = std::fs::read_to_string(path).map_err(|source| KubeError::ManifestRead {
        path: path.to_string(),
        source,
    })?;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|source| KubeError::ManifestParse {
            path: path.to_string(),
            source,
        })?;
    let mut out = Vec::new();
    for doc in docs.into_iter().filter(|d| d.is_object()) {
        let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let (api_version, kind, name) = (
            field(&doc["apiVersion"]),
            field(&doc["kind"]),
            field(&doc["metadata"]["name"]),
        );
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(KubeError::ManifestFields(path.to_string()));
        }
        let doc_ns = doc["metadata"]["namespace"].as_str().unwrap_or(ns);
        let api = dynamic_api(client, doc_ns, &api_version, &kind).await?;
        out.push(ManifestDoc {
            namespace: doc_ns.to_string(),
            doc,
            kind,
            name,
            api,
        });
    }
    Ok(out)
}

/// Server-side apply every document of a manifest file.
async fn apply_manifest(client: &Client, ns: &str, path: &str) -> Result<Vec<String>, KubeError> {
    let mut notes = Vec::new();
    for d in manifest_docs(client, ns, path).await? {
        d.api
            .patch(
                &d.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&d.doc),
            )
            .await
            .map_err(KubeError::manifest_api(
                path,
                "applying",
                &d.kind,
                &d.name,
                &d.namespace,
            ))?;
        notes.push(format!("{}/{}", d.kind, d.name));
    }
    Ok(notes)
}

/// `kubectl rollout undo`: copy the pod template of the previous revision's
/// ReplicaSet (or of revision `to`) into the Deployment.
pub async fn undo(client: &Client, ns: &str, name: &str, to: i64) -> Result<Applied, KubeError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = deployment_in(&deployments, name, ns).await?;
    if d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
        return Err(KubeError::Paused(name.to_string()));
    }
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let rss = rs_api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::ListReplicaSets(Box::new(e)))?;
    let mut owned: Vec<(i64, ReplicaSet)> = rss
        .items
        .into_iter()
        .filter(|rs| owned_by(rs, &d))
        .map(|rs| {
            let rev = rs
                .annotations()
                .get(REVISION)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            (rev, rs)
        })
        .collect();
    owned.sort_by_key(|(r, _)| *r);
    let current = owned.last().map(|(r, _)| *r).unwrap_or(0);
    let target = if to == 0 {
        // The previous revision: the highest below the current one.
        owned
            .iter()
            .rev()
            .find(|(r, _)| *r < current)
            .ok_or_else(|| KubeError::NoPreviousRevision(name.to_string()))?
    } else {
        owned
            .iter()
            .find(|(r, _)| *r == to)
            .ok_or_else(|| KubeError::NoRevision {
                deployment: name.to_string(),
                revision: to,
            })?
    };
    let (rev, rs) = target;
    let mut template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .ok_or_else(|| KubeError::NoTemplate(rs.name_any()))?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let images: Vec<String> = template
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| c.image.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    if let Some(spec) = &d.spec
        && same_template(&spec.template, &template)
    {
        return Ok(Applied {
            note: format!(
                "deployment {name}: skipped rollback, the current template already is revision {rev}"
            ),
            generation: d.metadata.generation,
        });
    }
    let patch: Value = json!([
        { "op": "test", "path": "/metadata/resourceVersion", "value": d.resource_version() },
        { "op": "replace", "path": "/spec/template", "value": template },
    ]);
    let ops = serde_json::from_value(patch).map_err(KubeError::json("building the undo patch"))?;
    let patched = deployments
        .patch(name, &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .map_err(KubeError::api("rolling back", "deployment", name, ns))?;
    Ok(Applied {
        note: format!(
            "deployment {name} rolled back to revision {rev} ({})",
            images.join(", ")
        ),
        generation: patched.metadata.generation,
    })
}

/// Create a namespaced object from a manifest value (tests and examples).
pub async fn create_dynamic(client: &Client, ns: &str, doc: &Value) -> Result<(), KubeError> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let api = dynamic_api(client, ns, api_version, kind).await?;
    let obj: DynamicObject =
        serde_json::from_value(doc.clone()).map_err(KubeError::json("not an object"))?;
    api.create(&PostParams::default(), &obj)
        .await
        .map_err(|source| KubeError::Create {
            kind: kind.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}
