//! DictaMesh "Deployment Strategy" as config/runbooks/dictamesh.yaml,
//! headless: one version promoted dev -> staging -> production (each
//! environment its own namespace and database, reached through its pinned
//! kube context), production refused for a version that did not pass
//! staging, and a crash-looping image rolled back with maintenance mode
//! turned off again.

#[path = "support/app_front.rs"]
mod app_front;
#[path = "support/guides.rs"]
mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use support::*;

const RUNBOOK: &str = "config/runbooks/dictamesh.yaml";
const ACKS: &[&str] = &[
    "pre-checklist",
    "readiness-checklist",
    "logs-checklist",
    "contract-next-release",
    "monitoring-checklist",
];
const MIGRATIONS: &str = "tests/fixtures/guides/dictamesh/migrations";
const FIXTURE: &str = "tests/fixtures/guides/dictamesh/k8s.yaml";

/// One environment: its namespace (through its context) and database.
struct Env {
    name: &'static str,
    ns: Option<TestNs>,
    dsn: String,
}

struct World {
    g: Guide,
    envs: Vec<Env>,
    sets: Vec<String>,
    /// Receives the runbook's JSON notifications (RELEASE_WEBHOOK_URL).
    hook: Webhook,
}

impl World {
    async fn new(product: &str, with_prod: bool) -> World {
        let mut g = Guide::new(product, FIXTURE).await;
        let hook = Webhook::start().await;
        g.set_env("RELEASE_WEBHOOK_URL", &hook.url);
        let mut envs = vec![Env {
            name: "dev",
            ns: None,
            dsn: g.dsn.clone(),
        }];
        let more: &[&'static str] = if with_prod {
            &["staging", "production"]
        } else {
            &["staging"]
        };
        for name in more {
            let ns = TestNs::new(&format!("{product}-{}", &name[..4])).await;
            apply_fixture(&ns, FIXTURE).await;
            envs.push(Env {
                name,
                ns: Some(ns),
                dsn: fresh_db(&format!("{product}{}", &name[..4])).await,
            });
        }
        // A kubeconfig with the runbook's contexts, each on the test
        // cluster with its environment's namespace.
        let text = std::fs::read_to_string(kubeconfig()).unwrap();
        let mut kc: Value = serde_saphyr::from_str(&text).unwrap();
        let current = kc["current-context"].as_str().unwrap().to_string();
        let base = kc["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == current.as_str())
            .unwrap()["context"]
            .clone();
        let mut contexts = kc["contexts"].as_array().unwrap().clone();
        for e in &envs {
            let mut ctx = base.clone();
            ctx["namespace"] = json!(e.ns.as_ref().unwrap_or(&g.ns).name);
            contexts.push(json!({ "name": format!("dictamesh-{}", e.name), "context": ctx }));
        }
        kc["contexts"] = Value::Array(contexts);
        let path = g.dir.path().join("kubeconfig");
        std::fs::write(&path, serde_json::to_string_pretty(&kc).unwrap()).unwrap();
        g.set_env("KUBECONFIG", &path.display().to_string());

        let demo = g.demo(&[
            "--metric",
            "http_requests_total=0.001",
            "--metric",
            "http_request_duration_seconds=0.2",
        ]);
        let app = app_front::start(
            Some(demo.clone()),
            vec![
                ("/health/live", 200, json!({ "status": "ok" })),
                ("/health/ready", 200, json!({ "status": "ready" })),
                (
                    "/api/health",
                    200,
                    json!({ "database": "ok", "version": "10.2.0" }),
                ),
            ],
        )
        .await;
        let sets = vec![
            format!("base_url={app}"),
            format!("grafana_url={app}"),
            format!("prom_url={demo}"),
            format!("migrations={MIGRATIONS}"),
            "schema_version=3".to_string(),
            format!("backup_dir={}", g.backups().display()),
            "monitor_wait=0".to_string(),
        ];
        World {
            g,
            envs,
            sets,
            hook,
        }
    }

    fn env(&self, name: &str) -> &Env {
        self.envs.iter().find(|e| e.name == name).unwrap()
    }

    fn ns(&self, env: &str) -> &TestNs {
        self.env(env).ns.as_ref().unwrap_or(&self.g.ns)
    }

    /// `flightdeck run` in `env` through its context (no --namespace: the
    /// context names it), as alice. Exit code, events, stderr.
    async fn run(&self, env: &str, sets: &[String], extra: &[&str]) -> (i32, Vec<Value>, String) {
        let mut c = self.g.cmd("alice");
        c.env("DATABASE_URL", &self.env(env).dsn).args([
            "run",
            RUNBOOK,
            "--headless",
            "--env",
            env,
            "--context",
            &format!("dictamesh-{env}"),
        ]);
        for s in self.sets.iter().chain(sets) {
            c.args(["--set", s]);
        }
        for a in ACKS {
            c.args(["--ack", a]);
        }
        c.args(extra);
        let out = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            tokio::task::spawn_blocking(move || c.output().unwrap()),
        )
        .await
        .expect("the run finished")
        .unwrap();
        let events = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if std::env::var("FD_GUIDE_DEBUG").is_ok() {
            eprintln!("{env} -> {:?}\n{stderr}", out.status.code());
        }
        (out.status.code().unwrap_or(-1), events, stderr)
    }

