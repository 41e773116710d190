//! One secret set, masked everywhere (issue 11, part 2), with the built
//! binary on SQLite: a secret input, a `check: env` variable and a runbook
//! `secrets:` variable echoed by a command raw, base64 (at every offset),
//! percent-encoded and inside URLs, and a token in an http check's URL,
//! appear nowhere in the headless stream, the journal files read as bytes
//! (the database and its WAL), `report` (md/json/yaml), `show` or the app
//! log. A password holding `/?#@` is redacted whole. Resuming asks for the
//! secret input again and refuses a wrong one before anything runs.

#[path = "support/pg.rs"]
mod pg;
use pg::with_database;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

#[path = "support/tmux.rs"]
mod tmux;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

const DB_PASSWORD: &str = "Pw-of-the-db-8c1e";
const API_KEY: &str = "k3y/with+chars=9f";
const API_KEY_PERCENT: &str = "k3y%2Fwith%2Bchars%3D9f";
const DEPLOY_TOKEN: &str = "dtok_5b2f0a77e1";
const URL_PASSWORD: &str = "p/a?b#c@d";
const INPUT_URL_PASSWORD: &str = "Url-pass-77aa";

struct Sandbox {
    dir: tempfile::TempDir,
    runbook: PathBuf,
}

impl Sandbox {
    fn new(port: u16) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let runbook = dir.path().join("secrets.yaml");
        std::fs::write(&runbook, RUNBOOK.replace("PORT", &port.to_string())).unwrap();
        Sandbox { dir, runbook }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", "alice")
            .env("API_KEY", API_KEY)
            .env("API_KEY_PERCENT", API_KEY_PERCENT)
            .env("DEPLOY_TOKEN", DEPLOY_TOKEN)
            .env_remove("FLIGHTDECK_JOURNAL")
            .env_remove("FLIGHTDECK_SECRET_DB_PASSWORD");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

const RUNBOOK: &str = r#"
name: secrets-e2e
secrets: [DEPLOY_TOKEN]
notify:
  - url: "http://127.0.0.1:PORT/hooks/T0/B0/${env.DEPLOY_TOKEN}"
    on: [started, waiting, succeeded, failed]
inputs:
  db_password: { secret: true, required: true }
  version: { default: v1 }
  db_url: { default: "postgres://app:Url-pass-77aa@127.0.0.1:1/app" }
stages:
  - id: all
    title: All
    steps:
      - id: env-present
        check: { env: [API_KEY] }
      - id: echo
        command:
          env: { DBPW: "${inputs.db_password}", DBURL: "${inputs.db_url}" }
          run: |
            echo "raw $DBPW $API_KEY $DEPLOY_TOKEN"
            echo "dsn $DBURL"
            printf %s "$DBPW" | base64
            printf %s "$API_KEY" | base64
            printf %s "$API_KEY" | base64 | tr '+/' '-_' | tr -d '='
            printf 'x%s' "$API_KEY" | base64
            printf 'xy%s\n' "$DBPW" | base64
            printf 'user:%s' "$DEPLOY_TOKEN" | base64
            echo "percent $API_KEY_PERCENT"
            echo "https://u:$DBPW@h.example/ and https://h.example/cb?token=$API_KEY&x=1"
            echo "postgres://u:p/a?b#c@d@db:5432/x"
            echo "failing with $DBPW" >&2
            exit 0
      - id: http-ok
        check:
          http: { url: "http://127.0.0.1:PORT/health?token=${env.DEPLOY_TOKEN}" }
      - id: http-bad
        continue_on_failure: true
        check:
          http: { url: "http://127.0.0.1:PORT/health?token=${env.DEPLOY_TOKEN}", expect_status: 418 }
      - id: hold
        command: { run: 'if [ -n "$HOLD" ]; then sleep 30; fi' }
      - id: pause
        manual: { items: [go on] }
      - id: after
        command:
          env: { DBPW: "${inputs.db_password}", DBURL: "${inputs.db_url}" }
          run: echo "after $DBPW $DBURL"
"#;

/// Standard base64 with padding (the test's own, not the app's).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            out.push(if k <= c.len() {
                A[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Every form of the secrets that must not appear.
fn forbidden() -> Vec<String> {
    let mut f = vec![
        DB_PASSWORD.to_string(),
        API_KEY.to_string(),
        API_KEY_PERCENT.to_string(),
        DEPLOY_TOKEN.to_string(),
        URL_PASSWORD.to_string(),
        INPUT_URL_PASSWORD.to_string(),
    ];
    for s in [DB_PASSWORD, API_KEY, DEPLOY_TOKEN] {
        let whole = b64(s.as_bytes());
        f.push(whole.trim_end_matches('=').to_string());
        f.push(
            whole
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_"),
        );
        // The stable inner part at each of the three offsets.
        for shift in 0..3 {
            let rest = &s.as_bytes()[shift..];
            let full = rest.len() / 3 * 3;
            f.push(b64(&rest[..full]));
        }
    }
    f
}

fn assert_clean(what: &str, text: &str) {
    for bad in forbidden() {
        assert!(
            !text.contains(&bad),
            "{what} holds a secret form {bad:?}:\n{text}"
        );
    }
}

fn file_bytes(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        f.read_to_end(&mut buf).unwrap();
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A loopback HTTP server answering 200 `{"status":"ok"}` to everything.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"status":"ok"}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn secrets_are_masked_in_every_sink_and_checked_on_resume() {
    let sb = Sandbox::new(http_server());
    let runbook = sb.runbook.display().to_string();
    let set = format!("db_password={DB_PASSWORD}");
    let first = sb.run(&["run", &runbook, "--headless", "--set", &set]);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let stream = stdout(&first);
    assert_clean("the headless stream", &stream);
    assert_clean("stderr", &stderr(&first));
    // Masked, not dropped: the lines are there with *** in place.
    assert!(stream.contains("raw *** *** ***"), "{stream}");
    assert!(stream.contains("percent ***"), "{stream}");
    assert!(
        stream.contains("https://u:***@h.example/ and https://h.example/cb?token=***&x=1"),
        "{stream}"
    );
    assert!(stream.contains("postgres://u:***@db:5432/x"), "{stream}");
    assert!(
        stream.contains("dsn postgres://app:***@127.0.0.1:1/app"),
        "{stream}"
    );
    assert!(stream.contains("token=***"), "{stream}");
    let release = stream
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["release"].as_str().map(str::to_string))
        .expect("release_started first");
    // The http check's outcome detail names its URL with the token masked,
    // and so do the lines both http checks print.
    let events: Vec<serde_json::Value> = stream
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect();
    let ok = events
        .iter()
        .find(|v| v["event"] == "step_finished" && v["step"] == "http-ok")
        .expect("http-ok finished");
    assert!(
        ok["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("health?token=***"),
        "{ok}"
    );
    for step in ["http-ok", "http-bad"] {
        assert!(
            events.iter().any(|v| v["event"] == "output"
                && v["step"] == step
                && v["line"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("health?token=***")),
            "{step}: {stream}"
        );
    }

    // Resume without the secret: refused, nothing runs.
    let ack = ["run", "--headless", "--release", &release, "--ack", "pause"];
    let out = sb.run(&ack);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("FLIGHTDECK_SECRET_DB_PASSWORD"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("step_started"), "{}", stdout(&out));

    // With a wrong one: refused, nothing runs.
    let mut wrong: Vec<&str> = ack.to_vec();
    wrong.extend(["--set", "db_password=not-the-one"]);
    let out = sb.run(&wrong);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("step_started"), "{}", stdout(&out));
    let out = sb
        .cmd()
        .args(ack)
        .env("FLIGHTDECK_SECRET_DB_PASSWORD", "wrong-again")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // With the right one (from the environment): it carries on to the end,
    // and the value the command sees is the real one (masked when echoed).
    let out = sb
        .cmd()
        .args(ack)
        .env("FLIGHTDECK_SECRET_DB_PASSWORD", DB_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    // The input holding a URL password was sealed too, and came back from
    // the runbook's default without anyone typing it.
    assert!(
        stdout(&out).contains("after *** postgres://app:***@127.0.0.1:1/app"),
        "{}",
        stdout(&out)
    );
    assert_clean("the resumed stream", &stdout(&out));

    // The record: report in every format, show, the journal's bytes, the log.
    for format in ["md", "json", "yaml"] {
        let r = sb.run(&["report", &release, "--format", format]);
        assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
        assert_clean(&format!("report --format {format}"), &stdout(&r));
        assert!(stdout(&r).contains("***"), "{}", stdout(&r));
    }
    let show = sb.run(&["show", &release]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert_clean("show", &stdout(&show));
    let journal = sb.data().join("journal.db");
    let mut bytes = file_bytes(&journal);
    bytes.push_str(&file_bytes(&PathBuf::from(format!(
        "{}-wal",
        journal.display()
    ))));
    assert!(
        bytes.contains("raw *** *** ***"),
        "the journal keeps masked output"
    );
    assert!(
        bytes.contains("sha256:"),
        "the secret input is kept as a salted hash"
    );
    assert_clean("the journal files", &bytes);
    let log = file_bytes(&sb.data().join("flightdeck.log"));
    assert!(log.contains("notified http://127.0.0.1:"), "{log}");
    assert_clean("the app log", &log);
}

#[test]
fn the_journal_files_hold_no_secret_while_a_release_runs() {
    // SQLite checkpoints its WAL when flightdeck closes the journal: read
    // the files while a step still runs, after the secrets were echoed.
    let sb = Sandbox::new(http_server());
    let runbook = sb.runbook.display().to_string();
    let set = format!("db_password={DB_PASSWORD}");
    let mut child = sb
        .cmd()
        .args(["run", &runbook, "--headless", "--set", &set])
        .env("HOLD", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = sb.data().join("journal.db");
    let wal = PathBuf::from(format!("{}-wal", journal.display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        seen = file_bytes(&journal) + &file_bytes(&wal);
        if seen.contains("raw *** *** ***") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(wal.exists(), "no WAL beside the journal while it runs");
    assert!(
        seen.contains("raw *** *** ***"),
        "the echo step's masked output never reached the journal files"
    );
    assert_clean("the journal and its WAL mid-release", &seen);
}

#[test]
fn a_secret_input_is_journaled_as_a_salted_hash_per_release() {
    let sb = Sandbox::new(http_server());
    let runbook = sb.runbook.display().to_string();
    let set = format!("db_password={DB_PASSWORD}");
    let mut seals = Vec::new();
    for _ in 0..2 {
        let out = sb.run(&["run", &runbook, "--headless", "--new", "--set", &set]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let release = stdout(&out)
            .lines()
            .next()
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| v["release"].as_str().map(str::to_string))
            .unwrap();
        let r = sb.run(&["report", &release, "--format", "json"]);
        let text = stdout(&r);
        let seal = text
            .split('"')
            .find(|s| s.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no sealed input in {text}"))
            .to_string();
        let parts: Vec<&str> = seal.split(':').collect();
        assert_eq!(parts.len(), 3, "{seal}");
        assert_eq!(parts[2].len(), 64, "{seal}");
        seals.push(seal);
    }
    assert_ne!(seals[0], seals[1], "each release has its own salt");
}

#[test]
fn runbook_secrets_parse_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "name: g\nsecrets: [DEPLOY_TOKEN, _X2]\nstages:\n  - id: s\n    title: S\n    steps:\n      - id: a\n        manual: { items: [x] }\n",
    )
    .unwrap();
    let l = flightdeck::runbook::load(&good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.runbook.secrets, vec!["DEPLOY_TOKEN", "_X2"]);

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: b\nsecrets:\n  - OK\n  - bad-name\n  - [1]\n  - OK\nstages:\n  - id: s\n    title: S\n    steps:\n      - id: a\n        manual: { items: [x] }\n",
    )
    .unwrap();
    let text = flightdeck::runbook::load(&bad).unwrap_err().to_string();
    for (pos, field, words) in [
        ("4:5", "secrets[1]", "not an environment variable name"),
        ("5:5", "secrets[2]", "expected a string"),
        ("6:5", "secrets[3]", "listed twice"),
    ] {
        assert!(
            text.lines().any(|l| l.contains("bad.yaml")
                && l.contains(pos)
                && l.contains(field)
                && l.contains(words)),
            "missing {pos} {field} {words:?} in:\n{text}"
        );
    }
    let scalar = dir.path().join("scalar.yaml");
    std::fs::write(&scalar, "name: c\nsecrets: TOKEN\nstages: []\n").unwrap();
    let text = flightdeck::runbook::load(&scalar).unwrap_err().to_string();
    assert!(text.contains("2:10") && text.contains("secrets"), "{text}");
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", stderr(&out));
}

#[test]
fn a_postgres_journal_holds_no_secret() {
    let server = std::env::var("FLIGHTDECK_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "FLIGHTDECK_TEST_DATABASE_URL is not set: start a throwaway server with \
             `eval \"$(tests/support/start-postgres.sh)\"` and run again"
        )
    });
    let name = format!("fd_secrets_{}", std::process::id());
    psql(&server, &format!("DROP DATABASE IF EXISTS {name}"));
    psql(&server, &format!("CREATE DATABASE {name}"));
    let url = with_database(&server, &name);

    let sb = Sandbox::new(http_server());
    let runbook = sb.runbook.display().to_string();
    let set = format!("db_password={DB_PASSWORD}");
    let first = sb
        .cmd()
        .args(["run", &runbook, "--headless", "--set", &set])
        .env("FLIGHTDECK_JOURNAL", &url)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    assert_clean("the headless stream", &stdout(&first));
    let release = stdout(&first)
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["release"].as_str().map(str::to_string))
        .unwrap();
    let resumed = sb
        .cmd()
        .args(["run", "--headless", "--release", &release, "--ack", "pause"])
        .env("FLIGHTDECK_JOURNAL", &url)
        .env("FLIGHTDECK_SECRET_DB_PASSWORD", DB_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));

    // Every row of every table, as pg_dump writes them.
    let dump = Command::new("pg_dump")
        .args(["--data-only", &url])
        .output()
        .expect("pg_dump runs");
    assert!(dump.status.success(), "{}", stderr(&dump));
    let rows = stdout(&dump);
    psql(&server, &format!("DROP DATABASE IF EXISTS {name}"));
    assert!(
        rows.contains("raw *** *** ***"),
        "masked output is journaled"
    );
    assert!(rows.contains("sha256:"), "the secret input is sealed");
    assert_clean("the PostgreSQL journal", &rows);
}

#[test]
fn the_tui_asks_for_a_secret_input_before_a_resumed_release_runs() {
    let sb = Sandbox::new(http_server());
    let runbook = sb.runbook.display().to_string();
    let set = format!("db_password={DB_PASSWORD}");
    let first = sb.run(&["run", &runbook, "--headless", "--set", &set]);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let release = stdout(&first)
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["release"].as_str().map(str::to_string))
        .unwrap();
    let line = format!(
        "env -u FLIGHTDECK_SECRET_DB_PASSWORD -u FLIGHTDECK_JOURNAL FLIGHTDECK_CONFIG_DIR={} FLIGHTDECK_DATA_DIR={} FLIGHTDECK_USER=alice API_KEY='{API_KEY}' DEPLOY_TOKEN={DEPLOY_TOKEN} {BIN} tui --release {release}",
        sb.dir.path().join("config").display(),
        sb.data().display(),
    );
    let t = tmux::Tmux::start("secrets", 1);
    let wait = Duration::from_secs(30);

