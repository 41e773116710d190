//! Team mode on a REAL PostgreSQL with real, separate flightdeck
//! processes: the deploy lock and its fencing token, live sharing between
//! two tmux panes, 50 approvers at once, take-over after a SIGKILL, and
//! `verify` on PostgreSQL.
//!
//! Needs FLIGHTDECK_TEST_DATABASE_URL (a role that may CREATE DATABASE):
//! `eval "$(bash tests/support/start-postgres.sh)"`.

#[path = "support/pg.rs"]
mod pg;
use pg::{server_url, with_database};

#[path = "support/tmux.rs"]
mod tmux;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tmux::{Tmux, pid_of};

use flightdeck::backend::store::lease::{Acquired, Claimant};
use flightdeck::backend::store::{AuditKey, Store, StoreError};
use flightdeck::protocol::command::JournalEntry;
use sqlx::{AnyConnection, Connection};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh database and a shared audit key; dropped at the end.
struct Team {
    dir: tempfile::TempDir,
    url: String,
    name: String,
}

impl Team {
    fn new() -> Team {
        let server = server_url();
        let name = format!("fd_team_{}", rand::random::<u32>());
        block(async {
            sqlx::any::install_default_drivers();
            let mut admin = AnyConnection::connect(&server).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
        });
        Team {
            dir: tempfile::tempdir().unwrap(),
            url: with_database(&server, &name),
            name,
        }
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("shared-audit.key")
    }

    /// A flightdeck process as `user` (own config dir, shared journal and key).
    fn cmd(&self, user: &str) -> Command {
        let mut c = Command::new(BIN);
        for (k, v) in self.env(user) {
            c.env(k, v);
        }
        c
    }

    fn env(&self, user: &str) -> Vec<(String, String)> {
        let home = self.dir.path().join(user);
        vec![
            (
                "FLIGHTDECK_CONFIG_DIR".into(),
                home.join("config").display().to_string(),
            ),
            (
                "FLIGHTDECK_DATA_DIR".into(),
                home.join("data").display().to_string(),
            ),
            ("FLIGHTDECK_USER".into(), user.into()),
            ("FLIGHTDECK_JOURNAL".into(), self.url.clone()),
            (
                "FLIGHTDECK_AUDIT_KEY_FILE".into(),
                self.key_file().display().to_string(),
            ),
        ]
    }

    fn env_line(&self, user: &str) -> String {
        self.env(user)
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        self.cmd(user).args(args).output().unwrap()
    }

