//! Which cluster: the kubeconfig resolved the way kubectl resolves it
//! (`$KUBECONFIG` or `~/.kube/config`, `--context`, `--namespace`), and
//! clients built from it.

use std::path::Path;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::KubeError;
use crate::runbook::kube::Cluster;

/// The cluster a session talks to, as resolved at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    pub kubeconfig: Option<String>,
    pub context: String,
    pub namespace: String,
    pub server: String,
}

fn read(kubeconfig: Option<&str>) -> Result<Kubeconfig, KubeError> {
    match kubeconfig {
        Some(p) => {
            Kubeconfig::read_from(Path::new(p)).map_err(|source| KubeError::KubeconfigFile {
                path: p.to_string(),
                source,
            })
        }
        None => Kubeconfig::read().map_err(KubeError::NoKubeconfig),
    }
}

/// Resolve context and namespace as kubectl does: flags win, then the
/// kubeconfig's current context and its namespace, then `default`.
pub fn resolve(
    kubeconfig: Option<&str>,
    context: Option<&str>,
    namespace: Option<&str>,
) -> Result<Resolved, KubeError> {
    let kc = read(kubeconfig)?;
    let name = match context {
        Some(c) => c.to_string(),
        None => kc
            .current_context
            .clone()
            .ok_or(KubeError::NoCurrentContext)?,
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| KubeError::UnknownContext { name: name.clone() })?;
    let inner = ctx.context.clone().unwrap_or_default();
    let server = kc
        .clusters
        .iter()
        .find(|c| c.name == inner.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    Ok(Resolved {
        kubeconfig: kubeconfig.map(str::to_string),
        context: name,
        namespace: namespace
            .map(str::to_string)
            .or(inner.namespace)
            .unwrap_or_else(|| "default".into()),
        server,
    })
}

/// A client for the cluster. Built per step (a few milliseconds): a client
/// belongs to the runtime that made it, and steps are few.
pub async fn client(cluster: &Cluster) -> Result<Client, KubeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = read(cluster.kubeconfig.as_deref())?;
    let options = KubeConfigOptions {
        context: cluster.context.clone(),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(KubeError::Config)?;
    Client::try_from(config).map_err(|e| KubeError::Client(Box::new(e)))
}
