//! Shared by the guide test binaries (`#[path = "support/guides.rs"] mod
//! support;`): everything a guide runbook needs to run headless against the
//! local parts.
//!
//! - `Guide::new("goat", "tests/fixtures/guides/goat/k8s.yaml")`: a sandbox
//!   (temp config/data dirs, `FLIGHTDECK_USER=alice`), a namespace of the
//!   test cluster with the product's Deployments/Services from the fixture
//!   (rolled out), a fresh PostgreSQL database (`g.dsn`), the Redis and
//!   registry of the test services, and `PATH` with the tool stubs of
//!   `tests/fixtures/bin` (helm, cosign, docker) in front.
//! - `g.demo(&["--metric", "x=1", "--fail-path", "/api/errors"])`: the
//!   application side, `flightdeck demo-service` on a free loopback port;
//!   `g.base_url()`.
//! - `g.run_headless(runbook, env, &sets, &acks) -> (exit code, events)`,
//!   `g.approve(release, gate, role, as_user)`, `g.report_json(release)`.
//! - `finished(&events, step)`, `release_id(&events)`, `stub(name)`.
//!
//! Every service comes from the environment tests/run.sh sets; a missing one
//! fails the test loudly rather than passing having run nothing.
#![allow(dead_code)]

#[path = "kube.rs"]
mod kube_support;
#[path = "webhook.rs"]
mod webhook;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub use kube_support::{TestNs, kubeconfig};
use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
#[allow(unused_imports)]
pub use webhook::Webhook;

pub const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// An environment variable the test services set; panics naming the fix.
pub fn service_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests through tests/run.sh, or start the services: \
             export FD_TEST_CLEANUP=$(mktemp); for s in tests/support/start-*.sh; do eval \"$(bash $s)\"; done"
        )
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The stub for a tool absent here (tests/fixtures/bin/NAME).
pub fn stub(name: &str) -> String {
    let p = Path::new(ROOT).join("tests/fixtures/bin").join(name);
    assert!(p.exists(), "no stub {}", p.display());
    p.display().to_string()
}

/// A fresh database on the test PostgreSQL; its DSN.
pub async fn fresh_db(prefix: &str) -> String {
    let url = service_env("FLIGHTDECK_TEST_DATABASE_URL");
    let name = format!("fd_{prefix}_{:08x}", rand::random::<u32>());
    let mut admin = PgConnection::connect(&url)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    let base = url.split('?').next().unwrap();
    format!("{}/{name}", base.rsplit_once('/').unwrap().0)
}

/// Create every object of a multi-document YAML fixture in `ns` and wait
/// for its Deployments to roll out.
pub async fn apply_fixture(ns: &TestNs, fixture: &str) {
    let path = Path::new(ROOT).join(fixture);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    for d in docs.iter().filter(|d| d.is_object()) {
        flightdeck::backend::kube::ops::create_dynamic(&ns.client, &ns.name, d)
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", d["metadata"]["name"]));
    }
    for d in &docs {
        if d["kind"] == "Deployment" {
            ns.rolled_out(d["metadata"]["name"].as_str().unwrap()).await;
        }
    }
}

/// The application side: `flightdeck demo-service`, killed on drop.
pub struct Demo {
    pub port: u16,
    child: Child,
}

