//! The cluster (and database) side of a plan, read-only: for each step
//! that changes something outside, what it will change, read now. Images
//! of a rollout against the live Deployment, a server-side apply DRY RUN
//! of manifests diffed against the live objects, a patch dry run, the live
//! replica count against the new one, pending migrations from the schema
//! version table. Nothing here writes: dry runs are `dryRun=All`, and the
//! database session is read-only. A step whose part cannot be read says
//! why; the others are still read.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::{Client, ResourceExt};

use super::kube::convert::REVISION;
use super::kube::ops::{FIELD_MANAGER, dynamic_api, manifest_docs, patch_of};
use crate::protocol::kube::ClusterError;
use crate::runbook::kube::{Cluster, KubeOp};
use crate::runbook::plan::{
    ClusterChange, ClusterSlot, ClusterTarget, ImageChange, ObjectDiff, PendingMigration,
    diff_objects,
};

/// Longest wait for one answer (the API server, the database).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Read every target; one answer per target, in order. `cluster`: where
/// kube steps run (`Err`: why there is none).
pub async fn read(
    targets: &[(usize, ClusterTarget)],
    cluster: Result<Cluster, ClusterError>,
) -> Vec<(usize, ClusterSlot)> {
    let mut client = None;
    if targets.iter().any(|(_, t)| t.is_kube()) {
        client = Some(connect(cluster.clone()).await);
    }
    let mut out = Vec::new();
    for (i, t) in targets {
        let slot = match t {
            ClusterTarget::Kube { namespace, op } => match (&client, &cluster) {
                (Some(Ok(c)), Ok(cl)) => {
                    let ns = namespace.clone().unwrap_or_else(|| cl.namespace.clone());
                    within(kube_change(c, &ns, op)).await
                }
                (Some(Err(e)), _) => unavailable(e),
                (_, Err(e)) => unavailable(e.to_string()),
                _ => unavailable("no cluster"),
            },
            ClusterTarget::Migrate { dsn, dir } => within(migrations(dsn, dir)).await,
        };
        out.push((*i, slot));
    }
    out
}

fn unavailable(reason: impl Into<String>) -> ClusterSlot {
    ClusterSlot::Unavailable {
        reason: reason.into(),
    }
}

async fn within(f: impl Future<Output = Result<ClusterChange, String>>) -> ClusterSlot {
    match tokio::time::timeout(READ_TIMEOUT, f).await {
        Ok(Ok(change)) => ClusterSlot::Read { change },
        Ok(Err(e)) => unavailable(e),
        Err(_) => unavailable(format!("no answer within {}s", READ_TIMEOUT.as_secs())),
    }
}

/// A client whose API server answered, or why it did not.
async fn connect(cluster: Result<Cluster, ClusterError>) -> Result<Client, String> {
    let cluster = cluster.map_err(|e| format!("no cluster: {e}"))?;
    let client = super::kube::client::client(&cluster).await?;
    match tokio::time::timeout(READ_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => Err(format!("cluster unreachable: {e}")),
        Err(_) => Err(format!(
            "cluster unreachable: no answer within {}s",
            READ_TIMEOUT.as_secs()
        )),
    }
}

async fn live_deployment(client: &Client, ns: &str, name: &str) -> Result<Deployment, String> {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| format!("reading deployment {name}: {e}"))?
        .ok_or_else(|| format!("deployment {name:?} not found in namespace {ns}"))
}

fn revision(d: &Deployment) -> Option<String> {
    d.annotations().get(REVISION).cloned()
}

/// Container name -> image of the Deployment's pod template.
fn images(d: &Deployment) -> Vec<(String, String)> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

