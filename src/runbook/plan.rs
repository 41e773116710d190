//! The plan of a release: every step as it will run, with every `${...}`
//! resolved and secrets masked, risky and irreversible steps marked (the
//! point of no return), gates with who may sign them, and a slot per step
//! for what it changes in the cluster (filled by the backend, which reads
//! the cluster and the database; pure here). The plan's hash is the
//! release's content hash (`ContentManifest::hash`), the one sign-offs bind
//! to: there is no second hash.

use std::collections::BTreeMap;

use serde::Serialize;

use super::content::ContentManifest;
use super::data::DataAction;
use super::interpolate::Scope;
use super::kube::KubeOp;
use super::model::{GateSpec, Runbook, Step, StepAction};
use super::secrets::SecretSet;
use super::template::Templated;

pub use super::plan_diff::{FieldChange, ObjectDiff, diff_objects};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub runbook: String,
    pub environment: String,
    /// The release this plans, when it exists.
    pub release: Option<String>,
    /// Inputs as given (secret inputs shown as `***`).
    pub inputs: BTreeMap<String, String>,
    /// The content hash sign-offs bind to (`None`: content not read).
    pub content_hash: Option<String>,
    /// The first irreversible step: after it an undo will not restore.
    pub point_of_no_return: Option<String>,
    pub steps: Vec<PlanStep>,
    /// What a reader should know about this plan as a whole.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    None,
    /// `risky: true`, or in an environment that asks to confirm by name.
    Risky,
    /// Cannot be undone (irreversible migration, a restore).
    Irreversible,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    pub index: usize,
    pub id: String,
    pub stage: String,
    pub title: String,
    pub kind: String,
    /// `field: value` of what runs, values resolved and masked.
    pub details: Vec<String>,
    /// A value that is only known at run time, or missing.
    pub unresolved: Option<String>,
    /// Why the step will not run here (`when:`).
    pub skipped: Option<String>,
    pub risk: Risk,
    pub gate: Option<GatePlan>,
    /// What undoes it: the `undo` kind and its first detail.
    pub undo: Option<String>,
    /// What the backend reads to fill `cluster` (not printed).
    #[serde(skip)]
    pub target: Option<ClusterTarget>,
    pub cluster: ClusterSlot,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatePlan {
    pub roles: Vec<RolePlan>,
    /// The rules every sign-off is held to, in words.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePlan {
    pub role: String,
    pub count: u32,
    /// Who holds the role (`None`: anyone but the initiator).
    pub people: Option<Vec<String>>,
}

/// What the backend reads for one step: resolved names, never a secret
/// shown (a DSN stays inside).
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterTarget {
    Kube {
        /// The step's own namespace (`None`: the environment's, then the context's).
        namespace: Option<String>,
        op: KubeOp,
    },
    Migrate {
        dsn: String,
        dir: String,
    },
}

impl ClusterTarget {
    pub fn is_kube(&self) -> bool {
        matches!(self, ClusterTarget::Kube { .. })
    }
}

