//! What a sign-off approves: the runbook bytes, every file the runbook
//! references, the environment with its resolved cluster, and the inputs.
//! Pure: the files are read elsewhere (`backend::content`) and handed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::data::DataAction;
use super::interpolate::Scope;
use super::kube::KubeOp;
use super::model::{CommandSpec, Program, Runbook, StepAction};

/// A referenced file's digest when it is not there.
pub const MISSING: &str = "missing";
/// A path that names a value only known at run time (`${env.X}`).
pub const UNRESOLVED: &str = "unresolved";

/// The cluster kube steps run on, as the driver resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRef {
    pub context: String,
    pub namespace: String,
    /// The API server URL of the context in the kubeconfig.
    pub server: String,
}

/// Everything that decides what runs, one digest per part, so a change can
/// be named ("file deploy/app.yaml") and not only detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentManifest {
    /// SHA-256 of the runbook file's bytes.
    pub runbook: String,
    /// Referenced path (as written, inputs filled in) -> SHA-256 of its
    /// bytes, or `missing` / `unresolved`.
    pub files: BTreeMap<String, String>,
    pub environment: String,
    /// Only for runbooks with kube steps.
    pub cluster: Option<ClusterRef>,
    /// The release's inputs as journaled (secrets never in clear).
    pub inputs: BTreeMap<String, String>,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl ContentManifest {
    /// Build from what was read: the runbook's bytes and each referenced
    /// path with its bytes (`None`: missing, or unresolved for `${...}`).
    pub fn new(
        runbook_bytes: &[u8],
        files: &[(String, Option<Vec<u8>>)],
        environment: &str,
        cluster: Option<ClusterRef>,
        inputs: &BTreeMap<String, String>,
    ) -> ContentManifest {
        let files = files
            .iter()
            .map(|(path, bytes)| {
                let digest = match bytes {
                    Some(b) => sha256(b),
                    None if path.contains("${") => UNRESOLVED.to_string(),
                    None => MISSING.to_string(),
                };
                (path.clone(), digest)
            })
            .collect();
        ContentManifest {
            runbook: sha256(runbook_bytes),
            files,
            environment: environment.to_string(),
            cluster,
            inputs: inputs.clone(),
        }
    }

    /// The content hash sign-offs bind to. Every part is length-framed so
    /// no two different manifests hash alike.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        put("flightdeck-content-v1");
        put(&self.runbook);
        for (path, digest) in &self.files {
            put("file");
            put(path);
            put(digest);
        }
        put("environment");
        put(&self.environment);
        match &self.cluster {
            Some(c) => {
                put("cluster");
                put(&c.context);
                put(&c.namespace);
                put(&c.server);
            }
            None => put("no cluster"),
        }
        for (k, v) in &self.inputs {
            put("input");
            put(k);
            put(v);
        }
        hex::encode(h.finalize())
    }
}

/// What differs between two manifests, in words a person reads:
/// `runbook`, `file deploy/x.yaml`, `environment`, `cluster`, `inputs`.
pub fn changed(old: &ContentManifest, new: &ContentManifest) -> Vec<String> {
    let mut out = Vec::new();
    if old.runbook != new.runbook {
        out.push("runbook".to_string());
    }
    let mut paths: Vec<&String> = old.files.keys().chain(new.files.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        if old.files.get(p) != new.files.get(p) {
            out.push(format!("file {p}"));
        }
    }
    if old.environment != new.environment {
        out.push("environment".to_string());
    }
    if old.cluster != new.cluster {
        out.push("cluster".to_string());
    }
    if old.inputs != new.inputs {
        out.push("inputs".to_string());
    }
    out
}

/// Does the runbook talk to a cluster (so the cluster is part of its content)?
pub fn uses_cluster(rb: &Runbook) -> bool {
    rb.steps().any(|s| {
        [Some(&s.action), s.undo.as_ref()]
            .into_iter()
            .flatten()
            .any(|a| {
                matches!(
                    a,
                    StepAction::Kube(_) | StepAction::Check(super::model::CheckSpec::Kube(_))
                )
            })
    })
}

