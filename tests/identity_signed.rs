//! `identity: signed` (issue 10, part 4), with the built binary and real
//! `ssh-keygen` keys: the person of a sign-off (and the initiator) is the
//! key's `allowed_signers` principal whatever FLIGHTDECK_USER says; an
//! unsigned or wrongly signed sign-off is refused; `verify` fails on a
//! sign-off whose required signature is missing or does not cover it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

const RUNBOOK: &str = r#"name: signed-check
environments:
  production:
    identity: signed
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

struct Team {
    dir: tempfile::TempDir,
}

impl Team {
    /// Keys for alice, bob and mallory; only alice and bob are allowed signers.
    fn new() -> Team {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("work")).unwrap();
        std::fs::write(root.join("work/runbook.yaml"), RUNBOOK).unwrap();
        let mut allowed = String::new();
        for who in ["alice", "bob", "mallory"] {
            let key = root.join(format!("{who}_key"));
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", who, "-f"])
                .arg(&key)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            if who != "mallory" {
                let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
                allowed.push_str(&format!("{who} {}", public.trim()));
                allowed.push('\n');
            }
            let config = root.join(format!("config-{who}"));
            std::fs::create_dir_all(&config).unwrap();
            std::fs::write(
                config.join("flightdeck.toml"),
                format!("[identity]\nssh_key = \"{}\"\n", key.display()),
            )
            .unwrap();
        }
        // Someone with no key configured at all.
        std::fs::create_dir_all(root.join("config-nokey")).unwrap();
        for who in ["alice", "bob", "mallory", "nokey"] {
            std::fs::write(root.join(format!("config-{who}/allowed_signers")), &allowed).unwrap();
        }
        Team { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// flightdeck as the holder of `config`'s key, claiming to be `claim`.
    fn run(&self, config: &str, claim: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .current_dir(self.root().join("work"))
            .env(
                "FLIGHTDECK_CONFIG_DIR",
                self.root().join(format!("config-{config}")),
            )
            .env("FLIGHTDECK_DATA_DIR", self.root().join("data"))
            .env("FLIGHTDECK_AUDIT_KEY_FILE", self.root().join("audit.key"))
            .env("FLIGHTDECK_USER", claim)
            .env_remove("FLIGHTDECK_JOURNAL")
            .env_remove("KUBECONFIG")
            .args(args)
            .output()
            .unwrap()
    }

    fn approve(&self, config: &str, claim: &str, release: &str) -> Output {
        self.run(
            config,
            claim,
            &[
                "approve",
                release,
                "--gate",
                "approval",
                "--role",
                "approver",
                "--comment",
                "ok",
            ],
        )
    }

    fn journal(&self) -> PathBuf {
        self.root().join("data/journal.db")
    }

    fn sql(&self, sql: &str) {
        let out = Command::new("sqlite3")
            .arg(self.journal())
            .arg(sql)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn start(team: &Team) -> String {
    // alice starts, claiming to be bob: her key names her.
    let out = team.run(
        "alice",
        "bob",
        &["run", "runbook.yaml", "--headless", "--env", "production"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    first["release"].as_str().unwrap().to_string()
}

#[test]
fn the_key_names_the_person_and_the_initiator_cannot_sign() {
    let team = Team::new();
    // No key: a release with signed gates does not start.
    let out = team.run(
        "nokey",
        "carol",
        &["run", "runbook.yaml", "--headless", "--env", "production"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("identity.ssh_key"), "{}", text(&out));

    let release = start(&team);
    let report = |team: &Team| -> serde_json::Value {
        let out = team.run("alice", "alice", &["report", &release, "--format", "json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(report(&team)["initiator"], "alice");

    // The initiator, under another name, cannot sign her own gate.
    let out = team.approve("alice", "bob", &release);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("you started this release"),
        "{}",
        text(&out)
    );
    // Unsigned (no key) and wrongly signed (a key nobody allowed): refused.
    let out = team.approve("nokey", "bob", &release);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("needs a signed sign-off"),
        "{}",
        text(&out)
    );
    let out = team.approve("mallory", "bob", &release);
    assert!(!out.status.success());
    assert!(text(&out).contains("not in"), "{}", text(&out));
    assert!(report(&team)["signoffs"].as_array().unwrap().is_empty());

    // bob's key names bob, whatever he claims.
    let out = team.approve("bob", "carol", &release);
    assert!(out.status.success(), "{}", text(&out));
    let signoffs = report(&team)["signoffs"].clone();
    assert_eq!(signoffs[0]["person"], "bob", "{signoffs}");
    let identity = report(&team)["signoff_identity"][0].clone();
    assert_eq!(
        (identity["identity"].as_str(), identity["signed"].as_bool()),
        (Some("signed"), Some(true)),
        "{identity}"
    );

    let out = team.run(
        "alice",
        "alice",
        &["run", "--headless", "--release", &release],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(team.root().join("work/shipped.txt").exists());
    let out = team.run("alice", "alice", &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A sign-off written straight into the journal with no signature, and a
    // signed one whose comment was edited: verify names both.
    team.sql(&format!(
        "INSERT INTO signoffs (audit_seq, release_id, gate, person, host, role, decision, \
         comment, approved_hash, at, signature, identity) SELECT 999999, release_id, gate, \
         'carol', host, role, decision, comment, approved_hash, at, NULL, 'claim' \
         FROM signoffs WHERE release_id = '{release}'"
    ));
    let out = team.run("alice", "alice", &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("signature MISSING: carol's sign-off"),
        "{}",
        text(&out)
    );
    team.sql("DELETE FROM signoffs WHERE audit_seq = 999999");
    team.sql(&format!(
        "UPDATE signoffs SET comment = 'edited' WHERE release_id = '{release}'"
    ));
    let out = team.run("alice", "alice", &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("signature BAD: bob's sign-off"),
        "{}",
        text(&out)
    );
}

#[test]
fn identity_modes_parse_with_located_errors() {
    let ok = flightdeck::runbook::parse_str(RUNBOOK, Path::new("signed.yaml")).unwrap();
    use flightdeck::runbook::identity::IdentityMode;
    assert_eq!(
        ok.runbook.identity_mode("production", "approval"),
        IdentityMode::Signed
    );
    assert!(ok.runbook.needs_signed_initiator("production"));
    // A gate's own mode wins over its environment's.
    let gate_wins = RUNBOOK.replace("approver: 1", "approver: 1\n          identity: database");
    let l = flightdeck::runbook::parse_str(&gate_wins, Path::new("g.yaml")).unwrap();
    assert_eq!(
        l.runbook.identity_mode("production", "approval"),
        IdentityMode::Database
    );
    let bad = RUNBOOK.replace("identity: signed", "identity: strong");
    let err = flightdeck::runbook::parse_str(&bad, Path::new("bad.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "bad.yaml:4:15: environments.production.identity: expected claim, signed or database"
        ),
        "{err}"
    );
}

#[test]
fn a_forged_row_does_not_open_a_signed_gate() {
    let team = Team::new();
    let release = start(&team);
    let out = Command::new("sqlite3")
        .arg(team.journal())
        .arg("SELECT json_extract(detail_json, '$.new_hash') FROM audit_log WHERE kind = 'content_recorded'")
        .output()
        .unwrap();
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(hash.len(), 64, "{out:?}");
    // Bound to the right content, claiming bob, with no or a made-up signature.
    for (seq, signature, identity) in [
        (999998, "NULL", "'claim'"),
        (999999, "'forged'", "'signed'"),
    ] {
        team.sql(&format!(
            "INSERT INTO signoffs (audit_seq, release_id, gate, person, host, role, decision, \
             comment, approved_hash, at, signature, identity) VALUES ({seq}, '{release}', \
             'approval', 'bob', 'h', 'approver', 'approve', '', '{hash}', 1, {signature}, {identity})"
        ));
        let out = team.run(
            "alice",
            "alice",
            &["run", "--headless", "--release", &release],
        );
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(!team.root().join("work/shipped.txt").exists());
        team.sql(&format!("DELETE FROM signoffs WHERE audit_seq = {seq}"));
    }
}