async fn kube_change(client: &Client, ns: &str, op: &KubeOp) -> Result<ClusterChange, String> {
    match op {
        KubeOp::Rollout {
            deployment,
            images: new,
            manifests,
        } if manifests.is_empty() => {
            let d = live_deployment(client, ns, deployment).await?;
            let live = images(&d);
            Ok(ClusterChange::Images {
                deployment: deployment.clone(),
                revision: revision(&d),
                containers: new
                    .iter()
                    .map(|(c, image)| ImageChange {
                        container: c.clone(),
                        live: live.iter().find(|(n, _)| n == c).map(|(_, i)| i.clone()),
                        new: image.clone(),
                    })
                    .collect(),
            })
        }
        KubeOp::Rollout { manifests, .. } => {
            let mut objects = Vec::new();
            for m in manifests {
                objects.extend(manifest_dry_run(client, ns, m).await?);
            }
            Ok(ClusterChange::Fields { objects })
        }
        KubeOp::Patch {
            api_version,
            kind,
            name,
            patch_type,
            patch,
        } => {
            let api = dynamic_api(client, ns, api_version, kind).await?;
            let live = api
                .get_opt(name)
                .await
                .map_err(|e| format!("reading {kind} {name}: {e}"))?
                .ok_or_else(|| format!("{kind} {name:?} not found in namespace {ns}"))?;
            let params = PatchParams::default().dry_run();
            let result = api
                .patch(name, &params, &patch_of(patch_type, patch)?)
                .await
                .map_err(|e| format!("dry run of the patch of {kind} {name}: {e}"))?;
            Ok(ClusterChange::Fields {
                objects: vec![object_diff(kind, name, Some(&live), &result)?],
            })
        }
        KubeOp::Scale {
            deployment,
            replicas,
            ..
        } => {
            let d = live_deployment(client, ns, deployment).await?;
            let live = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let new: i32 = replicas
                .trim()
                .parse()
                .map_err(|_| format!("replicas {replicas:?} is not a whole number"))?;
            let changes = if live == new {
                Vec::new()
            } else {
                vec![crate::runbook::plan::FieldChange {
                    path: "spec.replicas".into(),
                    live: Some(live.to_string()),
                    new: Some(new.to_string()),
                }]
            };
            Ok(ClusterChange::Fields {
                objects: vec![ObjectDiff {
                    object: format!("Deployment/{deployment}"),
                    created: false,
                    changes,
                }],
            })
        }
        KubeOp::Restart { deployment, .. } => {
            let d = live_deployment(client, ns, deployment).await?;
            Ok(ClusterChange::Note {
                text: format!(
                    "restarts every pod of deployment {deployment} (revision {} now; images unchanged)",
                    revision(&d).unwrap_or_else(|| "?".into())
                ),
            })
        }
        KubeOp::Wait { deployment } => {
            let d = live_deployment(client, ns, deployment).await?;
            let imgs: Vec<String> = images(&d)
                .into_iter()
                .map(|(c, i)| format!("{c}={i}"))
                .collect();
            Ok(ClusterChange::Note {
                text: format!(
                    "changes nothing; watches deployment {deployment} at revision {} ({})",
                    revision(&d).unwrap_or_else(|| "?".into()),
                    imgs.join(", ")
                ),
            })
        }
        KubeOp::Undo {
            deployment,
            to_revision,
        } => {
            let d = live_deployment(client, ns, deployment).await?;
            Ok(ClusterChange::Note {
                text: format!(
                    "rolls deployment {deployment} back from revision {} to {}",
                    revision(&d).unwrap_or_else(|| "?".into()),
                    to_revision
                        .as_deref()
                        .filter(|r| !r.trim().is_empty())
                        .map(|r| format!("revision {r}"))
                        .unwrap_or_else(|| "the previous revision".into())
                ),
            })
        }
    }
}

fn object_diff(
    kind: &str,
    name: &str,
    live: Option<&DynamicObject>,
    new: &DynamicObject,
) -> Result<ObjectDiff, String> {
    let to_value = |o: &DynamicObject| {
        serde_json::to_value(o).map_err(|e| format!("reading {kind} {name}: {e}"))
    };
    let live = live.map(to_value).transpose()?;
    let new = to_value(new)?;
    Ok(ObjectDiff {
        object: format!("{kind}/{name}"),
        created: live.is_none(),
        changes: diff_objects(live.as_ref(), &new),
    })
}

/// Server-side apply every document of a manifest file with dryRun=All,
/// each against its live object.
async fn manifest_dry_run(
    client: &Client,
    ns: &str,
    path: &str,
) -> Result<Vec<ObjectDiff>, String> {
    let mut out = Vec::new();
    for d in manifest_docs(client, ns, path).await? {
        let (kind, name) = (&d.kind, &d.name);
        let live = d
            .api
            .get_opt(name)
            .await
            .map_err(|e| format!("{path}: reading {kind} {name}: {e}"))?;
        let result = d
            .api
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force().dry_run(),
                &Patch::Apply(&d.doc),
            )
            .await
            .map_err(|e| format!("{path}: dry run of {kind} {name}: {e}"))?;
        out.push(object_diff(kind, name, live.as_ref(), &result)?);
    }
    Ok(out)
}

/// The schema version and the migrations of `dir` not applied yet, read in
/// a read-only session.
async fn migrations(dsn: &str, dir: &str) -> Result<ClusterChange, String> {
    let all = super::data::pg::read_migrations(Path::new(dir))?;
    let mut conn = super::data::pg::connect(dsn).await?;
    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(|e| format!("making the session read-only: {e}"))?;
    let applied = super::data::pg::applied_versions(&mut conn)
        .await
        .map_err(|e| format!("reading the schema version: {e}"))?;
    Ok(ClusterChange::Migrations {
        version: applied.last().copied().unwrap_or(0),
        pending: all
            .into_iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| PendingMigration {
                version: m.version,
                description: m.description,
                irreversible: m.irreversible,
            })
            .collect(),
    })
}
