//! Team mode features that need no server, end to end through the binary
//! on SQLite: environment policy (earlier environment passed, freezes,
//! break-glass), soak and expiry of gates, `releases --waiting-for-me`,
//! and SSH evidence signing checked by `verify`.

use std::path::PathBuf;
use std::process::{Command, Output};

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

    fn config(&self, user: &str) -> PathBuf {
        self.dir.path().join(user).join("config")
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .env("FLIGHTDECK_CONFIG_DIR", self.config(user))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", user)
            .env(
                "FLIGHTDECK_AUDIT_KEY_FILE",
                self.dir.path().join("audit.key"),
            )
            .env_remove("FLIGHTDECK_JOURNAL")
            .args(args)
            .output()
            .unwrap()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("data/journal.db")
    }

    fn query(&self, sql: &str) -> Vec<String> {
        let url = format!("sqlite://{}", self.journal().display());
        let sql = sql.to_string();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                use sqlx::Connection;
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
            })
    }

    fn exec(&self, sql: &str) {
        let url = format!("sqlite://{}", self.journal().display());
        let sql = sql.to_string();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                use sqlx::Connection;
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
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

fn release_of(o: &Output) -> String {
    let first = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let v: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|_| panic!("{}", text(o)));
    v["release"].as_str().unwrap().to_string()
}

const POLICY: &str = r#"
name: promote
environments:
  staging: {}
  production:
    requires: { passed: staging, same_inputs: [version] }
    freezes:
      - { from: "2000-01-01", to: "2100-01-01", reason: "holiday freeze" }
inputs:
  version:
    pattern: '^\d+\.\d+$'
  note:
    default: "-"
stages:
  - id: s
    steps:
      - id: ship
        command: 'echo shipping ${inputs.version}'
"#;