    /// A whole release in `env`: up to the approval, signed by olivia,
    /// then to its end. The events of the second half. Dev has no
    /// approval (`when:`): the gate is skipped as not for this environment.
    async fn promote(&self, env: &str, version: &str, extra: &[&str]) -> (i32, Vec<Value>) {
        let sets = [format!("version={version}")];
        let (code, events, err) = self.run(env, &sets, extra).await;
        if env == "dev" {
            let approval = finished(&events, "approval");
            assert_eq!(approval["status"], "skipped", "{err}\n{events:#?}");
            assert_eq!(approval["detail"], "not for this environment");
            assert!(!started(&events, "approval"), "the dev gate never waits");
            return (code, events);
        }
        assert_eq!(code, 3, "{env} waits for its approval: {err}\n{events:#?}");
        let release = release_id(&events);
        self.g
            .approve(&release, "approval", "release-approver", "olivia")
            .await;
        let (code, events, _) = self.run(env, &sets, &["--release", &release]).await;
        (code, events)
    }

    async fn maintenance_mode(&self, env: &str) -> String {
        let ns = self.ns(env);
        let cm = Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
            .get("feature-flags")
            .await
            .unwrap();
        cm.data.unwrap()["maintenance_mode"].clone()
    }
}

fn succeeded(events: &[Value], steps: &[&str]) {
    for s in steps {
        assert_eq!(
            finished(events, s)["status"],
            "succeeded",
            "{s}: {events:#?}"
        );
    }
}

