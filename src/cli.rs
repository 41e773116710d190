//! Command line (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "flightdeck",
    version,
    about = "Guided software releases in the terminal"
)]
pub struct Cli {
    /// Journal: a SQLite file path or a postgres:// URL (default: SQLite in your data dir).
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_JOURNAL",
        hide_env_values = true
    )]
    pub journal: Option<String>,
    /// Without a command: the home screen (what waits for you, releases, runbooks).
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The home screen: what waits for you, the releases, the runbooks
    /// (also `flightdeck` alone).
    Home,
    /// Step through a runbook interactively (resumes an unfinished release of it).
    Tui(ReleaseArgs),
    /// Run a runbook without the TUI: one JSON object per event on stdout.
    /// Exit 0 succeeded, 1 a step failed, 2 invalid input, 3 waiting for a person.
    Run {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Required: say that no TUI is wanted.
        #[arg(long)]
        headless: bool,
        /// Tick this manual checklist step (repeatable).
        #[arg(long = "ack", value_name = "STEP")]
        acks: Vec<String>,
        /// Run this interrupted step again on resume (repeatable); without
        /// it a headless resume stops at an interrupted step (exit 3).
        #[arg(long = "retry", value_name = "STEP")]
        retries: Vec<String>,
    },
    /// The bundled demo runbook, in the TUI, on embedded defaults.
    Demo {
        /// Port for the demo's local HTTP service.
        #[arg(long, default_value_t = 18080)]
        port: u16,
    },
    /// Check runbooks; prints every problem as file:line:column.
    Validate {
        #[arg(required = true)]
        runbooks: Vec<PathBuf>,
    },
    /// List releases in the journal.
    Releases {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Only gates you can sign now (running releases, waiting gates).
        #[arg(long)]
        waiting_for_me: bool,
    },
    /// Show one release: steps, outcomes, sign-offs.
    Show { release: String },
    /// The record a change board wants.
    Report {
        release: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
    },
    /// Recompute the audit chain; exits 1 naming the first broken entry.
    Verify,
    /// Sign off a gate: approve (from any terminal).
    Approve(SignArgs),
    /// Sign off a gate: reject (stops the release; needs --comment).
    Reject(SignArgs),
    /// Where flightdeck keeps its config, journal and audit key.
    Paths,
    /// What a release would do, before it starts: every step resolved,
    /// risky and irreversible steps, gates, and what changes in the cluster.
    Plan(PlanArgs),
    /// Watch Deployments' rollouts, read-only, without a runbook (on call).
    Watch(WatchArgs),
    /// Shell completions on stdout, e.g. `flightdeck completions bash > ~/.local/share/bash-completion/completions/flightdeck`.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// The man page (roff) on stdout, or with --out-dir one page per subcommand.
    Man {
        /// Write flightdeck.1 and flightdeck-SUBCOMMAND.1 here instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// The JSON Schema of runbooks, for editors (yaml-language-server).
    Schema,
    /// A small HTTP service for the demo runbook and tests.
    #[command(hide = true)]
    DemoService {
        #[arg(long, default_value = "127.0.0.1:18080")]
        listen: String,
        #[arg(long, default_value = "dev")]
        version: String,
        /// Answer /ready with 503 for this long after start.
        #[arg(long, default_value = "0s")]
        ready_after: String,
        /// Exit after this long.
        #[arg(long)]
        stop_after: Option<String>,
        /// NAME=VALUE answered by /api/v1/query for queries naming NAME.
        #[arg(long = "metric", value_name = "NAME=VALUE")]
        metrics: Vec<String>,
        /// A path that fails (500; 503 for /health and /ready).
        #[arg(long = "fail-path", value_name = "PATH")]
        fail_paths: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The runbook file (YAML). Optional with --resume / --release.
    pub runbook: Option<PathBuf>,
    /// Environment to release to (default: the runbook's first).
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Input values, name=value (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Reopen the latest unfinished release.
    #[arg(long)]
    pub resume: bool,
    /// Reopen this release.
    #[arg(long)]
    pub release: Option<String>,
    /// Start a new release even if an unfinished one exists.
    #[arg(long, conflicts_with_all = ["resume", "release"])]
    pub new: bool,
    /// With --release: only watch it and sign its gates; never take its
    /// lease, even when nobody drives (what *waiting for me* opens).
    #[arg(long, requires = "release")]
    pub watch: bool,
    /// Start outside the environment's change window or during a freeze,
    /// giving the reason (journaled in the audit log).
    #[arg(long, value_name = "REASON")]
    pub break_glass: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

impl ReleaseArgs {
    /// `tui` arguments that open one release, or start one of a runbook.
    pub fn opening(runbook: Option<PathBuf>, release: Option<String>) -> ReleaseArgs {
        ReleaseArgs {
            runbook,
            environment: None,
            inputs: Vec::new(),
            resume: false,
            release,
            new: false,
            watch: false,
            break_glass: None,
            kube: Default::default(),
        }
    }
}

/// The Kubernetes cluster (as kubectl resolves it): the one kube steps
/// use, or the one `watch` reads.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeArgs {
    /// Kubeconfig context (default: the kubeconfig's current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace (default: the context's); kube steps that name one keep it.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The runbook file (YAML).
    pub runbook: PathBuf,
    /// Environment (default: the runbook's first).
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Input values, name=value (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    #[command(flatten)]
    pub kube: KubeArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Only these Deployments (default: every one in scope).
    pub deployments: Vec<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Every namespace.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Label selector for the Deployments, as kubectl takes it.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

/// A sign-off of one gate (`approve` and `reject` are its two decisions).
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The release (`flightdeck releases --waiting-for-me` lists yours).
    pub release: String,
    /// The gate's step id.
    #[arg(long)]
    pub gate: String,
    /// The role you sign off in.
    #[arg(long)]
    pub role: String,
    /// Why (journaled; a rejection needs one).
    #[arg(long, default_value = "")]
    pub comment: String,
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
    /// The deployment checklist record (environment, timestamp, checks).
    Yaml,
}