    // Esc leaves: nothing runs.
    t.send(0, &[&line, "Enter"]);
    let screen = t.wait_for(0, "Secret input", wait);
    assert!(screen.contains("db_password"), "{screen}");
    t.send(0, &["Escape"]);
    t.wait_for(0, "nothing was run", wait);

    // A wrong value is refused on the spot; what is typed is never shown.
    t.send(0, &["clear", "Enter"]);
    t.send(0, &[&line, "Enter"]);
    t.wait_for(0, "Secret input", wait);
    t.send(0, &["-l", "not-the-one"]);
    t.send(0, &["Enter"]);
    let screen = t.wait_for(0, "not the value this release started with", wait);
    assert!(!screen.contains("not-the-one"), "{screen}");
    // The right one opens the release where it stopped.
    t.send(0, &["-l", DB_PASSWORD]);
    let screen = t.wait_for(0, &"•".repeat(DB_PASSWORD.len()), wait);
    assert!(!screen.contains(DB_PASSWORD), "{screen}");
    t.send(0, &["Enter"]);
    let screen = t.wait_for(0, "waiting for a person", wait);
    assert!(!screen.contains(DB_PASSWORD), "{screen}");
    t.send(0, &["q"]);
    t.wait_for(0, "(reopen it with the same command", wait);
}
