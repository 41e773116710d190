//! The built binary, end to end: headless exit codes, sign-off from a second
//! process, a SIGKILL mid-step seen as interrupted in the TUI (tmux), and the
//! audit chain catching an edited row.

#[path = "support/tmux.rs"]
mod tmux;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;
use tmux::{Tmux, pid_of};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, user: &str) -> Command {
        let mut c = Command::new(BIN);
        c.env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", user)
            .env_remove("FLIGHTDECK_JOURNAL");
        c
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        self.cmd(user).args(args).output().unwrap()
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("data/journal.db")
    }

    fn env_line(&self, user: &str) -> String {
        format!(
            "FLIGHTDECK_CONFIG_DIR={} FLIGHTDECK_DATA_DIR={} FLIGHTDECK_USER={user}",
            self.dir.path().join("config").display(),
            self.dir.path().join("data").display()
        )
    }
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn headless_demo_waits_for_people_then_succeeds_once_signed() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let set = format!("port={port}");
    let out = sb.run(
        "alice",
        &[
            "run",
            "config/runbooks/demo.yaml",
            "--headless",
            "--set",
            &set,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out);
    let release = ev[0]["release"].as_str().unwrap().to_string();
    assert_eq!(ev[0]["event"], "release_started");
    // The flaky check failed once and passed on its retry.
    let flaky: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["event"] == "step_finished" && e["step"] == "flaky")
        .collect();
    assert_eq!(flaky.len(), 2);
    assert_eq!(
        (flaky[0]["status"].as_str(), flaky[1]["status"].as_str()),
        (Some("failed"), Some("succeeded"))
    );
    assert_eq!(ev.last().unwrap()["event"], "waiting");
    assert_eq!(ev.last().unwrap()["step"], "release-checklist");

    // Tick the checklist; it stops at the gate.
    let out = sb.run(
        "alice",
        &[
            "run",
            "--headless",
            "--release",
            &release,
            "--ack",
            "release-checklist",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let ev = events(&out);
    assert_eq!(ev.last().unwrap()["step"], "release-approval");

    // The initiator cannot approve their own release.
    let out = sb.run(
        "alice",
        &[
            "approve",
            &release,
            "--gate",
            "release-approval",
            "--role",
            "release-approver",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot sign it off"));
    let out = sb.run(
        "bob",
        &[
            "approve",
            &release,
            "--gate",
            "release-approval",
            "--role",
            "release-approver",
            "--comment",
            "ok",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = sb.run("alice", &["run", "--headless", "--release", &release]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out);
    assert_eq!(ev.last().unwrap()["event"], "release_ended");
    assert_eq!(ev.last().unwrap()["status"], "succeeded");

    let report = sb.run("alice", &["report", &release, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["signoffs"][0]["person"], "bob");
    let md = String::from_utf8(sb.run("alice", &["report", &release]).stdout).unwrap();
    assert!(md.contains("| release-approval | bob |"), "{md}");

    let out = sb.run("alice", &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn headless_exit_codes_for_bad_input_and_failure() {
    let sb = Sandbox::new();
    let out = sb.run(
        "alice",
        &[
            "run",
            "config/runbooks/demo.yaml",
            "--headless",
            "--set",
            "version=1.0",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
    let out = sb.run(
        "alice",
        &["run", "tests/fixtures/runbooks/broken.yaml", "--headless"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.yaml:2:1"));

    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("fails.yaml");
    std::fs::write(&rb, "name: fails\nstages:\n  - id: s\n    steps:\n      - id: boom\n        command: 'echo about to fail; exit 7'\n      - id: never\n        command: 'echo never'\n").unwrap();
    let out = sb.run("alice", &["run", rb.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "step_finished" && e["step"] == "boom" && e["exit_code"] == 7)
    );
    assert!(!ev.iter().any(|e| e["step"] == "never"));
    assert_eq!(ev.last().unwrap()["status"], "failed");
}

#[test]
fn validate_accepts_shipped_runbooks_and_rejects_broken_ones() {
    let sb = Sandbox::new();
    let shipped: Vec<String> = std::fs::read_dir("config/runbooks")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec!["validate"];
    args.extend(shipped.iter().map(String::as_str));
    assert!(sb.run("alice", &args).status.success());
    let out = sb.run(
        "alice",
        &["validate", "tests/fixtures/runbooks/broken.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .filter(|l| l.starts_with("tests/fixtures/runbooks/broken.yaml:"))
            .count()
            >= 8,
        "{err}"
    );
}

#[test]
fn editing_the_audit_table_makes_verify_fail() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("tiny.yaml");
    std::fs::write(&rb, "name: tiny\nstages:\n  - id: s\n    steps:\n      - id: a\n        command: 'echo a'\n      - id: b\n        command: 'echo b'\n").unwrap();
    assert_eq!(
        sb.run("alice", &["run", rb.to_str().unwrap(), "--headless"])
            .status
            .code(),
        Some(0)
    );
    assert!(sb.run("alice", &["verify"]).status.success());
    let db = sb.journal();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let url = format!("sqlite://{}", db.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            // The table refuses edits; someone with the file drops the guard first.
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
                .execute(&mut c)
                .await
                .unwrap();
        });
    let out = sb.run("alice", &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains('3'), "{text}");
}

// ---------------------------------------------------------------- tmux

#[test]
fn sigkill_mid_command_comes_back_as_interrupted() {
    let sb = Sandbox::new();
    let tmux = Tmux::start("e2e", 1);
    let rb = std::fs::canonicalize("tests/fixtures/runbooks/long_command.yaml").unwrap();
    let line = format!(
        "{} {BIN} tui {} --env default",
        sb.env_line("alice"),
        rb.display()
    );
    tmux.send(0, &[&line, "Enter"]);
    tmux.wait_for(0, "Quick check", Duration::from_secs(30));
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "migrating batch 5", Duration::from_secs(30));
    let pid = pid_of(&format!("{BIN} tui {}", rb.display())).expect("flightdeck is running");
    // SAFETY: sending a signal to a pid we just looked up.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // The shell prompt is back (the terminal stays raw after SIGKILL: reset it).
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(0, &["stty sane; clear", "Enter"]);
    tmux.send(0, &[&line, "Enter"]);
    let screen = tmux.wait_for(0, "was interrupted", Duration::from_secs(30));
    assert!(screen.contains("never re-run silently"), "{screen}");
    assert!(
        screen.contains("retry") && screen.contains("mark done"),
        "{screen}"
    );
    // Nothing was lost: the intent of the slow step and the quick step's outcome.
    let rel = String::from_utf8(sb.run("alice", &["releases"]).stdout).unwrap();
    let id = rel.split_whitespace().next().unwrap().to_string();
    let report: serde_json::Value =
        serde_json::from_slice(&sb.run("alice", &["report", &id, "--format", "json"]).stdout)
            .unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "quick" && s["outcome"] == "succeeded"),
        "{report}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "slow" && s["outcome"] == "interrupted"),
        "{report}"
    );
    // Choose "mark done" (journaled), then quit; the terminal is restored.
    tmux.send(0, &["Down", "Enter"]);
    tmux.wait_for(0, "✔", Duration::from_secs(30));
    tmux.send(0, &["q"]);
    tmux.wait_for(
        0,
        "(reopen it with the same command",
        Duration::from_secs(30),
    );
    tmux.send(
        0,
        &["stty -a | grep -o -- ' -\\?icanon' ; echo E''ND", "Enter"],
    );
    let s = tmux.wait_for(0, "\nEND", Duration::from_secs(30));
    assert!(
        s.contains(" icanon") && !s.contains(" -icanon"),
        "terminal left raw:\n{s}"
    );
    assert!(sb.run("alice", &["verify"]).status.success());
    let md = String::from_utf8(sb.run("alice", &["report", &id]).stdout).unwrap();
    assert!(md.contains("chose **mark done**"), "{md}");
}
