//! The attacks on the record (TRUST.md: "anyone with the SQLite file or a
//! PostgreSQL login"), played through the real binary. Included by
//! tests/record_sqlite.rs and tests/record_postgres.rs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use sqlx::{AnyConnection, Connection};

pub const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

pub const GATED: &str = r#"
name: gated
stages:
  - id: s
    steps:
      - id: build
        command: 'echo build'
      - id: approval
        gate: { roles: { approver: 1 } }
      - id: ship
        command: 'echo ship'
"#;

pub const TINY: &str = r#"
name: tiny
stages:
  - id: s
    steps:
      - id: a
        command: 'echo a'
      - id: b
        command: 'echo b'
"#;

/// One journal, people with their own config and state dirs (their own
/// machines), one shared audit key.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// `FLIGHTDECK_JOURNAL`.
    pub journal: String,
    /// For raw SQL from outside flightdeck.
    pub raw_url: String,
    pub postgres: bool,
}

pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl Sandbox {
    pub fn sqlite() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        Sandbox {
            journal: path.display().to_string(),
            raw_url: format!("sqlite://{}", path.display()),
            dir,
            postgres: false,
        }
    }

    pub fn postgres(url: String) -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            journal: url.clone(),
            raw_url: url,
            postgres: true,
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("audit.key")
    }

    pub fn state_dir(&self, user: &str) -> PathBuf {
        self.dir.path().join(user).join("state")
    }

    pub fn run(&self, user: &str, args: &[&str]) -> Output {
        let home = self.dir.path().join(user);
        Command::new(BIN)
            .env("FLIGHTDECK_CONFIG_DIR", home.join("config"))
            .env("FLIGHTDECK_DATA_DIR", home.join("data"))
            .env("FLIGHTDECK_STATE_DIR", self.state_dir(user))
            .env("FLIGHTDECK_USER", user)
            .env("FLIGHTDECK_JOURNAL", &self.journal)
            .env("FLIGHTDECK_AUDIT_KEY_FILE", self.key_file())
            .args(args)
            .output()
            .unwrap()
    }

    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Statements on the journal, as someone with a database login.
    pub fn exec(&self, statements: &[&str]) {
        block(async {
            sqlx::any::install_default_drivers();
            let mut c = AnyConnection::connect(&self.raw_url).await.unwrap();
            for sql in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            c.close().await.unwrap();
        })
    }

    pub fn scalar(&self, sql: &str) -> i64 {
        block(async {
            sqlx::any::install_default_drivers();
            let mut c = AnyConnection::connect(&self.raw_url).await.unwrap();
            let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
            v
        })
    }

    /// Remove the append-only guard, as an attacker would.
    pub fn unguard(&self) {
        if self.postgres {
            self.exec(&["DROP TRIGGER audit_log_no_change ON audit_log"]);
        } else {
            self.exec(&[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
            ]);
        }
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn release_of(o: &Output) -> String {
    let first = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let v: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|_| panic!("{}", text(o)));
    v["release"].as_str().unwrap().to_string()
}

