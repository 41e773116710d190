//! What was approved is what runs (issue 10, part 3), with the built binary:
//! a gate passes, then the runbook (or a file it references) is edited;
//! resuming stops before the next step with exit 3 and a `content_changed`
//! entry, the edited command does not run, and a fresh sign-off on the new
//! content lets the release go on. SQLite, and PostgreSQL when
//! FLIGHTDECK_TEST_DATABASE_URL is set.

#[path = "support/pg.rs"]
mod pg;
use pg::with_database;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

const RUNBOOK: &str = r#"name: content-check
environments:
  staging: {}
stages:
  - id: main
    title: Main
    steps:
      - id: prepare
        command: { run: "true" }
      - id: approval
        gate:
          roles:
            approver: 1
      - id: look
        manual:
          items: [Looked at it]
      - id: apply
        command: { run: "cat deploy/app.yaml > applied.txt" }
      - id: finish
        command: { run: "touch finished.txt" }
"#;

struct Sandbox {
    dir: tempfile::TempDir,
    journal: Option<String>,
}

impl Sandbox {
    fn new(journal: Option<String>) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("work/deploy")).unwrap();
        std::fs::write(dir.path().join("work/runbook.yaml"), RUNBOOK).unwrap();
        std::fs::write(dir.path().join("work/deploy/app.yaml"), "replicas: 1\n").unwrap();
        Sandbox { dir, journal }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.current_dir(self.work())
            .env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", user)
            .env_remove("FLIGHTDECK_JOURNAL")
            .env_remove("KUBECONFIG")
            .args(args);
        if let Some(j) = &self.journal {
            c.env("FLIGHTDECK_JOURNAL", j);
        }
        c.output().unwrap()
    }

    fn resume(&self, release: &str) -> (i32, Vec<serde_json::Value>) {
        let out = self.run(
            "alice",
            &["run", "--headless", "--release", release, "--ack", "look"],
        );
        let code = out.status.code().unwrap_or(-1);
        let ev = events(&out);
        eprintln!("resume -> {code}: {}", String::from_utf8_lossy(&out.stderr));
        (code, ev)
    }

    fn approve(&self, release: &str) -> Output {
        self.run(
            "bob",
            &[
                "approve", release, "--gate", "approval", "--role", "approver",
            ],
        )
    }

    fn edit(&self, path: &str, from: &str, to: &str) {
        let p = self.work().join(path);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from));
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// Start, pass the gate, stop at the checklist after it. Returns the release.
fn past_the_gate(sb: &Sandbox) -> String {
    let out = sb.run("alice", &["run", "runbook.yaml", "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out);
    let release = ev[0]["release"].as_str().unwrap().to_string();
    assert_eq!(ev.last().unwrap()["step"], "approval");
    let out = sb.approve(&release);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Without --ack the release passes the gate and waits at the checklist.
    let out = sb.run("alice", &["run", "--headless", "--release", &release]);
    assert_eq!(out.status.code(), Some(3));
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "step_finished" && e["step"] == "approval"),
        "{ev:?}"
    );
    assert_eq!(ev.last().unwrap()["step"], "look", "{ev:?}");
    release
}

fn content_changed_event(ev: &[serde_json::Value]) -> &serde_json::Value {
    ev.iter()
        .find(|e| e["event"] == "content_changed")
        .unwrap_or_else(|| panic!("no content_changed event in {ev:?}"))
}

fn edited_runbook_stops_until_signed_again(sb: &Sandbox) {
    let release = past_the_gate(sb);
    // The initiator edits a later step's command after the gate passed.
    sb.edit("runbook.yaml", "touch finished.txt", "touch edited.txt");
    let (code, ev) = sb.resume(&release);
    assert_eq!(code, 3, "{ev:?}");
    let changed = content_changed_event(&ev);
    assert_eq!(changed["gate"], "approval");
    assert_eq!(changed["step"], "apply");
    assert_eq!(changed["changed"], serde_json::json!(["runbook"]));
    assert_ne!(changed["old_hash"], changed["new_hash"]);
    assert!(
        !ev.iter()
            .any(|e| e["event"] == "step_started" && e["step"] == "apply")
    );
    assert!(!exists(&sb.work(), "applied.txt"));
    assert!(!exists(&sb.work(), "edited.txt"));

    // The record lists both hashes and the change.
    let out = sb.run("alice", &["report", &release, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hashes = report["content"]["hashes"].as_array().unwrap();
    assert!(hashes.contains(&changed["old_hash"]) && hashes.contains(&changed["new_hash"]));
    assert_eq!(report["content"]["changes"][0]["changed"][0], "runbook");
    let shown = String::from_utf8_lossy(&sb.run("alice", &["show", &release]).stdout).to_string();
    assert!(
        shown.contains(changed["new_hash"].as_str().unwrap()),
        "{shown}"
    );

    // Resuming again changes nothing: the gate waits for people.
    let (code, ev) = sb.resume(&release);
    assert_eq!(code, 3);
    assert!(!exists(&sb.work(), "edited.txt"), "{ev:?}");

    // A fresh sign-off on the new content, and the release goes on.
    let out = sb.approve(&release);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, ev) = sb.resume(&release);
    assert_eq!(code, 0, "{ev:?}");
    assert!(exists(&sb.work(), "applied.txt"));
    assert!(exists(&sb.work(), "edited.txt"));
    assert!(!exists(&sb.work(), "finished.txt"));
}

fn edited_manifest_stops_until_signed_again(sb: &Sandbox) {
    let release = past_the_gate(sb);
    sb.edit("deploy/app.yaml", "replicas: 1", "replicas: 9");
    let (code, ev) = sb.resume(&release);
    assert_eq!(code, 3, "{ev:?}");
    let changed = content_changed_event(&ev);
    assert_eq!(
        changed["changed"],
        serde_json::json!(["file deploy/app.yaml"])
    );
    assert!(!exists(&sb.work(), "applied.txt"));
    // A missing file is a change too.
    let out = sb.approve(&release);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, ev) = sb.resume(&release);
    assert_eq!(code, 0, "{ev:?}");
    let applied = std::fs::read_to_string(sb.work().join("applied.txt")).unwrap();
    assert_eq!(applied, "replicas: 9\n");
}

#[test]
fn sqlite_edited_runbook() {
    edited_runbook_stops_until_signed_again(&Sandbox::new(None));
}

#[test]
fn sqlite_edited_manifest() {
    edited_manifest_stops_until_signed_again(&Sandbox::new(None));
}

/// Run `scenario` against a fresh PostgreSQL database (skipped without
/// FLIGHTDECK_TEST_DATABASE_URL).
fn on_postgres(scenario: fn(&Sandbox)) {
    let Ok(server) = std::env::var("FLIGHTDECK_TEST_DATABASE_URL") else {
        eprintln!("FLIGHTDECK_TEST_DATABASE_URL not set: PostgreSQL part skipped");
        return;
    };
    let name = format!("fd_content_{}", rand::random::<u32>());
    let admin = |sql: &str| {
        let out = Command::new("psql")
            .arg(&server)
            .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    admin(&format!("CREATE DATABASE {name}"));
    let url = with_database(&server, &name);
    let result = std::panic::catch_unwind(|| scenario(&Sandbox::new(Some(url))));
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn postgres_edited_runbook() {
    on_postgres(edited_runbook_stops_until_signed_again);
}

#[test]
fn postgres_edited_manifest() {
    on_postgres(edited_manifest_stops_until_signed_again);
}
