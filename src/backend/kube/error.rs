//! What went wrong talking to a cluster: which kubeconfig, which object
//! (kind, name, namespace), what the API server said. kube's own errors
//! are boxed: they are large, and every kube call returns this type.

use kube::config::KubeconfigError;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{path}: {source}")]
    KubeconfigFile {
        path: String,
        #[source]
        source: KubeconfigError,
    },
    #[error("no kubeconfig: {0}")]
    NoKubeconfig(#[source] KubeconfigError),
    #[error("the kubeconfig has no current context (use --context)")]
    NoCurrentContext,
    #[error("context {name:?} is not in the kubeconfig")]
    UnknownContext { name: String },
    #[error("kubeconfig: {0}")]
    Config(#[source] KubeconfigError),
    #[error("kube client: {0}")]
    Client(#[source] Box<kube::Error>),
    /// An API call on one object failed; `doing` says which call
    /// ("reading", "scaling", "dry run of the patch of", ...).
    #[error("{doing} {kind} {name}: {source}")]
    Api {
        doing: &'static str,
        kind: String,
        name: String,
        namespace: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// The same, for an object of a manifest file.
    #[error("{path}: {source}")]
    InManifest {
        path: String,
        #[source]
        source: Box<KubeError>,
    },
    #[error("{kind} {name:?} not found in namespace {namespace}")]
    NotFound {
        kind: String,
        name: String,
        namespace: String,
    },
    /// Discovery does not know the kind (a CRD not installed, a typo).
    #[error("finding {api_version} {kind}: {source}")]
    Discovery {
        api_version: String,
        kind: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// A `kube.patch` call was asked of another kind of step (a bug).
    #[error("not a kube.patch step")]
    NotAPatch,
    #[error("listing replica sets: {0}")]
    ListReplicaSets(#[source] Box<kube::Error>),
    #[error("creating {kind}: {source}")]
    Create {
        kind: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("deployment {deployment} has no container {container:?} (it has: {})", have.join(", "))]
    NoContainer {
        deployment: String,
        container: String,
        have: Vec<String>,
    },
    #[error("replicas {0:?} is not a whole number")]
    Replicas(String),
    #[error("to_revision {0:?} is not a revision number")]
    ToRevision(String),
    #[error("deployment {0} is paused; resume it before rolling back")]
    Paused(String),
    #[error("deployment {0} has no previous revision to roll back to")]
    NoPreviousRevision(String),
    #[error("deployment {deployment} has no revision {revision}")]
    NoRevision { deployment: String, revision: i64 },
    #[error("replica set {0} has no pod template")]
    NoTemplate(String),
    #[error("{path}: {source}")]
    ManifestRead {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    ManifestParse {
        path: String,
        #[source]
        source: serde_saphyr::Error,
    },
    #[error("{0}: each document needs apiVersion, kind and metadata.name")]
    ManifestFields(String),
    /// A value that should be JSON of some shape is not (`what` names it:
    /// "not a JSON patch", "not an object", "building the undo patch").
    #[error("{what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl KubeError {
    /// `map_err` for an API call on `kind` `name` in `namespace`.
    pub(crate) fn api(
        doing: &'static str,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> impl FnOnce(kube::Error) -> KubeError {
        let (kind, name, namespace) = (kind.to_string(), name.to_string(), namespace.to_string());
        move |source| KubeError::Api {
            doing,
            kind,
            name,
            namespace,
            source: Box::new(source),
        }
    }

    /// `map_err` for an API call on the object `kind/name` in `namespace`,
    /// a document of manifest file `path`.
    pub(crate) fn manifest_api(
        path: &str,
        doing: &'static str,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> impl FnOnce(kube::Error) -> KubeError {
        let path = path.to_string();
        let api = Self::api(doing, kind, name, namespace);
        move |e| KubeError::InManifest {
            path,
            source: Box::new(api(e)),
        }
    }

    pub(crate) fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> KubeError {
        move |source| KubeError::Json { what, source }
    }
}

#[cfg(test)]
mod tests {
    use super::KubeError;

    #[test]
    fn messages_name_the_object_as_before() {
        let e = KubeError::NotFound {
            kind: "deployment".into(),
            name: "web".into(),
            namespace: "shop".into(),
        };
        assert_eq!(
            e.to_string(),
            "deployment \"web\" not found in namespace shop"
        );
        let e = KubeError::NoContainer {
            deployment: "web".into(),
            container: "side".into(),
            have: vec!["app".into(), "proxy".into()],
        };
        assert_eq!(
            e.to_string(),
            "deployment web has no container \"side\" (it has: app, proxy)"
        );
        assert_eq!(
            KubeError::Replicas("three".into()).to_string(),
            "replicas \"three\" is not a whole number"
        );
        assert_eq!(
            KubeError::NoRevision {
                deployment: "web".into(),
                revision: 7
            }
            .to_string(),
            "deployment web has no revision 7"
        );
    }

    #[test]
    fn a_json_error_keeps_its_source() {
        let source = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = KubeError::json("not a JSON patch")(source);
        assert!(e.to_string().starts_with("not a JSON patch: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