/// Whether now is inside the runbook's production change window
/// (tue..thu 09:00-16:00 UTC).
fn in_change_window() -> bool {
    use chrono::{Datelike, Timelike};
    let now = chrono::Utc::now();
    let day = now.weekday().num_days_from_monday();
    (1..=3).contains(&day) && (9..16).contains(&now.hour())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dictamesh_promoted_dev_staging_production() {
    let w = World::new("dictamesh", true).await;
    for env in ["dev", "staging"] {
        let seen = w.hook.bodies().len();
        let (code, events) = w.promote(env, "v1.2.0", &[]).await;
        assert_eq!(code, 0, "{env}: {events:#?}");
        // JSON notifications: started, (staging) waiting at the approval
        // with the command an approver types, succeeded.
        let bodies = w.hook.bodies()[seen..].to_vec();
        let release = release_id(&events);
        let kinds: Vec<&str> = bodies
            .iter()
            .map(|b| b["event"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if env == "dev" {
            &["started", "succeeded"]
        } else {
            &["started", "waiting", "succeeded"]
        };
        assert_eq!(kinds, expected, "{env}: {bodies:#?}");
        for b in &bodies {
            assert_eq!(b["release"], release.as_str());
            assert_eq!(b["environment"], env);
            assert_eq!(b["runbook"], "dictamesh");
            assert_eq!(b["initiator"], "alice");
        }
        if env == "staging" {
            let approve =
                format!("flightdeck approve {release} --gate approval --role release-approver");
            assert_eq!(bodies[1]["step"], "approval");
            assert_eq!(bodies[1]["approve"], json!([approve]));
            let text = bodies[1]["text"].as_str().unwrap();
            assert!(
                text.contains("waiting for sign-off at approval") && text.ends_with(&approve),
                "{text}"
            );
        }
        succeeded(&events, &["maintenance-off", "latency-p99"]);
        assert_eq!(
            w.ns(env).image("customer-adapter").await,
            "ghcr.io/controle-digital/customer-adapter:v1.2.0"
        );
    }
    // Production: in the change window, or refused until a reason is given.
    let mut extra: Vec<&str> = Vec::new();
    if !in_change_window() {
        let (code, _, err) = w.run("production", &["version=v1.2.0".into()], &[]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("outside the change windows"), "{err}");
        extra = vec!["--break-glass", "guide test outside the change window"];
    }
    let (code, events) = w.promote("production", "v1.2.0", &extra).await;
    assert_eq!(code, 0, "{events:#?}");
    succeeded(
        &events,
        &[
            "maintenance-on",
            "migrate-additive",
            "schema-version",
            "deploy",
            "pods",
            "liveness",
            "readiness",
            "smoke-tests",
            "metrics",
            "maintenance-off",
            "observe",
            "error-rate",
            "latency-p95",
            "latency-p99",
        ],
    );
    // Zero-downtime order: additive migration, then the deployment.
    let pos = |step: &str| {
        events
            .iter()
            .position(|e| e["event"] == "step_started" && e["step"] == step)
            .unwrap()
    };
    assert!(pos("maintenance-on") < pos("migrate-additive"));
    assert!(pos("migrate-additive") < pos("deploy"));
    assert!(pos("deploy") < pos("maintenance-off"));
    assert_eq!(
        w.ns("production").image("customer-adapter").await,
        "ghcr.io/controle-digital/customer-adapter:v1.2.0"
    );
    assert_eq!(w.maintenance_mode("production").await, "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dictamesh_production_refuses_a_version_that_did_not_pass_staging() {
    let w = World::new("dictameshref", true).await;
    let (code, events) = w.promote("dev", "v1.3.0", &[]).await;
    assert_eq!(code, 0, "{events:#?}");
    // Passed dev only: staging takes it, production does not, not even
    // with break-glass (requires cannot be broken).
    for extra in [&[][..], &["--break-glass", "customers are waiting"][..]] {
        let (code, events, err) = w.run("production", &["version=v1.3.0".into()], extra).await;
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("no release with version=v1.3.0 has succeeded in staging yet"),
            "{err}"
        );
        assert!(!started(&events, "maintenance-on"));
    }
    assert_eq!(
        w.ns("production").image("customer-adapter").await,
        "ghcr.io/controle-digital/customer-adapter:v1.1.0"
    );
    assert_eq!(w.maintenance_mode("production").await, "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dictamesh_crash_loop_rolls_back_and_turns_maintenance_mode_off() {
    let w = World::new("dictameshcrash", false).await;
    let (code, events) = w.promote("dev", "v1.2.0", &[]).await;
    assert_eq!(code, 0, "{events:#?}");
    // The next version crash-loops.
    let sets = [
        "version=v1.3.0".to_string(),
        "image_repo=ghcr.io/controle-digital/customer-adapter-crashloop".to_string(),
    ];
    // No approval in dev: it runs straight to the failing deploy.
    let (code, events, err) = w.run("dev", &sets, &["--new"]).await;
    assert_eq!(code, 1, "{err}\n{events:#?}");
    assert_eq!(finished(&events, "approval")["status"], "skipped");
    let deploy = finished(&events, "deploy");
    assert_eq!(deploy["status"], "failed");
    let detail = deploy["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("rolled back automatically") && detail.contains("undo done"),
        "{detail}"
    );
    assert_eq!(release_status(&events).as_deref(), Some("failed"));
    assert!(!started(&events, "liveness"));
    // On-call hears it was rolled back, where and why.
    let last = w.hook.bodies().last().cloned().unwrap();
    assert_eq!(last["event"], "rolled_back", "{last}");
    assert_eq!(last["step"], "deploy");
    assert_eq!(last["reason"], deploy["detail"]);
    assert_eq!(last["release"], release_id(&events).as_str());
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .contains("was rolled back at deploy"),
        "{last}"
    );
    // Back on v1.2.0, and out of maintenance.
    assert_eq!(
        w.ns("dev").image("customer-adapter").await,
        "ghcr.io/controle-digital/customer-adapter:v1.2.0"
    );
    assert_eq!(w.maintenance_mode("dev").await, "false");
}
