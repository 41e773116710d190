//! tests/fixtures/runbooks/data_flow.yaml run by the built binary against
//! the real PostgreSQL of start-postgres.sh, a password-protected Redis of
//! its own (so it can stop it), the demo service, a Prometheus-API endpoint
//! and a webhook. The journal (`report --format json|yaml`) holds each
//! result; with Redis stopped its check fails with a clear reason.

#[path = "support/canned.rs"]
mod canned;
#[path = "support/pg.rs"]
mod pg;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");
const RUNBOOK: &str = "tests/fixtures/runbooks/data_flow.yaml";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server answering every request with `body` as JSON, keeping request
/// bodies; its URL.
async fn canned(body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let (addr, seen) = canned::canned(200, "application/json", body.to_string()).await;
    (format!("http://{addr}"), seen)
}

struct Redis {
    child: Child,
    url: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let bin =
            std::env::var("FLIGHTDECK_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let password = format!("e2e-{:08x}", rand::random::<u32>());
        let redis = Redis {
            child: Command::new(&bin)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--requirepass",
                    &password,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {bin} (apt-get install -y redis-server): {e}")
                }),
            url: format!("redis://:{password}@127.0.0.1:{port}"),
            password,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not listen within 5s");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn fresh_db() -> String {
    let dsn = pg::fresh_database("e2e").await;
    let mut c = PgConnection::connect(&dsn).await.unwrap();
    for sql in [
        "CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT NOT NULL, nickname TEXT)",
        "INSERT INTO accounts VALUES (1, 'alice', 'al'), (2, 'bob', 'bobby')",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    let _ = c.close().await;
    dsn
}

struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", "alice")
            .env_remove("FLIGHTDECK_JOURNAL");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd();
        c.args(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }
}

fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn finished<'a>(ev: &'a [Value], step: &str) -> &'a Value {
    ev.iter()
        .rev()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("no step_finished for {step}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_flow_runbook_end_to_end() {
    let dsn = fresh_db().await;
    let mut redis = Redis::start();
    let (prom, _) = canned(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.012"]}]}}"#,
    )
    .await;
    let (hook, posted) = canned("{}").await;
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox {
        env: vec![
            ("DATABASE_URL".into(), dsn.clone()),
            ("REDIS_URL".into(), redis.url.clone()),
            (
                "FD_BACKUP_DIR".into(),
                dir.path().join("backups").display().to_string(),
            ),
        ],
        dir,
    };
    let port = free_port().to_string();
    let sets = [
        format!("port={port}"),
        format!("prom_url={prom}"),
        format!("hook_url={hook}/hook"),
    ];
    let mut args = vec!["run", RUNBOOK, "--headless"];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let out = sb.run(&args).await;
    let ev = events(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let release = ev[0]["release"].as_str().unwrap().to_string();
    // The plan came before the migration applied, with its SQL.
    let lines: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "output" && e["step"] == "migrate")
        .filter_map(|e| e["line"].as_str())
        .collect();
    let plan = lines.iter().position(|l| l.starts_with("plan: 2 pending"));
    let apply = lines.iter().position(|l| *l == "applying with sqlx");
    assert!(plan.is_some() && plan < apply, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("DROP COLUMN nickname")));
    assert!(lines.iter().any(|l| l.starts_with("POINT OF NO RETURN")));
    // The backup file is where the runbook says: {dir}/{release}-{step}.dump.
    let dump = sb.backups().join(format!("{release}-backup.dump"));
    assert!(dump.exists(), "{}", dump.display());
    let detail = finished(&ev, "backup")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains(&dump.display().to_string()) && detail.contains("sha256 "));

    // The journal holds each result.
    let out = sb.run(&["report", &release, "--format", "json"]).await;
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checklist"]["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "postgres",
            "redis",
            "backup",
            "migrate",
            "schema-version",
            "service",
            "ready",
            "smoke",
            "load",
            "error-rate",
            "announce"
        ]
    );
    assert!(
        checks.iter().all(|c| c["status"] == "passed"),
        "{checks:#?}"
    );
    assert_eq!(report["checklist"]["environment"], "test");
    let detail = |step: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == step)
            .and_then(|s| s["detail"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        detail("postgres").starts_with("PostgreSQL "),
        "{}",
        detail("postgres")
    );
    assert!(detail("redis").contains("role master"));
    assert!(detail("backup").contains("sha256 "));
    assert!(
        detail("migrate").starts_with("schema version 0 → 2")
            && detail("migrate").contains("point of no return"),
        "{}",
        detail("migrate")
    );
    assert!(detail("smoke").starts_with("3/3 smoke requests passed"));
    assert!(detail("load").starts_with("100 requests: p50 "));
    assert!(detail("error-rate").contains("< 0.05 held"));
    // No secret reached the journal.
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!all.contains(&redis.password), "the Redis password leaked");
    // The YAML checklist record.
    let out = sb.run(&["report", &release, "--format", "yaml"]).await;
    let yaml = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(yaml.contains("environment: test"), "{yaml}");
    assert!(yaml.contains("- name: redis"), "{yaml}");
    assert!(yaml.contains("status: passed"), "{yaml}");
    let md = sb.run(&["report", &release]).await;
    assert!(String::from_utf8_lossy(&md.stdout).contains("## Deployment checklist"));
    // The hooks heard the start and the success, the step its message.
    let bodies: Vec<Value> = posted
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect();
    assert!(bodies.iter().any(|b| b["event"] == "started"), "{bodies:?}");
    assert!(
        bodies
            .iter()
            .any(|b| b["event"] == "succeeded" && b["release"] == release.as_str())
    );
    assert!(
        bodies
            .iter()
            .any(|b| b["text"] == format!("data-flow release {release} verified"))
    );

    // Redis stopped: its check fails with a clear reason, the release stops.
    redis.stop();
    args.push("--new");
    let out = sb.run(&args).await;
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out);
    let f = finished(&ev, "redis");
    assert_eq!(f["status"], "failed");
    let reason = f["detail"].as_str().unwrap();
    assert!(
        reason.starts_with("could not connect to Redis at 127.0.0.1:")
            && reason.ends_with("connection refused"),
        "{reason}"
    );
    assert!(
        !ev.iter()
            .any(|e| e["event"] == "step_started" && e["step"] == "backup")
    );
}