impl Demo {
    pub fn start(args: &[&str]) -> Demo {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["demo-service", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--version", "guide-test"])
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start demo-service");
        let demo = Demo { port, child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return demo;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("demo-service did not listen on {port} within 5s");
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One guide test's world.
pub struct Guide {
    pub ns: TestNs,
    pub dir: tempfile::TempDir,
    /// A fresh database of the test PostgreSQL.
    pub dsn: String,
    pub redis_url: String,
    pub registry_url: String,
    pub registry_user: String,
    pub registry_password: String,
    /// Extra environment of every flightdeck process (the runbook's
    /// `${env.X}`); add with `set_env`.
    pub env: Vec<(String, String)>,
    pub demo: Option<Demo>,
}

impl Guide {
    /// `product` names the namespace and database; `fixture` (relative to
    /// the crate) holds the Deployments/Services created before the run.
    pub async fn new(product: &str, fixture: &str) -> Guide {
        let redis_url = service_env("FLIGHTDECK_TEST_REDIS_URL");
        let registry_url = service_env("FLIGHTDECK_TEST_REGISTRY_URL");
        let registry_user = service_env("FLIGHTDECK_TEST_REGISTRY_USER");
        let registry_password = service_env("FLIGHTDECK_TEST_REGISTRY_PASSWORD");
        let dsn = fresh_db(product).await;
        let ns = TestNs::new(product).await;
        apply_fixture(&ns, fixture).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("backups")).unwrap();
        Guide {
            ns,
            dir,
            dsn,
            redis_url,
            registry_url,
            registry_user,
            registry_password,
            env: vec![("FD_STUB_LOG".into(), String::new())],
            demo: None,
        }
        .with_stub_log()
    }

    fn with_stub_log(mut self) -> Guide {
        let log = self.dir.path().join("stubs.log").display().to_string();
        self.env[0].1 = log;
        self
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
    }

    pub fn unset_env(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
    }

    /// A directory for backups (`dir:` of a backup step).
    pub fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// The tool stubs' calls so far, one JSON object each.
    pub fn stub_calls(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("stubs.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Start (or restart) the application side with these arguments.
    pub fn demo(&mut self, args: &[&str]) -> String {
        self.demo = None;
        let d = Demo::start(args);
        let url = d.base_url();
        self.demo = Some(d);
        url
    }

    pub fn base_url(&self) -> String {
        self.demo.as_ref().expect("demo() first").base_url()
    }

    /// A flightdeck command in the sandbox, as `user`.
    pub fn cmd(&self, user: &str) -> Command {
        let mut c = Command::new(BIN);
        let path = format!(
            "{}:{}",
            Path::new(ROOT).join("tests/fixtures/bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.current_dir(ROOT)
            .env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", user)
            .env("KUBECONFIG", kubeconfig())
            .env("PATH", path)
            .env_remove("FLIGHTDECK_JOURNAL");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub async fn output(&self, user: &str, args: &[&str]) -> Output {
        let mut c = self.cmd(user);
        c.args(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// `flightdeck run RUNBOOK --headless --env ENV --namespace NS` with
    /// `--set` and `--ack` each, as alice. Returns the exit code and the
    /// JSON events; `extra` goes last (e.g. `--new`, `--release ID`).
    pub async fn run_headless(
        &self,
        runbook: &str,
        env: &str,
        sets: &[String],
        acks: &[&str],
    ) -> (i32, Vec<Value>) {
        self.run_headless_with(runbook, env, sets, acks, &[]).await
    }

    pub async fn run_headless_with(
        &self,
        runbook: &str,
        env: &str,
        sets: &[String],
        acks: &[&str],
        extra: &[&str],
    ) -> (i32, Vec<Value>) {
        let mut args: Vec<String> = vec![
            "run".into(),
            runbook.into(),
            "--headless".into(),
            "--env".into(),
            env.into(),
        ];
        for s in sets {
            args.extend(["--set".into(), s.clone()]);
        }
        self.headless(args, acks, extra, runbook).await
    }

    /// Continue a waiting release: `run --headless --release ID --ack ...`.
    pub async fn resume(&self, release: &str, acks: &[&str]) -> (i32, Vec<Value>) {
        let args = vec![
            "run".into(),
            "--headless".into(),
            "--release".into(),
            release.into(),
        ];
        self.headless(args, acks, &[], release).await
    }

    async fn headless(
        &self,
        mut args: Vec<String>,
        acks: &[&str],
        extra: &[&str],
        runbook: &str,
    ) -> (i32, Vec<Value>) {
        args.extend(["--namespace".into(), self.ns.name.clone()]);
        for a in acks {
            args.extend(["--ack".into(), a.to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tokio::time::timeout(Duration::from_secs(180), self.output("alice", &args))
            .await
            .expect("the headless run finished within 180s");
        let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let code = out.status.code().unwrap_or(-1);
        if std::env::var("FD_GUIDE_DEBUG").is_ok() {
            eprintln!(
                "run {runbook} -> {code}\nstderr:\n{}\nevents:\n{}",
                String::from_utf8_lossy(&out.stderr),
                events
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        (code, events)
    }

    /// `flightdeck approve RELEASE --gate G --role R` as `user`; panics on failure.
    pub async fn approve(&self, release: &str, gate: &str, role: &str, user: &str) {
        let out = self
            .output(
                user,
                &[
                    "approve",
                    release,
                    "--gate",
                    gate,
                    "--role",
                    role,
                    "--comment",
                    "signed off in the guide test",
                ],
            )
            .await;
        assert!(
            out.status.success(),
            "approve {gate} as {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `flightdeck reject RELEASE --gate G --role R --comment WHY` as `user`.
    pub async fn reject(&self, release: &str, gate: &str, role: &str, user: &str, why: &str) {
        let out = self
            .output(
                user,
                &[
                    "reject",
                    release,
                    "--gate",
                    gate,
                    "--role",
                    role,
                    "--comment",
                    why,
                ],
            )
            .await;
        assert!(
            out.status.success(),
            "reject {gate} as {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `flightdeck report RELEASE --format json`.
    pub async fn report_json(&self, release: &str) -> Value {
        let out = self
            .output("alice", &["report", release, "--format", "json"])
            .await;
        assert!(
            out.status.success(),
            "report: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("report is JSON")
    }

    /// `flightdeck report RELEASE --format yaml` (the deployment checklist).
    pub async fn report_yaml(&self, release: &str) -> String {
        let out = self
            .output("alice", &["report", release, "--format", "yaml"])
            .await;
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A copy of `runbook` in the sandbox with text replaced (to shorten a
    /// duration the runbook must state literally, e.g. a 2m health window).
    pub fn runbook_copy(&self, runbook: &str, replace: &[(&str, &str)]) -> String {
        let mut text = std::fs::read_to_string(Path::new(ROOT).join(runbook)).unwrap();
        for (from, to) in replace {
            assert!(text.contains(from), "{runbook} has no {from:?}");
            text = text.replace(from, to);
        }
        let name = Path::new(runbook).file_name().unwrap();
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// The last `step_finished` event of `step`.
pub fn finished(events: &[Value], step: &str) -> Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .cloned()
        .unwrap_or_else(|| panic!("no step_finished for {step}: {events:#?}"))
}

/// Whether `step` started at all.
pub fn started(events: &[Value], step: &str) -> bool {
    events
        .iter()
        .any(|e| e["event"] == "step_started" && e["step"] == step)
}

pub fn release_id(events: &[Value]) -> String {
    events
        .iter()
        .find_map(|e| e["release"].as_str())
        .unwrap_or_else(|| panic!("no release id in {events:#?}"))
        .to_string()
}

/// The status of the `release_ended` event, if any.
pub fn release_status(events: &[Value]) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "release_ended")
        .and_then(|e| e["status"].as_str())
        .map(str::to_string)
}

/// Output lines of a step.
pub fn output_of(events: &[Value], step: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "output" && e["step"] == step)
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect()
}