/// A path the runbook names, as the reader must read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Referenced {
    pub path: String,
    /// A directory (migrations): its files are read, one level deep.
    pub dir: bool,
}

/// Every file the runbook references: kube manifests, migration
/// directories, CA files, and scripts a command names (a relative path, or
/// a word ending in a script or config extension). `${inputs.x}` is filled
/// from `inputs`; other `${...}` stay (hashed as unresolved). Relative
/// paths are relative to the working directory, as when the step runs (a
/// command's `cwd` is prefixed).
pub fn referenced_paths(rb: &Runbook, inputs: &BTreeMap<String, String>) -> Vec<Referenced> {
    let scope = Scope {
        inputs: inputs.clone(),
        ..Default::default()
    };
    let fill = |p: &str| scope.render(p).unwrap_or_else(|_| p.to_string());
    let mut out = Vec::new();
    let mut file = |p: String| {
        out.push(Referenced {
            path: p,
            dir: false,
        })
    };
    let mut dirs = Vec::new();
    for step in rb.steps() {
        for action in [Some(&step.action), step.undo.as_ref()]
            .into_iter()
            .flatten()
        {
            match action {
                StepAction::Command(c) => script_paths(c, &fill).into_iter().for_each(&mut file),
                StepAction::Kube(k) => {
                    if let KubeOp::Rollout { manifests, .. } = &k.op {
                        manifests.iter().for_each(|m| file(fill(m)));
                    }
                }
                StepAction::Data(DataAction::Migrate(m)) => {
                    dirs.push(fill(&m.dir));
                    if let Some(tool) = &m.tool {
                        script_paths(tool, &fill).into_iter().for_each(&mut file);
                    }
                }
                StepAction::Check(super::model::CheckSpec::Data(super::data::DataCheck::Tls(
                    t,
                ))) => {
                    if let Some(ca) = &t.ca_file {
                        file(fill(ca));
                    }
                }
                _ => {}
            }
        }
    }
    out.extend(dirs.into_iter().map(|path| Referenced { path, dir: true }));
    out.sort();
    out.dedup();
    out
}

const SCRIPT_EXTENSIONS: [&str; 14] = [
    ".sh", ".bash", ".zsh", ".py", ".rb", ".pl", ".js", ".ts", ".sql", ".yaml", ".yml", ".json",
    ".toml", ".conf",
];

/// Words of a command that name a file it runs or reads.
fn script_paths(c: &CommandSpec, fill: &dyn Fn(&str) -> String) -> Vec<String> {
    let words: Vec<String> = match &c.program {
        Program::Argv(a) => a.iter().map(|w| fill(w)).collect(),
        Program::Shell(s) => fill(s)
            .split(|ch: char| ch.is_whitespace() || ";|&()<>'\"`".contains(ch))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let cwd = c.cwd.as_deref().map(fill);
    words
        .into_iter()
        .filter(|w| {
            !w.contains("://")
                && !w.contains('=')
                && !w.starts_with('-')
                && !w.starts_with('/')
                && (w.starts_with("./")
                    || w.starts_with("../")
                    || SCRIPT_EXTENSIONS.iter().any(|e| w.ends_with(e)))
        })
        .map(|w| match &cwd {
            Some(dir) if !dir.is_empty() => format!("{}/{w}", dir.trim_end_matches('/')),
            _ => w,
        })
        .collect()
}

/// The hash a passed gate was approved under: the newest hash at which its
/// sign-offs satisfy it (`None` if none does).
pub fn approved_under(
    spec: &super::model::GateSpec,
    signoffs: &[super::gates::Signoff],
) -> Option<String> {
    signoffs
        .iter()
        .rev()
        .map(|s| s.approved_hash.as_str())
        .find(|h| super::gates::tally(spec, signoffs, h).satisfied())
        .map(str::to_string)
}

/// Where the cluster part of the content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSource {
    /// As recorded in the journal by the driver (what approvers use).
    Known(ClusterRef),
    /// Read the API server URL of `context` from the kubeconfig.
    Resolve {
        kubeconfig: Option<String>,
        context: String,
        namespace: String,
    },
}

