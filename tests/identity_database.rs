//! `identity: database` (issue 10, part 4) on the real PostgreSQL: with the
//! roles of config/sql/team-roles.sql, a session connected as bob cannot
//! record alice (the database refuses it), `approve` records bob whatever
//! FLIGHTDECK_USER says, and `verify` names a sign-off the database did not
//! vouch for. Needs FLIGHTDECK_TEST_DATABASE_URL (a superuser).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");
const VAR: &str = "FLIGHTDECK_TEST_DATABASE_URL";

const RUNBOOK: &str = r#"name: database-check
environments:
  production:
    identity: database
stages:
  - id: main
    title: Main
    steps:
      - id: approval
        gate:
          roles:
            approver: 1
      - id: ship
        command: { run: "touch shipped.txt" }
"#;

/// `url` for `user` (with `password`, or none) and database `db`.
fn url_for(url: &str, user: Option<(&str, &str)>, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = base.split('/').next().unwrap_or("");
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let userinfo = match user {
        Some((u, p)) => format!("{u}:{p}@"),
        None => userinfo.map(|u| format!("{u}@")).unwrap_or_default(),
    };
    format!("{scheme}://{userinfo}{host}/{db}{query}")
}

fn psql(url: &str, sql: &str) -> Output {
    Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn refused(out: &Output, why: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a refusal ({why})");
    assert!(err.contains(why), "expected {why:?} in {err}");
}

struct Fd<'a> {
    dir: &'a Path,
}

impl Fd<'_> {
    fn run(&self, journal: &str, claim: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .current_dir(self.dir.join("work"))
            .env("FLIGHTDECK_CONFIG_DIR", self.dir.join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.join("data"))
            .env("FLIGHTDECK_AUDIT_KEY_FILE", self.dir.join("audit.key"))
            .env("FLIGHTDECK_JOURNAL", journal)
            .env("FLIGHTDECK_USER", claim)
            .env_remove("KUBECONFIG")
            .args(args)
            .output()
            .unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_session_as_bob_cannot_record_alice() {
    let server = std::env::var(VAR).unwrap_or_else(|_| panic!("{VAR} is not set"));
    let n = rand::random::<u32>();
    let db = format!("fd_identity_{n}");
    let (alice, bob) = (format!("fd_alice_{n}"), format!("fd_bob_{n}"));
    let admin = url_for(&server, None, "postgres");
    ok(&psql(&admin, &format!("CREATE DATABASE {db}")));
    let result = std::panic::catch_unwind(|| scenario(&server, &db, &alice, &bob));
    let _ = psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    for role in [&alice, &bob] {
        let _ = psql(&admin, &format!("DROP ROLE IF EXISTS {role}"));
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn scenario(server: &str, db: &str, alice: &str, bob: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();
    std::fs::write(dir.path().join("work/runbook.yaml"), RUNBOOK).unwrap();
    let fd = Fd { dir: dir.path() };
    let owner = url_for(server, None, db);

    // The driver (the database owner here) starts the release: it waits.
    let out = fd.run(
        &owner,
        "driver",
        &["run", "runbook.yaml", "--headless", "--env", "production"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let release = first["release"].as_str().unwrap().to_string();

    // The operator's SQL: the group role, then one login role per person.
    let roles = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sql/team-roles.sql"),
    )
    .unwrap();
    let out = Command::new("psql")
        .arg(&owner)
        .args(["-v", "ON_ERROR_STOP=1", "-q"])
        .arg("-c")
        .arg(&roles)
        .output()
        .unwrap();
    ok(&out);
    for who in [alice, bob] {
        ok(&psql(
            &owner,
            &format!("CREATE ROLE {who} LOGIN PASSWORD 'pw-{who}' IN ROLE flightdeck_approver"),
        ));
    }
    let as_bob = url_for(server, Some((bob, &format!("pw-{bob}"))), db);

    // bob, connected as himself, cannot write a row in alice's name, nor
    // rewrite or unprotect the record.
    let insert = |person: &str, identity: &str, db_user: &str| {
        format!(
            "INSERT INTO signoffs (audit_seq, release_id, gate, person, host, role, decision, \
             comment, approved_hash, at, identity, db_user) VALUES (999999, '{release}', \
             'approval', '{person}', 'h', 'approver', 'approve', '', 'x', 1, '{identity}', \
             {db_user})"
        )
    };
    refused(
        &psql(&as_bob, &insert(alice, "database", "DEFAULT")),
        "a database-identity sign-off is by the session's role",
    );
    refused(
        &psql(&as_bob, &insert(alice, "claim", &format!("'{alice}'"))),
        "is not this session's role",
    );
    refused(
        &psql(&as_bob, "UPDATE signoffs SET person = 'x'"),
        "permission denied",
    );
    refused(&psql(&as_bob, "DELETE FROM audit_log"), "permission denied");
    refused(
        &psql(&as_bob, "DROP TRIGGER signoffs_db_user ON signoffs"),
        "must be owner",
    );

    // A row the database owner writes straight into the table, bound to
    // the right content but with no database identity, opens nothing.
    let hash = ok(&psql(
        &owner,
        "SELECT CAST(detail_json AS json)->>'new_hash' FROM audit_log WHERE kind = 'content_recorded'",
    ));
    ok(&psql(
        &owner,
        &insert("carol", "claim", "DEFAULT").replace("'x'", &format!("'{hash}'")),
    ));
    let out = fd.run(
        &owner,
        "driver",
        &["run", "--headless", "--release", &release],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!dir.path().join("work/shipped.txt").exists());
    ok(&psql(
        &owner,
        "DELETE FROM signoffs WHERE audit_seq = 999999",
    ));

    // `approve` as bob records bob, whatever FLIGHTDECK_USER claims.
    let out = fd.run(
        &as_bob,
        alice,
        &[
            "approve", &release, "--gate", "approval", "--role", "approver",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let person = ok(&psql(
        &owner,
        &format!(
            "SELECT person || ' ' || db_user || ' ' || identity FROM signoffs WHERE release_id = '{release}'"
        ),
    ));
    assert_eq!(person, format!("{bob} {bob} database"));

    // The sign-off opens the gate; verify agrees.
    let out = fd.run(
        &owner,
        "driver",
        &["run", "--headless", "--release", &release],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join("work/shipped.txt").exists());
    let out = fd.run(&owner, "driver", &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A claimed sign-off written by another role for a database gate (here
    // by the owner, who could also drop the trigger): verify names it.
    ok(&psql(&owner, &insert("carol", "claim", "DEFAULT")));
    let out = fd.run(&owner, "driver", &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("database identity NOT proven: carol's sign-off"),
        "{}",
        text(&out)
    );
}

#[test]
fn database_identity_needs_a_postgresql_journal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();
    std::fs::write(dir.path().join("work/runbook.yaml"), RUNBOOK).unwrap();
    let fd = Fd { dir: dir.path() };
    let journal = dir.path().join("journal.db").display().to_string();
    let out = fd.run(
        &journal,
        "alice",
        &["run", "runbook.yaml", "--headless", "--env", "production"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("needs a PostgreSQL journal"),
        "{}",
        text(&out)
    );
}