/// What a step changes in the cluster (or database), as read before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClusterSlot {
    /// The step changes nothing outside.
    #[default]
    None,
    /// Not read (yet, or offline).
    NotRead,
    /// Could not be read: why (cluster or database unreachable, not found).
    Unavailable {
        reason: String,
    },
    Read {
        change: ClusterChange,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterChange {
    /// `kube.rollout` with images: each container's live image and the new.
    Images {
        deployment: String,
        revision: Option<String>,
        containers: Vec<ImageChange>,
    },
    /// Server-side dry run (manifests, patches) or a value (scale) against
    /// the live object.
    Fields { objects: Vec<ObjectDiff> },
    /// `migrate`: the schema version and what is pending.
    Migrations {
        version: i64,
        pending: Vec<PendingMigration>,
    },
    /// A change described in words (restart, undo, wait).
    Note { text: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageChange {
    pub container: String,
    /// `None`: no such container in the live Deployment.
    pub live: Option<String>,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
    pub irreversible: bool,
}

/// What a plan is built from: the runbook as the release runs it, where,
/// with which values, and who started it.
pub struct PlanInput<'a> {
    pub runbook: &'a Runbook,
    pub environment: &'a str,
    pub release: Option<&'a str>,
    /// Inputs, environment variables and release values, as steps see them.
    pub scope: &'a Scope,
    pub secrets: &'a SecretSet,
    /// The release's content (`None`: not read; the plan carries no hash).
    pub content: Option<&'a ContentManifest>,
}

/// The plan of every step.
pub fn build(p: &PlanInput<'_>) -> Plan {
    let rb = p.runbook;
    let confirm = rb.environment(p.environment).is_some_and(|e| e.confirm);
    let secret_inputs: Vec<&str> = rb
        .inputs
        .iter()
        .filter(|i| i.secret)
        .map(|i| i.name.as_str())
        .collect();
    let inputs = p
        .scope
        .inputs
        .iter()
        .map(|(k, v)| {
            let shown = if secret_inputs.contains(&k.as_str()) {
                "***".to_string()
            } else {
                p.secrets.mask(v)
            };
            (k.clone(), shown)
        })
        .collect();
    let mut steps = Vec::new();
    for (index, step) in rb.steps().enumerate() {
        let stage = rb.stage_of(index);
        steps.push(plan_step(p, index, step, stage, confirm));
    }
    let point_of_no_return = steps
        .iter()
        .find(|s| s.risk == Risk::Irreversible && s.skipped.is_none())
        .map(|s| s.id.clone());
    Plan {
        runbook: rb.name.clone(),
        environment: p.environment.to_string(),
        release: p.release.map(str::to_string),
        inputs,
        content_hash: p.content.map(ContentManifest::hash),
        point_of_no_return,
        steps,
        notes: Vec::new(),
    }
}

fn plan_step(
    p: &PlanInput<'_>,
    index: usize,
    step: &Step,
    stage: Option<&super::model::Stage>,
    confirm: bool,
) -> PlanStep {
    let mask = |s: &str| p.secrets.mask(s);
    let skipped = stage
        .and_then(|s| s.when.as_ref())
        .into_iter()
        .chain(step.when.as_ref())
        .any(|w| !w.applies(p.environment))
        .then(|| super::when::NOT_FOR_ENV.to_string());
    let (action, unresolved) = match step.action.render(p.scope) {
        Ok(a) => (a, None),
        Err(e) => (step.action.clone(), Some(mask(&e.to_string()))),
    };
    let mut details: Vec<String> = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    action.clone().visit(&mut |field, s| match field {
        // A patch's strings are shown whole below, as the patch.
        "kube.patch" => {}
        // One command line, as it runs.
        "command.argv" => argv.push(mask(s)),
        _ => details.push(format!("{field}: {}", mask(s))),
    });
    if !argv.is_empty() {
        details.insert(0, format!("command.argv: {}", argv.join(" ")));
    }
    details.extend(extra_details(&action).iter().map(|d| mask(d)));
    if let Some(t) = step.timeout {
        details.push(format!("timeout: {}", super::duration::format_duration(t)));
    }
    if step.retries > 0 {
        details.push(format!("retries: {}", step.retries));
    }
    let undo = step.undo.as_ref().map(|u| {
        let rendered = u.render(p.scope).unwrap_or_else(|_| u.clone());
        let mut first = None;
        rendered.clone().visit(&mut |field, s| {
            if first.is_none() {
                first = Some(format!("{field}: {}", mask(s)));
            }
        });
        match first {
            Some(f) => format!("{} ({f})", u.kind_name()),
            None => u.kind_name().to_string(),
        }
    });
    let risk = if irreversible(&action) {
        Risk::Irreversible
    } else if step.risky || (confirm && changes_something(&action)) {
        Risk::Risky
    } else {
        Risk::None
    };
    let target = if unresolved.is_none() {
        target_of(&action)
    } else {
        None
    };
    let cluster = if target.is_some() {
        ClusterSlot::NotRead
    } else if unresolved.is_some() && target_of(&step.action).is_some() {
        ClusterSlot::Unavailable {
            reason: "a value is not known before the release runs".into(),
        }
    } else {
        ClusterSlot::None
    };
    PlanStep {
        index,
        id: step.id.clone(),
        stage: stage.map(|s| s.title.clone()).unwrap_or_default(),
        title: mask(&p.scope.render(&step.title).unwrap_or(step.title.clone())),
        kind: step.action.kind_name().to_string(),
        details,
        unresolved,
        skipped,
        risk,
        gate: match &step.action {
            StepAction::Gate(g) => Some(gate_plan(p.runbook, p.environment, &step.id, g)),
            _ => None,
        },
        undo,
        target,
        cluster,
    }
}

/// Fields the template walk does not visit but a reader needs.
fn extra_details(a: &StepAction) -> Vec<String> {
    match a {
        StepAction::Kube(k) => match &k.op {
            KubeOp::Rollout { images, .. } => images
                .iter()
                .map(|(c, i)| format!("container {c} -> {i}"))
                .collect(),
            KubeOp::Patch {
                api_version,
                kind,
                patch_type,
                patch,
                ..
            } => vec![
                format!("object: {api_version} {kind}"),
                format!("{} patch: {patch}", patch_type.as_str()),
            ],
            _ => Vec::new(),
        },
        StepAction::Manual(m) if m.note_required => vec!["a note is required".into()],
        StepAction::Check(super::model::CheckSpec::Env { vars }) => {
            vec![format!(
                "check.env: {} (shown only as set or missing)",
                vars.join(", ")
            )]
        }
        _ => Vec::new(),
    }
}

fn irreversible(a: &StepAction) -> bool {
    matches!(
        a,
        StepAction::Data(DataAction::Migrate(m)) if m.irreversible
    ) || matches!(a, StepAction::Data(DataAction::Restore(_)))
}

/// Steps that change something (the environment's typed confirmation applies).
fn changes_something(a: &StepAction) -> bool {
    match a {
        StepAction::Kube(k) => !matches!(k.op, KubeOp::Wait { .. }),
        StepAction::Data(d) => matches!(d, DataAction::Migrate(_) | DataAction::Restore(_)),
        _ => false,
    }
}

fn target_of(a: &StepAction) -> Option<ClusterTarget> {
    match a {
        StepAction::Kube(k) => Some(ClusterTarget::Kube {
            namespace: k.namespace.clone().filter(|n| !n.is_empty()),
            op: k.op.clone(),
        }),
        StepAction::Data(DataAction::Migrate(m)) => Some(ClusterTarget::Migrate {
            dsn: m.dsn.clone(),
            dir: m.dir.clone(),
        }),
        _ => None,
    }
}

fn gate_plan(rb: &Runbook, environment: &str, id: &str, g: &GateSpec) -> GatePlan {
    let roles = g
        .roles
        .iter()
        .map(|(role, count)| RolePlan {
            role: role.clone(),
            count: *count,
            people: rb.roles.get(role).cloned(),
        })
        .collect();
    let mut rules = vec![
        "not the person who started the release".to_string(),
        "one sign-off per person counts once, whatever roles they hold".to_string(),
        "binds to this content hash; a change needs fresh sign-offs".to_string(),
    ];
    let mode = rb.identity_mode(environment, id);
    rules.push(format!("identity: {}", mode.as_str()));
    if let Some(s) = g.soak {
        rules.push(format!(
            "soak {} after the counts are met",
            super::duration::format_duration(s)
        ));
    }
    if let Some(e) = g.expires {
        rules.push(format!(
            "expires {} after it starts waiting",
            super::duration::format_duration(e)
        ));
    }
    GatePlan { roles, rules }
}

impl Plan {
    /// Put what the backend read into the step's slot, every text passed
    /// through `clean` (masks secrets; the app also sanitizes).
    pub fn fill(&mut self, index: usize, slot: ClusterSlot, clean: &dyn Fn(&str) -> String) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.index == index) {
            s.cluster = clean_slot(slot, clean);
            if let ClusterSlot::Read {
                change: ClusterChange::Migrations { pending, .. },
            } = &s.cluster
                && pending.iter().any(|m| m.irreversible)
            {
                s.risk = Risk::Irreversible;
            }
        }
        self.point_of_no_return = self
            .steps
            .iter()
            .find(|s| s.risk == Risk::Irreversible && s.skipped.is_none())
            .map(|s| s.id.clone());
    }

    /// Steps whose cluster part is to be read: (index, target).
    pub fn targets(&self) -> Vec<(usize, ClusterTarget)> {
        self.steps
            .iter()
            .filter(|s| s.skipped.is_none())
            .filter_map(|s| s.target.clone().map(|t| (s.index, t)))
            .collect()
    }

    /// Mark every unread slot with why it was not read.
    pub fn not_read(&mut self, reason: &str) {
        for s in &mut self.steps {
            if s.cluster == ClusterSlot::NotRead {
                s.cluster = ClusterSlot::Unavailable {
                    reason: reason.to_string(),
                };
            }
        }
    }
}