#[test]
fn production_needs_staging_first_and_freezes_need_break_glass() {
    let sb = Sandbox::new();
    let rb = sb.file("promote.yaml", POLICY);
    let prod = |extra: &[&str]| {
        let mut args = vec![
            "run",
            rb.as_str(),
            "--headless",
            "--env",
            "production",
            "--set",
            "version=2.0",
            "--new",
        ];
        args.extend_from_slice(extra);
        sb.run("alice", &args)
    };
    let out = prod(&["--break-glass", "hotfix"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no release with version=2.0 has succeeded in staging yet"),
        "{}",
        text(&out)
    );
    let staged = sb.run(
        "alice",
        &[
            "run",
            &rb,
            "--headless",
            "--env",
            "staging",
            "--set",
            "version=2.0",
            "--set",
            "note=x",
        ],
    );
    assert_eq!(staged.status.code(), Some(0), "{}", text(&staged));
    // Staging passed with version 2.0 (the note may differ); the freeze holds.
    let out = prod(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("inside a change freeze until 2100-01-01"), "{t}");
    assert!(
        t.contains("holiday freeze") && t.contains("--break-glass"),
        "{t}"
    );
    let out = prod(&["--break-glass", "outage: customers cannot log in"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("BREAK-GLASS"), "{}", text(&out));
    let id = release_of(&out);
    let details = sb.query(&format!(
        "SELECT detail_json FROM audit_log WHERE kind = 'break_glass' AND release_id = '{id}'"
    ));
    assert_eq!(details.len(), 1);
    assert!(
        details[0].contains("customers cannot log in"),
        "{details:?}"
    );
    assert!(details[0].contains("holiday freeze"), "{details:?}");
    assert!(sb.run("alice", &["verify"]).status.success());
}

const SOAK: &str = r#"
name: soak
roles:
  security: [carol]
stages:
  - id: s
    steps:
      - id: approval
        gate:
          roles: { approver: 1, security: 1 }
          soak: 2s
      - id: done
        command: 'echo done'
"#;

/// Each refused sign-off says why and what to do (`Suggestion:`), with
/// the exit code of its kind: bad input 2, refused 1.
#[test]
fn a_refused_signoff_says_what_to_do() {
    let sb = Sandbox::new();
    let rb = sb.file("soak.yaml", SOAK);
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = release_of(&out);
    let cases: [(&str, Vec<&str>, i32, &str, &str); 6] = [
        (
            "bob",
            vec![
                "approve",
                "no-such-release",
                "--gate",
                "approval",
                "--role",
                "approver",
            ],
            2,
            "no release \"no-such-release\" in the journal",
            "Suggestion: `flightdeck releases` lists the releases in",
        ),
        (
            "bob",
            vec!["approve", &id, "--gate", "nope", "--role", "approver"],
            2,
            "runbook soak has no step \"nope\"",
            "Suggestion: name a gate with --gate; the runbook's gates: approval",
        ),
        (
            "bob",
            vec!["approve", &id, "--gate", "done", "--role", "approver"],
            2,
            "step \"done\" is a command, not a gate",
            "the runbook's gates: approval",
        ),
        (
            "bob",
            vec!["approve", &id, "--gate", "approval", "--role", "security"],
            1,
            "not listed in role \"security\" (claim identity: bob)",
            "Suggestion: who may sign as security: carol",
        ),
        (
            "alice",
            vec!["approve", &id, "--gate", "approval", "--role", "approver"],
            1,
            "you started this release, so you cannot sign it off",
            "Suggestion: ask someone else to sign off",
        ),
        (
            "bob",
            vec!["reject", &id, "--gate", "approval", "--role", "approver"],
            1,
            "a rejection needs a reason",
            "Suggestion: say why with --comment",
        ),
    ];
    for (user, args, code, message, suggestion) in cases {
        let out = sb.run(user, &args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {t}");
        assert!(t.contains(message), "{args:?}: {t}");
        assert!(t.contains(suggestion), "{args:?}: {t}");
    }
    // Nothing refused was recorded.
    assert!(sb.query("SELECT person FROM signoffs").is_empty());
}

/// A gate not reached yet takes a sign-off (with a note); one the release
/// has passed takes none.
#[test]
fn a_gate_ahead_takes_a_signoff_and_a_passed_one_does_not() {
    let sb = Sandbox::new();
    let rb = sb.file(
        "two.yaml",
        "name: two\nstages:\n  - id: s\n    steps:\n      - id: first\n        gate: { roles: { approver: 1 } }\n      - id: second\n        gate: { roles: { approver: 1 } }\n      - id: hold\n        manual:\n          items: [look]\n",
    );
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = release_of(&out);
    let ahead = sb.run(
        "bob",
        &["approve", &id, "--gate", "second", "--role", "approver"],
    );
    assert_eq!(ahead.status.code(), Some(0), "{}", text(&ahead));
    assert!(
        text(&ahead)
            .contains("note: gate second is not waiting yet (the release is at step first)"),
        "{}",
        text(&ahead)
    );
    let ok = sb.run(
        "bob",
        &["approve", &id, "--gate", "first", "--role", "approver"],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    // Both gates pass (the one ahead on its earlier sign-off); the manual
    // step holds the release open.
    let out = sb.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains(r#""step":"second","status":"succeeded""#)
            && text(&out).contains(r#""waiting","step":"hold""#),
        "{}",
        text(&out)
    );
    let late = sb.run(
        "carol",
        &[
            "reject",
            &id,
            "--gate",
            "first",
            "--role",
            "approver",
            "--comment",
            "late",
        ],
    );
    let t = text(&late);
    assert_eq!(late.status.code(), Some(1), "{t}");
    assert!(
        t.contains("gate first of release") && t.contains("is over (succeeded)"),
        "{t}"
    );
    assert!(t.contains("Suggestion: `flightdeck show"), "{t}");
    assert_eq!(sb.query("SELECT person FROM signoffs").len(), 2);
}

#[test]
fn soak_waits_then_opens_and_waiting_for_me_lists_gates() {
    let sb = Sandbox::new();
    let rb = sb.file("soak.yaml", SOAK);
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = release_of(&out);
    // bob may sign as approver only (security is carol's); alice started it.
    let mine = sb.run("bob", &["releases", "--waiting-for-me"]);
    let t = text(&mine);
    assert!(
        t.contains(&id) && t.contains("you may sign as approver"),
        "{t}"
    );
    assert!(!t.contains("approver or security"), "{t}");
    let none = text(&sb.run("alice", &["releases", "--waiting-for-me"]));
    assert!(none.contains("nothing is waiting for alice"), "{none}");
    let refused = sb.run(
        "bob",
        &["approve", &id, "--gate", "approval", "--role", "security"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("not listed in role \"security\""),
        "{}",
        text(&refused)
    );
    let ok = sb.run(
        "bob",
        &["approve", &id, "--gate", "approval", "--role", "approver"],
    );
    assert!(
        text(&ok).contains("still needed: 1 × security"),
        "{}",
        text(&ok)
    );
    let ok = sb.run(
        "carol",
        &["approve", &id, "--gate", "approval", "--role", "security"],
    );
    assert!(text(&ok).contains("all sign-offs are in"), "{}", text(&ok));
    // Counts met: the soak holds the gate for 2 s.
    let out = sb.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("soaking, opens in"), "{}", text(&out));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = sb.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn an_expired_gate_fails_the_release_with_its_reason() {
    let sb = Sandbox::new();
    let rb = sb.file(
        "exp.yaml",
        "name: exp\nstages:\n  - id: s\n    steps:\n      - id: approval\n        gate:\n          roles: { approver: 2 }\n          expires: 1s\n",
    );
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let id = release_of(&out);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let out = sb.run("alice", &["run", "--headless", "--release", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("gate expired: still missing 2 × approver after 1.0s of waiting"),
        "{}",
        text(&out)
    );
}

#[test]
fn ssh_signed_signoffs_are_verified() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        panic!(
            "ssh-keygen is required for the evidence-signing test (apt-get install openssh-client)"
        );
    }
    let sb = Sandbox::new();
    let key = sb.dir.path().join("bob_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bob", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::create_dir_all(sb.config("bob")).unwrap();
    std::fs::create_dir_all(sb.config("alice")).unwrap();
    std::fs::write(
        sb.config("bob").join("flightdeck.toml"),
        format!("[identity]\nssh_key = \"{}\"\n", key.display()),
    )
    .unwrap();
    std::fs::write(
        sb.config("alice").join("allowed_signers"),
        format!("bob {public}"),
    )
    .unwrap();
    let rb = sb.file(
        "signed.yaml",
        "name: signed\nstages:\n  - id: s\n    steps:\n      - id: approval\n        gate:\n          roles: { approver: 1 }\n",
    );
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    let id = release_of(&out);
    let ok = sb.run(
        "bob",
        &["approve", &id, "--gate", "approval", "--role", "approver"],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("signed with your SSH key"),
        "{}",
        text(&ok)
    );
    let sig = sb.query("SELECT signature FROM signoffs");
    assert!(sig[0].contains("BEGIN SSH SIGNATURE"), "{sig:?}");
    let v = sb.run("alice", &["verify"]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(
        text(&v).contains("sign-off signatures valid: 1"),
        "{}",
        text(&v)
    );
    // Someone rewrites what was approved: the signature no longer matches.
    sb.exec("UPDATE signoffs SET approved_hash = 'f00d' || approved_hash");
    let v = sb.run("alice", &["verify"]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    assert!(
        text(&v).contains("signature BAD: bob's sign-off of gate approval"),
        "{}",
        text(&v)
    );
}

// ---------------------------------------------------------------- tmux

fn tmux(args: &[&str]) -> String {
    let o = Command::new("tmux").args(args).output().unwrap();
    assert!(o.status.success(), "tmux {args:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn wait_for(target: &str, text: &str, secs: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let s = tmux(&["capture-pane", "-p", "-t", target]);
        if s.contains(text) {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{text:?} did not appear in {target}; screen:\n{s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_watcher_follows_the_driver_on_sqlite_too() {
    let sb = Sandbox::new();
    let rb = sb.file(
        "live.yaml",
        "name: live\nstages:\n  - id: s\n    steps:\n      - id: compile\n        title: Compile\n        command: 'for i in $(seq 1 40); do echo \"compiling unit $i\"; sleep 0.2; done'\n",
    );
    let session = format!("fd-team-sqlite-{}", std::process::id());
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "180",
        "-y",
        "45",
        "bash --norc --noprofile",
    ]);
    tmux(&["new-window", "-t", &session, "bash --norc --noprofile"]);
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .status();
        }
    }
    let _kill = Kill(session.clone());
    let env = |user: &str| {
        format!(
            "FLIGHTDECK_CONFIG_DIR={} FLIGHTDECK_DATA_DIR={} FLIGHTDECK_USER={user} FLIGHTDECK_AUDIT_KEY_FILE={}",
            sb.config(user).display(),
            sb.dir.path().join("data").display(),
            sb.dir.path().join("audit.key").display()
        )
    };
    let (p0, p1) = (format!("{session}:0"), format!("{session}:1"));
    tmux(&[
        "send-keys",
        "-t",
        &p0,
        &format!("{} {BIN} tui {rb}", env("alice")),
        "Enter",
    ]);
    wait_for(&p0, "you drive (lease token 1)", 30);
    let id = String::from_utf8_lossy(&sb.run("alice", &["releases"]).stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    tmux(&[
        "send-keys",
        "-t",
        &p1,
        &format!("{} {BIN} tui --release {id}", env("bob")),
        "Enter",
    ]);
    wait_for(&p1, "WATCHING: driven by alice@", 30);
    tmux(&["send-keys", "-t", &p0, "g"]);
    wait_for(&p0, "compiling unit 3", 20);
    wait_for(&p1, "compiling unit 8", 5);
    tmux(&["send-keys", "-t", &p0, "q"]);
    // The driver quit mid-step (cancelled, journaled): the watcher sees the
    // lease given back and may drive.
    tmux(&["send-keys", "-t", &p0, "y"]);
    wait_for(&p1, "nobody drives (the driver quit)", 10);
    tmux(&["send-keys", "-t", &p1, "q"]);
}
