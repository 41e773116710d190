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

use super::data::DataError;
use super::kube::KubeError;
use super::kube::convert::REVISION;
use super::kube::ops::{FIELD_MANAGER, deployment_in, manifest_docs, patch_call, replica_count};
use crate::protocol::kube::ClusterError;
use crate::runbook::kube::{Cluster, KubeOp};
use crate::runbook::plan::{
    ClusterChange, ClusterSlot, ClusterTarget, ImageChange, ObjectDiff, PendingMigration,
    diff_objects,
};

/// Longest wait for one answer (the API server, the database).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one part of the plan could not be read (the step says it, the
/// others are still read).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no cluster: {0}")]
    NoCluster(String),
    #[error("cluster unreachable: {0}")]
    Unreachable(#[source] kube::Error),
    #[error("cluster unreachable: no answer within {}s", READ_TIMEOUT.as_secs())]
    NoAnswer,
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// An object read back could not be turned into JSON to diff.
    #[error("reading {kind} {name}: {source}")]
    Object {
        kind: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("making the session read-only: {0}")]
    ReadOnly(#[source] sqlx::Error),
    #[error("reading the schema version: {0}")]
    SchemaVersion(#[source] DataError),
}

/// Read every target; one answer per target, in order. `cluster`: where
/// kube steps run (`Err`: why there is none).
pub async fn read(
    targets: &[(usize, ClusterTarget)],
    cluster: Result<Cluster, ClusterError>,
) -> Vec<(usize, ClusterSlot)> {
    let client = match (targets.iter().any(|(_, t)| t.is_kube()), &cluster) {
        (false, _) => None,
        (true, Ok(c)) => Some(connect(c).await),
        (true, Err(e)) => Some(Err(PlanError::NoCluster(e.to_string()))),
    };
    let mut out = Vec::new();
    for (i, t) in targets {
        let slot = match t {
            ClusterTarget::Kube { namespace, op } => match (&client, &cluster) {
                (Some(Ok(c)), Ok(cl)) => {
                    let ns = namespace.clone().unwrap_or_else(|| cl.namespace.clone());
                    within(kube_change(c, &ns, op)).await
                }
                (Some(Err(e)), _) => unavailable(e.to_string()),
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

async fn within(f: impl Future<Output = Result<ClusterChange, PlanError>>) -> ClusterSlot {
    match tokio::time::timeout(READ_TIMEOUT, f).await {
        Ok(Ok(change)) => ClusterSlot::Read { change },
        Ok(Err(e)) => unavailable(e.to_string()),
        Err(_) => unavailable(format!("no answer within {}s", READ_TIMEOUT.as_secs())),
    }
}

/// A client whose API server answered, or why it did not.
async fn connect(cluster: &Cluster) -> Result<Client, PlanError> {
    let client = super::kube::client::client(cluster).await?;
    match tokio::time::timeout(READ_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => Err(PlanError::Unreachable(e)),
        Err(_) => Err(PlanError::NoAnswer),
    }
}

async fn live_deployment(client: &Client, ns: &str, name: &str) -> Result<Deployment, KubeError> {
    deployment_in(&Api::namespaced(client.clone(), ns), name, ns).await
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

async fn kube_change(client: &Client, ns: &str, op: &KubeOp) -> Result<ClusterChange, PlanError> {
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
        KubeOp::Patch { .. } => {
            let p = patch_call(client, ns, op).await?;
            let (kind, name) = (p.kind, p.name);
            let live = p
                .api
                .get_opt(name)
                .await
                .map_err(KubeError::api("reading", kind, name, ns))?
                .ok_or_else(|| KubeError::NotFound {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    namespace: ns.to_string(),
                })?;
            let result = p
                .api
                .patch(name, &PatchParams::default().dry_run(), &p.body)
                .await
                .map_err(KubeError::api("dry run of the patch of", kind, name, ns))?;
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
            let new = replica_count(replicas)?;
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
) -> Result<ObjectDiff, PlanError> {
    let to_value = |o: &DynamicObject| {
        serde_json::to_value(o).map_err(|source| PlanError::Object {
            kind: kind.to_string(),
            name: name.to_string(),
            source,
        })
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
) -> Result<Vec<ObjectDiff>, PlanError> {
    let mut out = Vec::new();
    for d in manifest_docs(client, ns, path).await? {
        let (kind, name) = (&d.kind, &d.name);
        let live = d.api.get_opt(name).await.map_err(KubeError::manifest_api(
            path,
            "reading",
            &d.kind,
            &d.name,
            &d.namespace,
        ))?;
        let result = d
            .api
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force().dry_run(),
                &Patch::Apply(&d.doc),
            )
            .await
            .map_err(KubeError::manifest_api(
                path,
                "dry run of",
                &d.kind,
                &d.name,
                &d.namespace,
            ))?;
        out.push(object_diff(kind, name, live.as_ref(), &result)?);
    }
    Ok(out)
}

/// The schema version and the migrations of `dir` not applied yet, read in
/// a read-only session.
async fn migrations(dsn: &str, dir: &str) -> Result<ClusterChange, PlanError> {
    let all = super::data::pg::read_migrations(Path::new(dir))?;
    let mut conn = super::data::pg::connect(dsn).await?;
    sqlx::query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(PlanError::ReadOnly)?;
    let applied = super::data::pg::applied_versions(&mut conn)
        .await
        .map_err(PlanError::SchemaVersion)?;
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