/// What the reader needs to build a release's `ContentManifest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRequest {
    pub runbook_path: String,
    pub paths: Vec<Referenced>,
    pub environment: String,
    /// `None`: the runbook has no kube steps, or no cluster could be found.
    pub cluster: Option<ClusterSource>,
    pub inputs: BTreeMap<String, String>,
}

impl ContentRequest {
    /// The request for `rb` with the release's journaled inputs.
    pub fn new(
        rb: &Runbook,
        runbook_path: &str,
        environment: &str,
        cluster: Option<ClusterSource>,
        inputs: &BTreeMap<String, String>,
    ) -> ContentRequest {
        ContentRequest {
            runbook_path: runbook_path.to_string(),
            paths: referenced_paths(rb, inputs),
            environment: environment.to_string(),
            cluster: cluster.filter(|_| uses_cluster(rb)),
            inputs: inputs.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(files: &[(&str, Option<&str>)], cluster: Option<ClusterRef>) -> ContentManifest {
        let files: Vec<(String, Option<Vec<u8>>)> = files
            .iter()
            .map(|(p, b)| (p.to_string(), b.map(|b| b.as_bytes().to_vec())))
            .collect();
        let inputs = BTreeMap::from([("version".to_string(), "v1".to_string())]);
        ContentManifest::new(b"name: x", &files, "staging", cluster, &inputs)
    }

    #[test]
    fn every_part_changes_the_hash_and_is_named() {
        let base = m(&[("deploy/app.yaml", Some("a"))], None);
        let file = m(&[("deploy/app.yaml", Some("b"))], None);
        let gone = m(&[("deploy/app.yaml", None)], None);
        let ns = |n: &str| {
            Some(ClusterRef {
                context: "c".into(),
                namespace: n.into(),
                server: "https://127.0.0.1:6443".into(),
            })
        };
        let clustered = m(&[("deploy/app.yaml", Some("a"))], ns("a"));
        let moved = m(&[("deploy/app.yaml", Some("a"))], ns("b"));
        let hashes = [&base, &file, &gone, &clustered, &moved].map(|x| x.hash());
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                assert_ne!(hashes[i], hashes[j], "{i} vs {j}");
            }
        }
        assert_eq!(
            base.hash(),
            m(&[("deploy/app.yaml", Some("a"))], None).hash()
        );
        assert_eq!(changed(&base, &file), vec!["file deploy/app.yaml"]);
        assert_eq!(gone.files["deploy/app.yaml"], MISSING);
        assert_eq!(changed(&clustered, &moved), vec!["cluster"]);
        let mut inputs = base.clone();
        inputs.inputs.insert("version".into(), "v2".into());
        inputs.runbook = "x".into();
        assert_eq!(changed(&base, &inputs), vec!["runbook", "inputs"]);
    }

    #[test]
    fn scripts_are_found_in_commands() {
        let c = CommandSpec {
            program: Program::Shell(
                "bash scripts/deploy.sh --to ${inputs.env} && ./bin/check x=1.sh https://h/a.json"
                    .into(),
            ),
            env: BTreeMap::new(),
            cwd: Some("ops".into()),
            grace: std::time::Duration::from_secs(1),
            background: false,
        };
        let found = script_paths(&c, &|s: &str| s.replace("${inputs.env}", "prod"));
        assert_eq!(found, vec!["ops/scripts/deploy.sh", "ops/./bin/check"]);
        let argv = CommandSpec {
            program: Program::Argv(vec!["./run".into(), "plan.sql".into(), "/bin/true".into()]),
            cwd: None,
            ..c
        };
        assert_eq!(
            script_paths(&argv, &|s: &str| s.to_string()),
            vec!["./run", "plan.sql"]
        );
    }
}
