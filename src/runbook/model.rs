//! The runbook as flightdeck understands it, after parsing and validation.

use std::collections::BTreeMap;
use std::time::Duration;

use super::data::{DataAction, DataCheck};
use super::kube::{KubeAction, KubeCheck};
use super::yaml::Pos;

#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    pub environments: Vec<Environment>,
    pub inputs: Vec<InputSpec>,
    /// Role name -> people who hold it. A role absent here may be taken by anyone.
    pub roles: BTreeMap<String, Vec<String>>,
    pub stages: Vec<Stage>,
    /// Webhooks told about release events (`notify:` at the top level).
    pub notify: Vec<super::data::NotifyHook>,
    /// Names of process environment variables whose values are secrets
    /// (`secrets:` at the top level): masked wherever text is shown or kept.
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    pub description: String,
    /// Risky actions in this environment need its name typed to confirm.
    pub confirm: bool,
    /// Extra variables given to every command and visible as `${env.X}`.
    pub vars: BTreeMap<String, String>,
    /// The cluster context and namespace kube steps must run on.
    pub kube: Option<super::kube::KubePin>,
    /// When a release may start here: earlier environment passed, change
    /// windows, freezes.
    pub policy: super::policy::EnvPolicy,
    /// How sign-offs here name their person (a gate's own mode wins).
    pub identity: Option<super::identity::IdentityMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    String,
    Integer,
    Boolean,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub description: String,
    pub kind: InputType,
    pub pattern: Option<String>,
    pub default: Option<String>,
    pub required: bool,
    /// Secret inputs are masked on screen, in the journal and in logs.
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub id: String,
    pub title: String,
    pub steps: Vec<Step>,
    /// The environments this stage is for (`when: { env: [..] }`).
    pub when: Option<super::when::When>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub description: String,
    pub action: StepAction,
    pub timeout: Option<Duration>,
    /// Automatic re-runs after a failure, before the step counts as failed.
    pub retries: u32,
    pub continue_on_failure: bool,
    /// Ask for confirmation before running (typed environment name where the
    /// environment demands it).
    pub risky: bool,
    pub undo: Option<StepAction>,
    /// The environments this step is for (`when: { env: [..] }`).
    pub when: Option<super::when::When>,
    pub pos: Pos,
}

/// What a step does. The same shape serves as a step's `undo`.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    Manual(ManualSpec),
    Command(CommandSpec),
    Check(CheckSpec),
    Gate(GateSpec),
    Data(DataAction),
    Kube(KubeAction),
}

impl StepAction {
    pub fn kind_name(&self) -> &'static str {
        match self {
            StepAction::Manual(_) => "manual",
            StepAction::Command(_) => "command",
            StepAction::Check(c) => c.kind_name(),
            StepAction::Gate(_) => "gate",
            StepAction::Data(d) => d.kind_name(),
            StepAction::Kube(k) => k.kind_name(),
        }
    }

    /// Steps that wait for a person rather than run by themselves.
    pub fn needs_person(&self) -> bool {
        matches!(self, StepAction::Manual(_) | StepAction::Gate(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManualSpec {
    /// Things the person confirms, shown as a list.
    pub items: Vec<String>,
    pub note_required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// Run through `sh -c`.
    Shell(String),
    Argv(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    pub program: Program,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// Time between SIGTERM and SIGKILL when the step is cancelled or times out.
    pub grace: Duration,
    /// Keep the process running after the step succeeds (a service the
    /// release needs); it is stopped when flightdeck exits.
    pub background: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckSpec {
    Env { vars: Vec<String> },
    Tcp(TcpCheck),
    Http(HttpCheck),
    Data(DataCheck),
    Kube(KubeCheck),
}

impl CheckSpec {
    pub fn kind_name(&self) -> &'static str {
        match self {
            CheckSpec::Env { .. } => "check env",
            CheckSpec::Tcp(_) => "check tcp",
            CheckSpec::Http(_) => "check http",
            CheckSpec::Data(d) => d.kind_name(),
            CheckSpec::Kube(k) => k.kind_name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TcpCheck {
    pub address: String,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub expect_status: u16,
    /// `a.b.c` paths into the JSON body and the value each must equal.
    pub expect_json: Vec<(String, serde_json::Value)>,
    pub max_latency: Option<Duration>,
    /// Keep trying until it passes or the step times out.
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    /// Role name and the number of distinct people needed for it.
    pub roles: Vec<(String, u32)>,
    /// Wait this long after the counts are met before the gate opens.
    pub soak: Option<Duration>,
    /// Fail the gate if its counts are not met this long after it started waiting.
    pub expires: Option<Duration>,
    /// How its sign-offs name their person; `None`: the environment's.
    pub identity: Option<super::identity::IdentityMode>,
}

impl Runbook {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.stages.iter().flat_map(|s| s.steps.iter())
    }

    pub fn step_count(&self) -> usize {
        self.stages.iter().map(|s| s.steps.len()).sum()
    }

    /// Step `i` counted across stages (the index the release uses), or
    /// `None` past the last: the checked way to reach a step by index.
    pub fn step(&self, i: usize) -> Option<&Step> {
        let mut i = i;
        for stage in &self.stages {
            match stage.steps.get(i) {
                Some(step) => return Some(step),
                None => i -= stage.steps.len(),
            }
        }
        None
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// How sign-offs of gate `gate` in `environment` name their person:
    /// the gate's mode, else the environment's, else a claim.
    pub fn identity_mode(&self, environment: &str, gate: &str) -> super::identity::IdentityMode {
        let gate_mode = self
            .steps()
            .find(|s| s.id == gate)
            .and_then(|s| match &s.action {
                StepAction::Gate(g) => g.identity,
                _ => None,
            });
        gate_mode
            .or(self.environment(environment).and_then(|e| e.identity))
            .unwrap_or_default()
    }

    /// Does any gate of a release in `environment` need signed sign-offs
    /// (so its initiator must be named by their key too)?
    pub fn needs_signed_initiator(&self, environment: &str) -> bool {
        self.steps().any(|s| {
            matches!(s.action, StepAction::Gate(_))
                && self.identity_mode(environment, &s.id) == super::identity::IdentityMode::Signed
        })
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps().position(|s| s.id == id)
    }

    /// Stage of each flat step index.
    pub fn stage_of(&self, index: usize) -> Option<&Stage> {
        let mut seen = 0;
        for stage in &self.stages {
            if index < seen + stage.steps.len() {
                return Some(stage);
            }
            seen += stage.steps.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn step_is_the_checked_index_across_stages() {
        let rb = crate::runbook::load(Path::new("config/runbooks/demo.yaml"))
            .unwrap()
            .runbook;
        assert!(rb.stages.len() > 1, "the demo has stages to cross");
        for (i, s) in rb.steps().enumerate() {
            assert_eq!(rb.step(i).map(|x| &x.id), Some(&s.id));
        }
        assert_eq!(rb.step(rb.step_count()), None);
        assert_eq!(rb.step(usize::MAX), None);
    }
}