    fn runbook(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    async fn store(&self) -> Store {
        let key = AuditKey::load_or_create(&self.key_file()).unwrap();
        Store::open(&self.url, key).await.unwrap()
    }

    async fn raw(&self) -> AnyConnection {
        sqlx::any::install_default_drivers();
        AnyConnection::connect(&self.url).await.unwrap()
    }

    fn latest_release(&self) -> String {
        let out = self.run("ops", &["releases"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .expect("a release")
            .to_string()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        let server = server_url();
        let name = self.name.clone();
        block(async move {
            if let Ok(mut admin) = AnyConnection::connect(&server).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
            }
        });
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const GATED: &str = r#"
name: team-release
environments:
  staging: {}
inputs:
  version:
    default: "1.0.0"
stages:
  - id: main
    steps:
      - id: compile
        title: Compile
        command: 'for i in $(seq 1 25); do echo "compiling unit $i"; sleep 0.2; done'
      - id: approval
        title: Release approval
        gate:
          roles:
            approver: 1
      - id: deploy
        title: Deploy
        command: 'echo deployed ${inputs.version}'
"#;

// ---------------------------------------------------------------- store level

fn me(person: &str, session: &str, pid: i64) -> Claimant {
    Claimant {
        person: person.into(),
        host: "test-host".into(),
        session: session.into(),
        pid,
    }
}

#[test]
fn lease_fencing_and_takeover_on_postgres() {
    let team = Team::new();
    let rb = team.runbook("quick.yaml", "name: quick\nstages:\n  - id: s\n    steps:\n      - id: a\n        manual: true\n      - id: b\n        manual: true\n");
    let out = team.run("alice", &["run", rb.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = team.latest_release();
    block(async {
        let store = team.store().await;
        // The headless run gave its lease back on exit.
        let l = store.lease(&id).await.unwrap().expect("a lease row");
        assert!(l.released && l.free(), "{l:?}");
        let me_pid = i64::from(std::process::id());
        let alice = me("alice", "s-alice", me_pid);
        // Bob's process will "crash": its pid does not exist.
        let bob = me("bob", "s-bob", i64::from(i32::MAX));
        let Acquired::Driving(a) = store.acquire_lease(&id, &alice, 1500, false).await.unwrap()
        else {
            panic!("a released lease is free")
        };
        assert_eq!(a.token, 2, "every holder gets the next token");
        assert!(a.remaining_ms() > 1000 && a.remaining_ms() <= 1500);
        // Live: bob may only watch, even when asking to take over.
        assert!(matches!(
            store.acquire_lease(&id, &bob, 1500, false).await.unwrap(),
            Acquired::Busy(_)
        ));
        assert!(matches!(
            store.acquire_lease(&id, &bob, 1500, true).await.unwrap(),
            Acquired::Busy(_)
        ));
        let renewed = store.renew_lease(&id, &alice, a.token, 1500).await.unwrap();
        assert!(renewed.expires_at >= a.expires_at);
        // Expired (database clock): explicit take-over only.
        tokio::time::sleep(Duration::from_millis(1700)).await;
        assert!(matches!(
            store.acquire_lease(&id, &bob, 10_000, false).await.unwrap(),
            Acquired::Expired(_)
        ));
        let Acquired::Driving(b) = store.acquire_lease(&id, &bob, 10_000, true).await.unwrap()
        else {
            panic!("an expired lease can be taken over")
        };
        assert_eq!(b.token, 3);
        // The stale holder can neither renew nor write with its old token.
        assert!(matches!(
            store.renew_lease(&id, &alice, a.token, 1500).await,
            Err(StoreError::Fenced(_))
        ));
        let write = JournalEntry::StepStarted {
            release_id: id.clone(),
            step_id: "a".into(),
            attempt: 9,
            at: 1,
        };
        let err = store
            .apply_as(&write, "alice", "test-host", Some(a.token))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Fenced(_)), "{err}");
        assert!(err.to_string().contains("bob@test-host took over"), "{err}");
        store
            .apply_as(&write, "bob", "test-host", Some(b.token))
            .await
            .unwrap();
        assert!(
            !store
                .publish_output(&id, "a", 9, &["x".into()], a.token)
                .await
                .unwrap()
        );
        assert!(
            store
                .publish_output(&id, "a", 9, &["x".into()], b.token)
                .await
                .unwrap()
        );
        // Others wait while bob's lease is live...
        assert!(matches!(
            store
                .acquire_lease(&id, &alice, 10_000, true)
                .await
                .unwrap(),
            Acquired::Busy(_)
        ));
        // ...but bob, restarted on the same host, reclaims his dead process's lease.
        let restarted = me("bob", "s-bob-2", me_pid);
        let Acquired::Driving(d) = store
            .acquire_lease(&id, &restarted, 10_000, false)
            .await
            .unwrap()
        else {
            panic!("the same person's dead process is reclaimed")
        };
        assert_eq!(d.token, 4);
        store.close().await;
    });
    // Journaled: take-over in the audit log; the chain verifies.
    let report = team.run("alice", &["report", &id, "--format", "json"]);
    assert!(report.status.success());
    block(async {
        let mut raw = team.raw().await;
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_log ORDER BY seq")
            .fetch_all(&mut raw)
            .await
            .unwrap();
        assert!(kinds.contains(&"lease_taken_over".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"lease_reclaimed".to_string()), "{kinds:?}");
    });
    let v = team.run("alice", &["verify"]);
    assert!(v.status.success(), "{}", text(&v));
}

// ---------------------------------------------------------------- approvals

const STORM: &str = r#"
name: storm
environments:
  prod: {}
stages:
  - id: s
    steps:
      - id: prep
        command: 'echo ready'
      - id: approval
        gate:
          roles:
            approver: 30
      - id: ship
        command: 'echo shipped'
"#;

#[test]
fn fifty_concurrent_approvers_sign_exactly_what_the_gate_needs() {
    let team = Team::new();
    let rb = team.runbook("storm.yaml", STORM);
    let out = team.run("alice", &["run", rb.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = team.latest_release();
    // 40 distinct people, the first 10 twice: 50 processes at once.
    let people: Vec<String> = (0..50).map(|i| format!("p{:02}", i % 40)).collect();
    let started = Instant::now();
    let children: Vec<_> = people
        .iter()
        .map(|p| {
            team.cmd(p)
                .args(["approve", &id, "--gate", "approval", "--role", "approver"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    eprintln!("50 approvers finished in {:?}", started.elapsed());
    let ok = outs.iter().filter(|o| o.status.success()).count();
    let refused: Vec<String> = outs
        .iter()
        .filter(|o| !o.status.success())
        .map(text)
        .collect();
    assert_eq!(ok, 30, "exactly the 30 needed; refusals: {refused:?}");
    assert!(
        refused
            .iter()
            .all(|t| t.contains("already has all the sign-offs") || t.contains("already signed")),
        "{refused:?}"
    );
    block(async {
        let mut raw = team.raw().await;
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT person FROM signoffs WHERE release_id = $1 AND gate = 'approval'",
        )
        .bind(&id)
        .fetch_all(&mut raw)
        .await
        .unwrap();
        let mut distinct = rows.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!((rows.len(), distinct.len()), (30, 30), "no duplicates");
    });
    // The gate opens now, with the 30: the release completes.
    let out = team.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"succeeded\""));
    let v = team.run("alice", &["verify"]);
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn initiator_refused_and_a_changed_runbook_voids_approval() {
    let team = Team::new();
    let text_rb = GATED.replace("seq 1 25", "seq 1 2");
    let rb = team.runbook("voids.yaml", &text_rb);
    let out = team.run(
        "alice",
        &[
            "run",
            rb.to_str().unwrap(),
            "--headless",
            "--env",
            "staging",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = team.latest_release();
    let mine = team.run(
        "alice",
        &["approve", &id, "--gate", "approval", "--role", "approver"],
    );
    assert_eq!(mine.status.code(), Some(1));
    assert!(
        text(&mine).contains("you started this release, so you cannot sign it off"),
        "{}",
        text(&mine)
    );
    let bob = team.run(
        "bob",
        &["approve", &id, "--gate", "approval", "--role", "approver"],
    );
    assert!(bob.status.success(), "{}", text(&bob));
    assert!(
        text(&bob).contains("all sign-offs are in"),
        "{}",
        text(&bob)
    );
    // What was approved changes (the image tag in the runbook): the
    // approval no longer counts, and the driver waits again.
    std::fs::write(
        &rb,
        text_rb.replace(
            "default: \"1.0.0\"",
            "default: \"1.0.0\"\n    description: tag 1.0.1",
        ),
    )
    .unwrap();
    let out = team.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("sign-off needed: 1 × approver"), "{t}");
    // Bob may approve the new content; then it goes through.
    let bob = team.run(
        "bob",
        &["approve", &id, "--gate", "approval", "--role", "approver"],
    );
    assert!(bob.status.success(), "{}", text(&bob));
    let out = team.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

// ---------------------------------------------------------------- verify

#[test]
fn verify_on_postgres_catches_edited_deleted_and_reordered_rows() {
    let team = Team::new();
    let rb = team.runbook("tiny.yaml", "name: tiny\nstages:\n  - id: s\n    steps:\n      - id: a\n        command: 'echo a'\n      - id: b\n        command: 'echo b'\n");
    let out = team.run("alice", &["run", rb.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        team.run("bob", &["verify"]).status.success(),
        "one shared key"
    );
    let verify = || {
        let o = team.run("alice", &["verify"]);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    block(async {
        let mut raw = team.raw().await;
        sqlx::query("DROP TRIGGER audit_log_no_change ON audit_log")
            .execute(&mut raw)
            .await
            .unwrap();
        // Edited.
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
            .execute(&mut raw)
            .await
            .unwrap();
        let (code, out) = verify();
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("entry 3") && out.contains("edited"), "{out}");
        sqlx::query("UPDATE audit_log SET actor = 'alice' WHERE seq = 3")
            .execute(&mut raw)
            .await
            .unwrap();
        assert_eq!(verify().0, Some(0));
        // Reordered: swap two entries' positions.
        sqlx::query("UPDATE audit_log SET seq = -4 WHERE seq = 4")
            .execute(&mut raw)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET seq = 4 WHERE seq = 5")
            .execute(&mut raw)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET seq = 5 WHERE seq = -4")
            .execute(&mut raw)
            .await
            .unwrap();
        let (code, out) = verify();
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("entry 4"), "{out}");
        sqlx::query("UPDATE audit_log SET seq = -5 WHERE seq = 5")
            .execute(&mut raw)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET seq = 5 WHERE seq = 4")
            .execute(&mut raw)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET seq = 4 WHERE seq = -5")
            .execute(&mut raw)
            .await
            .unwrap();
        assert_eq!(verify().0, Some(0));
        // Deleted.
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&mut raw)
            .await
            .unwrap();
        let (code, out) = verify();
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("deleted"), "{out}");
    });
}

// ---------------------------------------------------------------- tmux

#[test]
fn two_terminals_share_one_release_live() {
    let team = Team::new();
    let rb = team.runbook("live.yaml", GATED);
    let tmux = Tmux::start("team-live", 2);
    let driver = format!(
        "{} {BIN} tui {} --env staging",
        team.env_line("alice"),
        rb.display()
    );
    tmux.send(0, &[&driver, "Enter"]);
    tmux.wait_for(
        0,
        "you drive (lease token 1, live)",
        Duration::from_secs(30),
    );
    let id = team.latest_release();
    // The second terminal opens the same release read-only.
    let watcher = format!("{} {BIN} tui --release {id}", team.env_line("bob"));
    tmux.send(1, &[&watcher, "Enter"]);
    tmux.wait_for(1, "WATCHING: driven by alice@", Duration::from_secs(30));
    // A watcher cannot run steps.
    tmux.send(1, &["g"]);
    tmux.wait_for(1, "only the driver runs steps", Duration::from_secs(5));
    // The driver runs; the watcher sees the output tail live.
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "compiling unit 3", Duration::from_secs(20));
    tmux.wait_for(1, "compiling unit 5", Duration::from_secs(5));
    let s = tmux.wait_for(1, "Compile", Duration::from_secs(1));
    assert!(s.contains("running") || s.contains("compiling"), "{s}");
    // The gate: bob signs off from his own CLI; the driver shows it at once.
    tmux.wait_for(0, "still needed: 1 × approver", Duration::from_secs(20));
    tmux.wait_for(1, "still needed: 1 × approver", Duration::from_secs(5));
    let approve = team.run(
        "bob",
        &[
            "approve",
            &id,
            "--gate",
            "approval",
            "--role",
            "approver",
            "--comment",
            "lgtm",
        ],
    );
    let signed_at = Instant::now();
    assert!(approve.status.success(), "{}", text(&approve));
    tmux.wait_for(0, "✔ ⚑ Release approval", Duration::from_secs(5));
    let latency = signed_at.elapsed();
    eprintln!("approve -> driver screen shows the gate open: {latency:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    tmux.wait_for(1, "✔ ⚑ Release approval", Duration::from_secs(2));
    // The driver proceeds.
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "SUCCEEDED", Duration::from_secs(10));
    tmux.wait_for(1, "SUCCEEDED", Duration::from_secs(2));
    tmux.send(1, &["q"]);
    tmux.send(0, &["q"]);
    tmux.wait_for(0, "is succeeded", Duration::from_secs(10));
}

#[test]
fn sigkill_of_the_driver_frees_the_release_and_fences_it() {
    let team = Team::new();
    let rb = team.runbook("kill.yaml", &GATED.replace("seq 1 25", "seq 1 600"));
    let tmux = Tmux::start("team-kill", 2);
    let driver = format!(
        "{} {BIN} tui {} --env staging",
        team.env_line("alice"),
        rb.display()
    );
    tmux.send(0, &[&driver, "Enter"]);
    tmux.wait_for(
        0,
        "you drive (lease token 1, live)",
        Duration::from_secs(30),
    );
    let id = team.latest_release();
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "compiling unit 2", Duration::from_secs(20));
    let watcher = format!("{} {BIN} tui --release {id}", team.env_line("bob"));
    tmux.send(1, &[&watcher, "Enter"]);
    tmux.wait_for(1, "WATCHING: driven by alice@", Duration::from_secs(30));
    // A live lease cannot be taken over.
    tmux.send(1, &["T"]);
    tmux.wait_for(
        1,
        "a live lease cannot be taken over",
        Duration::from_secs(5),
    );

    let pid = pid_of(&format!("{BIN} tui {}", rb.display())).expect("the driver runs");
    // SAFETY: a signal to the pid we just looked up.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = Instant::now();
    tmux.wait_for(1, "lease EXPIRED", Duration::from_secs(15));
    let freed = killed.elapsed();
    eprintln!("SIGKILL -> lease seen expired: {freed:?}");
    assert!(freed <= Duration::from_millis(11_500), "{freed:?}");
    tmux.send(1, &["T"]);
    tmux.wait_for(1, "Take over release", Duration::from_secs(5));
    tmux.send(1, &["y"]);
    // Bob drives; the step alice left started comes back interrupted.
    tmux.wait_for(
        1,
        "you drive (lease token 2, live)",
        Duration::from_secs(10),
    );
    tmux.wait_for(1, "was interrupted", Duration::from_secs(10));

    // The killed driver, restarted, only watches; its old token is refused.
    tmux.send(0, &["stty sane; clear", "Enter"]);
    tmux.send(
        0,
        &[
            &format!("{} {BIN} tui --release {id}", team.env_line("alice")),
            "Enter",
        ],
    );
    tmux.wait_for(0, "WATCHING: driven by bob@", Duration::from_secs(30));
    block(async {
        let store = team.store().await;
        let write = JournalEntry::StepStarted {
            release_id: id.clone(),
            step_id: "compile".into(),
            attempt: 7,
            at: 1,
        };
        let err = store
            .apply_as(&write, "alice", "h", Some(1))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Fenced(_)), "{err}");
        let mut raw = team.raw().await;
        let kinds: Vec<String> =
            sqlx::query_scalar("SELECT kind FROM audit_log WHERE release_id = $1 ORDER BY seq")
                .bind(&id)
                .fetch_all(&mut raw)
                .await
                .unwrap();
        assert!(kinds.contains(&"lease_taken_over".to_string()), "{kinds:?}");
        store.close().await;
    });
    tmux.send(0, &["q"]);
    tmux.send(1, &["Escape"]);
    tmux.send(1, &["q"]);
    let v = team.run("alice", &["verify"]);
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn a_paused_driver_that_wakes_after_a_takeover_is_fenced_and_watches() {
    let team = Team::new();
    let rb = team.runbook("pause.yaml", &GATED.replace("seq 1 25", "seq 1 600"));
    let tmux = Tmux::start("team-pause", 2);
    let driver = format!(
        "{} {BIN} tui {} --env staging",
        team.env_line("alice"),
        rb.display()
    );
    tmux.send(0, &[&driver, "Enter"]);
    tmux.wait_for(
        0,
        "you drive (lease token 1, live)",
        Duration::from_secs(30),
    );
    let id = team.latest_release();
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "compiling unit 2", Duration::from_secs(20));
    let watcher = format!("{} {BIN} tui --release {id}", team.env_line("bob"));
    tmux.send(1, &[&watcher, "Enter"]);
    tmux.wait_for(1, "WATCHING: driven by alice@", Duration::from_secs(30));
    let pid = pid_of(&format!("{BIN} tui {}", rb.display())).expect("the driver runs");
    // SAFETY: signals to the pid we just looked up.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    tmux.wait_for(1, "lease EXPIRED", Duration::from_secs(15));
    tmux.send(1, &["T"]);
    tmux.wait_for(1, "Take over release", Duration::from_secs(5));
    tmux.send(1, &["y"]);
    tmux.wait_for(
        1,
        "you drive (lease token 2, live)",
        Duration::from_secs(10),
    );
    // The old driver wakes up holding token 1: refused, it drops to watching.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let s = tmux.wait_for(0, "WATCHING: driven by bob@", Duration::from_secs(10));
    assert!(s.contains("you no longer drive this release"), "{s}");
    assert!(s.contains("took over"), "{s}");
    tmux.send(0, &["q"]);
    tmux.send(1, &["Escape"]);
    tmux.send(1, &["q"]);
    let v = team.run("alice", &["verify"]);
    assert!(v.status.success(), "{}", text(&v));
}
