//! Values are data (TRUST.md rule 5), played as the attacker: an input that
//! looks like shell code is echoed as text and runs nothing, control
//! characters are refused where people type them, and what the journal
//! holds is printed by the CLI without a single escape byte. Files are
//! private under umask 022.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flightdeck::backend::store::{AuditKey, Store};
use flightdeck::protocol::command::JournalEntry;
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::interpolate::Scope;
use flightdeck::runbook::progress::Release;
use flightdeck::runbook::template::Templated;
use flightdeck::runbook::{self, CommandSpec, Program, StepAction};

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

/// Hostile values, each of which would create `marker` if it ran as shell.
fn hostile(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x; touch {m}"),
        format!("' ; touch {m} ; '"),
        format!("\" ; touch {m} ; \""),
        format!("a && touch {m} || b > {m}"),
        "$HOME ${HOME} * ? [a] ~ \\ \\' '' !".to_string(),
    ]
}

fn sh(script: &str, dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn command(run: &str) -> StepAction {
    StepAction::Command(CommandSpec {
        program: Program::Shell(run.into()),
        env: BTreeMap::new(),
        cwd: None,
        grace: std::time::Duration::from_secs(1),
        background: false,
    })
}

#[test]
fn a_value_in_run_is_one_shell_word_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("F");
    for value in hostile(&marker) {
        let mut scope = Scope::default();
        scope.inputs.insert("x".into(), value.clone());
        let StepAction::Command(c) = command(r"printf '%s\n' ${inputs.x} pre-${inputs.x}-post")
            .render(&scope)
            .unwrap()
        else {
            unreachable!()
        };
        let Program::Shell(script) = c.program else {
            unreachable!()
        };
        assert_eq!(
            sh(&script, dir.path()),
            format!("{value}\npre-{value}-post\n"),
            "{script}"
        );
        assert!(!marker.exists(), "{value:?} ran as shell: {script}");
        // argv elements get the raw value: no shell is involved.
        let argv = StepAction::Command(CommandSpec {
            program: Program::Argv(vec!["echo".into(), "${inputs.x}".into()]),
            ..match command("") {
                StepAction::Command(c) => c,
                _ => unreachable!(),
            }
        });
        let StepAction::Command(c) = argv.render(&scope).unwrap() else {
            unreachable!()
        };
        assert_eq!(c.program, Program::Argv(vec!["echo".into(), value.clone()]));
    }
}