fn clean_slot(slot: ClusterSlot, m: &dyn Fn(&str) -> String) -> ClusterSlot {
    match slot {
        ClusterSlot::Unavailable { reason } => ClusterSlot::Unavailable { reason: m(&reason) },
        ClusterSlot::Read { change } => ClusterSlot::Read {
            change: match change {
                ClusterChange::Images {
                    deployment,
                    revision,
                    containers,
                } => ClusterChange::Images {
                    deployment: m(&deployment),
                    revision: revision.as_deref().map(m),
                    containers: containers
                        .into_iter()
                        .map(|c| ImageChange {
                            container: m(&c.container),
                            live: c.live.as_deref().map(m),
                            new: m(&c.new),
                        })
                        .collect(),
                },
                ClusterChange::Fields { objects } => ClusterChange::Fields {
                    objects: objects
                        .into_iter()
                        .map(|o| ObjectDiff {
                            object: m(&o.object),
                            created: o.created,
                            changes: o
                                .changes
                                .into_iter()
                                .map(|c| FieldChange {
                                    path: m(&c.path),
                                    live: c.live.as_deref().map(m),
                                    new: c.new.as_deref().map(m),
                                })
                                .collect(),
                        })
                        .collect(),
                },
                ClusterChange::Migrations { version, pending } => ClusterChange::Migrations {
                    version,
                    pending: pending
                        .into_iter()
                        .map(|p| PendingMigration {
                            description: m(&p.description),
                            ..p
                        })
                        .collect(),
                },
                ClusterChange::Note { text } => ClusterChange::Note { text: m(&text) },
            },
        },
        other => other,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