/// A sign-off row copied by SQL to another release opens nothing, `show`
/// does not list it, and `verify` names it.
pub fn forged_signoff_row_opens_nothing(sb: &Sandbox) {
    let rb = sb.file("gated.yaml", GATED);
    let first = sb.run("alice", &["run", &rb, "--headless", "--new"]);
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    let a = release_of(&first);
    let ok = sb.run(
        "bob",
        &[
            "approve",
            &a,
            "--gate",
            "approval",
            "--role",
            "approver",
            "--comment",
            "ok",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let done = sb.run("alice", &["run", "--headless", "--release", &a]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    assert_eq!(sb.run("alice", &["verify"]).status.code(), Some(0));

    let second = sb.run("alice", &["run", &rb, "--headless", "--new"]);
    assert_eq!(second.status.code(), Some(3), "{}", text(&second));
    let b = release_of(&second);
    // Same runbook, environment and inputs: the copied row carries the
    // very approved hash release B's gate wants.
    sb.exec(&[&format!(
        "INSERT INTO signoffs (audit_seq, release_id, gate, person, host, role, decision, \
         comment, approved_hash, at, signature) SELECT audit_seq + 100000, '{b}', gate, person, \
         host, role, decision, comment, approved_hash, at, signature FROM signoffs \
         WHERE release_id = '{a}'"
    )]);
    assert_eq!(
        sb.scalar(&format!(
            "SELECT COUNT(*) FROM signoffs WHERE release_id = '{b}'"
        )),
        1
    );

    let again = sb.run("alice", &["run", "--headless", "--release", &b]);
    assert_eq!(
        again.status.code(),
        Some(3),
        "the gate stays closed: {}",
        text(&again)
    );
    let show = sb.run("alice", &["show", &b]);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        !shown.contains("bob"),
        "a forged sign-off is listed:\n{shown}"
    );
    let verify = sb.run("carol", &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let out = text(&verify);
    assert!(
        out.contains(&format!(
            "signoffs row for release {b} gate approval by bob: no audit entry records it"
        )),
        "{out}"
    );
    assert!(
        out.contains("audit log intact"),
        "the chain itself holds: {out}"
    );
}

/// Deleting the newest audit entries is caught by the machine that wrote
/// them (its witness), naming the entry it saw.
pub fn deleted_tail_is_caught_by_the_witness(sb: &Sandbox) {
    let rb = sb.file("tiny.yaml", TINY);
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let verify = sb.run("alice", &["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let head = sb.scalar("SELECT MAX(seq) FROM audit_log");
    assert!(head >= 4, "{head}");
    let witness = std::fs::read_dir(sb.state_dir("alice").join("witness"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    assert_eq!(saw["seq"].as_i64(), Some(head));

    sb.unguard();
    sb.exec(&[&format!("DELETE FROM audit_log WHERE seq > {}", head - 2)]);
    let verify = sb.run("alice", &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let out = text(&verify);
    assert!(
        out.contains(&format!("saw audit entry {head}")) && out.contains("no longer holds it"),
        "{out}"
    );
    // The evidence stays: a later command does not move the witness on.
    let _ = sb.run("alice", &["releases"]);
    let saw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    assert_eq!(saw["seq"].as_i64(), Some(head));
}

/// Two edited entries, one in the middle and one later: both named, each
/// once (the walk re-anchors on the stored MAC).
pub fn every_edited_entry_is_named(sb: &Sandbox) {
    let rb = sb.file("tiny.yaml", TINY);
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let head = sb.scalar("SELECT MAX(seq) FROM audit_log");
    sb.unguard();
    sb.exec(&[
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
        &format!(
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = {}",
            head - 1
        ),
    ]);
    let verify = sb.run("alice", &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let out = text(&verify);
    assert_eq!(out.matches("does not match its MAC").count(), 2, "{out}");
    assert!(out.contains("audit entry 3 does not match"), "{out}");
    assert!(
        out.contains(&format!("audit entry {} does not match", head - 1)),
        "{out}"
    );
}

/// With an existing journal and no key file, commands stop (exit 2) and
/// create no key.
pub fn a_missing_key_stops_commands(sb: &Sandbox) {
    let rb = sb.file("tiny.yaml", TINY);
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_file(sb.key_file()).unwrap();
    for args in [
        vec!["verify"],
        vec!["releases"],
        vec!["run", rb.as_str(), "--headless", "--new"],
    ] {
        let out = sb.run("alice", &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let t = text(&out);
        assert!(
            t.contains(&sb.key_file().display().to_string())
                && t.contains("FLIGHTDECK_AUDIT_KEY_FILE"),
            "{t}"
        );
        assert!(!sb.key_file().exists(), "{args:?} created a new key");
    }
}