/// A word built from text and a value is the same word as before quoting.
#[test]
fn words_around_a_value_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut scope = Scope::default();
    scope.inputs.insert("tag".into(), "v1.2.3".into());
    scope
        .inputs
        .insert("reg".into(), "registry.local:5000".into());
    let StepAction::Command(c) = command(
        r#"printf '%s\n' image:${inputs.tag} --set image.tag=${inputs.tag} ${inputs.reg}/"api":${inputs.tag}"#,
    )
    .render(&scope)
    .unwrap() else {
        unreachable!()
    };
    let Program::Shell(script) = c.program else {
        unreachable!()
    };
    assert_eq!(
        sh(&script, dir.path()),
        "image:v1.2.3\n--set\nimage.tag=v1.2.3\nregistry.local:5000/api:v1.2.3\n"
    );
}

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary under `umask 022`, as a new user's shell would run it.
    fn run(&self, user: &str, args: &[&str]) -> Output {
        self.run_on(None, user, args)
    }

    /// `run` with the journal at `journal` (default: the data dir's SQLite).
    fn run_on(&self, journal: Option<&str>, user: &str, args: &[&str]) -> Output {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("umask 022; exec \"$@\"")
            .arg("sh")
            .arg(BIN)
            .args(args)
            .current_dir(self.dir.path())
            .env("FLIGHTDECK_CONFIG_DIR", self.path("config"))
            .env("FLIGHTDECK_DATA_DIR", self.path("data"))
            .env("FLIGHTDECK_USER", user)
            .env_remove("FLIGHTDECK_JOURNAL");
        if let Some(j) = journal {
            c.env("FLIGHTDECK_JOURNAL", j);
        }
        c.output().unwrap()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const ECHO_RUNBOOK: &str = r#"
name: values
environments:
  staging: {}
inputs:
  a: { pattern: '.*' }
  b: { pattern: '.*' }
  c: { pattern: '.*' }
  d: { pattern: '.*' }
  e: { pattern: '.*' }
  f: { pattern: '.*' }
  g: { pattern: '.*' }
stages:
  - id: main
    title: Main
    steps:
      - id: echo
        title: Echo every value
        command:
          run: |
            printf '%s %s\n' A ${inputs.a}
            printf '%s %s\n' B ${inputs.b}
            printf '%s %s\n' C ${inputs.c}
            printf '%s %s\n' D ${inputs.d}
            printf '%s %s\n' E ${inputs.e}
            printf '%s %s\n' F ${inputs.f}
            printf '%s %s\n' G ${inputs.g}
"#;

#[test]
fn headless_run_echoes_hostile_inputs_as_text() {
    let sb = Sandbox::new();
    let rb = sb.write("values.yaml", ECHO_RUNBOOK);
    let marker = sb.path("F");
    let values = hostile(&marker);
    let sets: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .zip(&values)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut args = vec!["run", rb.to_str().unwrap(), "--headless"];
    for s in &sets {
        args.push("--set");
        args.push(s);
    }
    let out = sb.run("alice", &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "output")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect();
    for (k, v) in ["A", "B", "C", "D", "E", "F", "G"].iter().zip(&values) {
        let want = format!("{k} {v}");
        assert!(lines.contains(&want), "{want:?} not in {lines:?}");
    }
    assert!(!marker.exists(), "an input ran as shell code");
    assert_private(&sb);
}

#[test]
fn control_characters_are_refused_where_they_are_entered() {
    let sb = Sandbox::new();
    let rb = sb.write("values.yaml", ECHO_RUNBOOK);
    let rb = rb.to_str().unwrap();
    for bad in ["a\x1b[2Jb", "line\nbreak", "x\u{202e}y", "bell\x07"] {
        let set = format!("a={bad}");
        let out = sb.run("alice", &["run", rb, "--headless", "--set", &set]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("input \"a\" contains"), "{err}");
        assert!(!out.stderr.contains(&0x1b), "{err}");
    }
    // A person's name, from FLIGHTDECK_USER.
    for bad in ["eve\x1b]2;x\x07", "eve\nmallory"] {
        let out = sb.run(bad, &["releases"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("FLIGHTDECK_USER contains"),
            "{}",
            text(&out)
        );
    }
    // ... and from identity.person in the config file.
    std::fs::create_dir_all(sb.path("config")).unwrap();
    sb.write(
        "config/flightdeck.toml",
        "[identity]\nperson = \"eve\\u001b[2J\"\n",
    );
    let out = sb.run_on(None, "", &["releases"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("identity.person in"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(sb.path("config/flightdeck.toml")).unwrap();
    // An argument the command line refuses is quoted back clean.
    let out = sb.run("alice", &["show", "x", "--bogus\x1b]2;pwned\x07\x1b[2J"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
    assert!(!out.stderr.contains(&0x1b), "{}", text(&out));
    // A sign-off comment.
    let out = sb.run(
        "bob",
        &[
            "approve",
            "r-none",
            "--gate",
            "g",
            "--role",
            "r",
            "--comment",
            "ok\x1b[2J",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--comment contains"));
    assert!(!out.stderr.contains(&0x1b));
}

const GATE_RUNBOOK: &str = r#"
name: journal-values
environments:
  staging: {}
inputs:
  note: { default: plain }
stages:
  - id: main
    title: Main
    steps:
      - id: build
        title: Build
        command:
          run: echo build
      - id: approval
        title: Approval
        gate:
          roles:
            approver: 1
"#;

const EVIL: &str = "\x1b]2;pwned\x07\x1b[2J";

/// What reached the journal by another way (an older version, a script with
/// the library, a database login) is still printed clean.
#[tokio::test]
async fn show_report_and_releases_print_no_escape_bytes() {
    let sb = Sandbox::new();
    let journal = sb.path("data/journal.db").display().to_string();
    hostile_journal_prints_clean(&sb, &journal, None).await;
}

/// The same on a PostgreSQL journal (a fresh database, dropped after).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_report_and_releases_print_no_escape_bytes_on_postgres() {
    use sqlx::Connection;
    let server = std::env::var("FLIGHTDECK_TEST_DATABASE_URL")
        .expect("FLIGHTDECK_TEST_DATABASE_URL: source /work/services.env or tests/support/start-postgres.sh");
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    let name = format!("fd_values_{}", rand::random::<u32>());
    let create = format!("CREATE DATABASE {name}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, query) = server.split_once('?').unwrap_or((server.as_str(), ""));
    let host_end = base
        .rfind('/')
        .filter(|&i| i > base.find("://").unwrap() + 2);
    let url = format!(
        "{}/{name}{}",
        &base[..host_end.unwrap_or(base.len())],
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let sb = Sandbox::new();
    hostile_journal_prints_clean(&sb, &url, Some(&url)).await;
    let drop = format!("DROP DATABASE {name} WITH (FORCE)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&mut admin)
        .await
        .unwrap();
}

async fn hostile_journal_prints_clean(sb: &Sandbox, target: &str, journal: Option<&str>) {
    let rb_path = sb.write("journal-values.yaml", GATE_RUNBOOK);
    let rb = runbook::parse_str(GATE_RUNBOOK, &rb_path).unwrap().runbook;
    sqlx::any::install_default_drivers();
    let key = AuditKey::load_or_create(&sb.path("config/audit.key")).unwrap();
    let store = Store::open(target, key).await.unwrap();
    let rid = "r20260101-000000-e5c4";
    let inputs = BTreeMap::from([("note".to_string(), format!("a{EVIL}b|c\nd"))]);
    let release = Release::new(
        rid.into(),
        &rb,
        "hash".into(),
        format!("staging{EVIL}"),
        inputs,
        format!("alice{EVIL}"),
        1_000,
    );
    let entries = vec![
        JournalEntry::ReleaseStarted {
            release: Box::new(release),
            runbook_path: rb_path.display().to_string(),
        },
        JournalEntry::StepStarted {
            release_id: rid.into(),
            step_id: "build".into(),
            attempt: 1,
            at: 2_000,
        },
        JournalEntry::StepFinished {
            release_id: rid.into(),
            step_id: "build".into(),
            attempt: 1,
            status: "failed".into(),
            exit_code: Some(1),
            detail: Some(format!("boom{EVIL}|x\ny")),
            at: 3_000,
            output: vec![format!("out{EVIL}")],
        },
        JournalEntry::Signoff {
            release_id: rid.into(),
            signoff: Signoff {
                gate: "approval".into(),
                person: format!("bob{EVIL}"),
                host: format!("host{EVIL}"),
                role: "approver".into(),
                decision: Decision::Approve,
                comment: format!("ship it{EVIL}|pipe\nnext line"),
                approved_hash: "0123456789abcdef0123".into(),
                at: 4_000,
            },
        },
    ];
    for e in &entries {
        store.apply(e, "alice", "laptop").await.unwrap();
    }
    store.close().await;

    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("show", vec!["show", rid]),
        ("report md", vec!["report", rid, "--format", "md"]),
        ("report json", vec!["report", rid, "--format", "json"]),
        ("report yaml", vec!["report", rid, "--format", "yaml"]),
        ("releases", vec!["releases"]),
    ];
    for (what, args) in runs {
        let out = sb.run_on(journal, "carol", &args);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out));
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !bytes.iter().any(|&b| b == 0x1b || b == 0x07),
                "{what} {stream} has an escape byte: {}",
                text(&out)
            );
        }
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("staging␛␛"), "{what}: {s}");
        if what == "show" || what == "report md" {
            // A table cell stays one cell on one row.
            assert!(s.contains("ship it␛␛\\|pipe<br>next line"), "{what}: {s}");
            assert!(s.contains("boom␛␛\\|x<br>y"), "{what}: {s}");
        }
        if what == "report json" {
            let v: serde_json::Value = serde_json::from_str(&s).unwrap();
            let comment = v["signoffs"][0]["comment"].as_str().unwrap();
            assert!(!comment.contains(['\x1b', '\x07']), "{comment:?}");
        }
    }
}

/// `validate` flags a value inside quotes in `run:` (it would be quoted
/// twice) and warns, exit 0, about an input with neither pattern nor type.
#[test]
fn validate_flags_quoted_values_and_warns_about_unconstrained_inputs() {
    let sb = Sandbox::new();
    let warn = sb.write(
        "warn.yaml",
        r#"name: warn
environments: { staging: {} }
inputs:
  free: { default: x }
  typed: { type: integer, default: "1" }
  patterned: { pattern: '[a-z]+', default: x }
stages:
  - id: main
    title: Main
    steps:
      - id: go
        command: { run: "echo ${inputs.free} ${inputs.typed} ${inputs.patterned}" }
"#,
    );
    let out = sb.run("alice", &["validate", warn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "{}:11:9: stages[0].steps[0].command.run: warning: uses ${{inputs.free}}",
        warn.display()
    );
    assert!(err.contains(&want), "{want}\n{}", text(&out));
    assert_eq!(err.matches("warning").count(), 1, "{err}");

    let quoted = sb.write(
        "quoted.yaml",
        r#"name: quoted
environments: { staging: {} }
inputs:
  v: { pattern: 'v[0-9.]+', default: v1 }
stages:
  - id: main
    title: Main
    steps:
      - id: go
        command:
          run: |
            echo "version ${inputs.v}"
"#,
    );
    let out = sb.run("alice", &["validate", quoted.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stages[0].steps[0].command.run: ${inputs.v} is inside double quotes"),
        "{err}"
    );
    // A here-document keeps quotes as text; a default may not hold controls.
    let heredoc = sb.write(
        "heredoc.yaml",
        "name: heredoc\nenvironments: { staging: {} }\ninputs:\n  v: { pattern: 'v[0-9.]+', default: \"v1\\e[2J\" }\nstages:\n  - id: main\n    title: Main\n    steps:\n      - id: go\n        command:\n          run: |\n            cat <<EOF\n            version ${inputs.v}\n            EOF\n",
    );
    let out = sb.run("alice", &["validate", heredoc.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("command.run: ${inputs.v} is inside a here-document"),
        "{err}"
    );
    assert!(
        err.contains("inputs.v.default: the default contains the control character U+001B"),
        "{err}"
    );
    assert!(!out.stderr.contains(&0x1b));
    // The shipped runbooks pass.
    let shipped: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config/runbooks"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
    let mut args = vec!["validate"];
    args.extend(shipped.iter().map(String::as_str));
    let out = sb.run("alice", &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Every file under the data and config dirs is 0600 and every directory
/// flightdeck made is 0700, though the binary ran under umask 022.
fn assert_private(sb: &Sandbox) {
    let mut seen = 0;
    for root in ["data", "config"] {
        let root = sb.path(root);
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
                    seen += 1;
                }
            }
        }
    }
    // journal.db, flightdeck.log, audit.key at least.
    assert!(seen >= 3, "only {seen} files");
}

/// SQLite's -wal and -shm, made by SQLite itself while the journal is open,
/// are as private as the journal.
#[tokio::test]
async fn journal_wal_and_shm_are_private_under_umask_022() {
    // SAFETY: umask only sets this process's file-creation mask.
    let old = unsafe { libc::umask(0o022) };
    let dir = tempfile::tempdir().unwrap();
    let key = AuditKey::load_or_create(&dir.path().join("config/audit.key")).unwrap();
    let journal = dir.path().join("data/journal.db");
    let store = Store::open(journal.to_str().unwrap(), key).await.unwrap();
    assert!(store.latest_release().await.unwrap().is_none());
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let p = e.unwrap().path();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        files.push((p.file_name().unwrap().to_string_lossy().into_owned(), mode));
    }
    store.close().await;
    unsafe { libc::umask(old) };
    files.sort();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"journal.db-wal"), "{files:?}");
    assert!(names.contains(&"journal.db-shm"), "{files:?}");
    for (name, mode) in &files {
        assert_eq!(*mode, 0o600, "{name} is {mode:o}");
    }
    let data_mode = std::fs::metadata(dir.path().join("data"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(data_mode, 0o700);
}
