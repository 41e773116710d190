//! The built binary, end to end, for issue 11 part 5: nothing a step
//! started survives a killed flightdeck (grandchildren included), a step a
//! SIGTERM stopped comes back interrupted (headless resume exits 3 unless
//! `--retry` names it), and a background service stops with its driver and
//! starts again on resume.

#[path = "support/tmux.rs"]
mod tmux;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
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

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("FLIGHTDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env("FLIGHTDECK_DATA_DIR", self.dir.path().join("data"))
            .env("FLIGHTDECK_USER", "alice")
            .env_remove("FLIGHTDECK_JOURNAL");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn env_line(&self) -> String {
        format!(
            "FLIGHTDECK_CONFIG_DIR={} FLIGHTDECK_DATA_DIR={} FLIGHTDECK_USER=alice",
            self.dir.path().join("config").display(),
            self.dir.path().join("data").display()
        )
    }

    fn runbook(&self, name: &str, yaml: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, yaml).unwrap();
        p
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("data/journal.db")
    }
}

/// A number no other test (or run) uses in its `sleep` commands, so pgrep
/// finds only this test's processes.
fn tag() -> String {
    format!("9{}{}", std::process::id(), rand::random::<u16>() % 1000)
}

/// Live processes whose whole command line matches `pattern`.
fn running(pattern: &str) -> Vec<i32> {
    let o = Command::new("pgrep")
        .args(["-f", &format!("^{pattern}$")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        // Not a zombie: a reaped-late process is dead for our purposes.
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rfind(')')
                        .map(|i| s[i + 1..].trim_start().starts_with('Z'))
                })
                == Some(false)
        })
        .collect()
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Audit entries of `kind` (detail JSON) in the SQLite journal.
fn audit(journal: &Path, kind: &str) -> Vec<serde_json::Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::{Connection, Row};
            let url = format!("sqlite://{}", journal.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("SELECT detail_json FROM audit_log WHERE kind = ? ORDER BY seq")
                .bind(kind)
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| serde_json::from_str(&r.get::<String, _>(0)).unwrap())
                .collect()
        })
}

/// Has process group `pgid` a live (not zombie) member? kill(2) would count
/// zombies, which an init that never reaps (containers) leaves around.
fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.len() > 2 && f[0] != "Z" && f[0] != "X" && f[2] == pgid.to_string()
    })
}

#[test]
fn sigkill_of_the_tui_leaves_no_step_process_and_resume_restarts_the_service() {
    let sb = Sandbox::new();
    let t = tag();
    let rb = sb.runbook(
        "orphans.yaml",
        &format!(
            "name: orphans
stages:
  - id: main
    steps:
      - id: svc
        title: Service
        command:
          run: 'exec sleep {t}1'
          background: true
      - id: slow
        title: Slow step
        command: 'echo spawned; sleep {t}2 & sleep {t}3'
"
        ),
    );
    let tmux = Tmux::start("orphans", 1);
    let line = format!("{} {BIN} tui {} --env default", sb.env_line(), rb.display());
    tmux.send(0, &[&line, "Enter"]);
    tmux.wait_for(0, "Slow step", Duration::from_secs(30));
    tmux.send(0, &["g"]);
    tmux.wait_for(0, "spawned", Duration::from_secs(30));
    let svc = format!("sleep {t}1");
    let pattern = format!("sleep {t}[123]");
    wait_until(
        "the service and both sleeps run",
        Duration::from_secs(10),
        || running(&pattern).len() == 3,
    );
    let steps = audit(&sb.journal(), "step_process");
    assert_eq!(steps.len(), 2, "{steps:?}");
    let pgids: Vec<i32> = steps
        .iter()
        .map(|s| s["pgid"].as_i64().unwrap() as i32)
        .collect();
    assert!(pgids.iter().all(|&p| group_alive(p)));

    let pid = pid_of(&format!("{BIN} tui {}", rb.display())).expect("flightdeck is running");
    // SAFETY: sending a signal to a pid we just looked up.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    wait_until(
        "no process of any step survives the SIGKILL",
        Duration::from_secs(10),
        || running(&pattern).is_empty() && pgids.iter().all(|&p| !group_alive(p)),
    );

    // Reopen: the step is interrupted (nothing of it runs), the service
    // runs again, journaled.
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(0, &["stty sane; clear", "Enter"]);
    tmux.send(0, &[&line, "Enter"]);
    let screen = tmux.wait_for(0, "was interrupted", Duration::from_secs(30));
    assert!(!screen.contains("still running"), "{screen}");
    assert!(screen.contains("retry"), "{screen}");
    wait_until("the service runs again", Duration::from_secs(10), || {
        running(&svc).len() == 1
    });
    wait_until("the restart is journaled", Duration::from_secs(10), || {
        audit(&sb.journal(), "service_started").len() == 1
    });
    let restarted = &audit(&sb.journal(), "service_started")[0];
    assert_eq!(restarted["step_id"], "svc");
    assert!(restarted["pid"].as_i64().is_some(), "{restarted}");

    // Quitting cleanly stops the service too.
    tmux.send(0, &["Escape"]);
    tmux.send(0, &["q"]);
    tmux.wait_for(
        0,
        "(reopen it with the same command",
        Duration::from_secs(30),
    );
    wait_until(
        "the service stops with its driver",
        Duration::from_secs(10),
        || running(&svc).is_empty(),
    );
    assert!(sb.run(&["verify"]).status.success());
}

#[test]
fn sigterm_interrupts_a_step_and_headless_resume_stops_unless_retried() {
    let sb = Sandbox::new();
    let t = tag();
    let mark = sb.dir.path().join("ran-once");
    let rb = sb.runbook(
        "term.yaml",
        &format!(
            "name: term
stages:
  - id: main
    steps:
      - id: slow
        title: Slow
        command: 'if [ -f {mark} ]; then echo second run; else touch {mark}; echo first run; sleep {t}4; fi'
      - id: after
        title: After
        command: 'echo after'
",
            mark = mark.display()
        ),
    );
    let mut child = sb
        .cmd()
        .args(["run", rb.to_str().unwrap(), "--headless"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("first run");
        seen.push(line);
        if done {
            break;
        }
    }
    let sleep = format!("sleep {t}4");
    wait_until("the step's sleep runs", Duration::from_secs(10), || {
        running(&sleep).len() == 1
    });
    // SAFETY: signalling the child we spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{seen:?}");
    let ev: Vec<serde_json::Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let release = ev[0]["release"].as_str().unwrap().to_string();
    let ends: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["event"] == "step_finished" && e["step"] == "slow")
        .collect();
    assert_eq!(ends.len(), 1, "{seen:?}");
    assert_eq!(ends[0]["status"], "interrupted", "{seen:?}");
    assert!(running(&sleep).is_empty());
    assert_eq!(audit(&sb.journal(), "step_interrupted").len(), 1);
    assert!(audit(&sb.journal(), "step_finished").is_empty());

    // A plain headless resume stops at it.
    let out = sb.run(&["run", "--headless", "--release", &release]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "waiting" && e["step"] == "slow"),
        "{ev:?}"
    );
    assert!(!ev.iter().any(|e| e["event"] == "step_started"), "{ev:?}");

    // --retry of an unknown step is bad input.
    let out = sb.run(&[
        "run",
        "--headless",
        "--release",
        &release,
        "--retry",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));

    // --retry slow runs it again, and the release finishes.
    let out = sb.run(&[
        "run",
        "--headless",
        "--release",
        &release,
        "--retry",
        "slow",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "step_started" && e["step"] == "slow" && e["attempt"] == 2),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "output" && e["line"] == "second run"),
        "{ev:?}"
    );
    let choices = audit(&sb.journal(), "resume_choice");
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0]["choice"], "retry");
    assert!(sb.run(&["verify"]).status.success());
}

#[test]
fn a_step_whose_processes_somehow_survive_is_still_running_on_resume() {
    let sb = Sandbox::new();
    let t = tag();
    let rb = sb.runbook(
        "survive.yaml",
        &format!(
            "name: survive
stages:
  - id: main
    steps:
      - id: slow
        title: Slow
        command: 'echo begun; sleep {t}5 & sleep {t}6'
"
        ),
    );
    let mut child = sb
        .cmd()
        .args(["run", rb.to_str().unwrap(), "--headless"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut release = String::new();
    let mut pgid = 0;
    for line in lines.by_ref() {
        let e: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if e["event"] == "release_started" {
            release = e["release"].as_str().unwrap().to_string();
        }
        if let Some(pid) = e["line"]
            .as_str()
            .and_then(|l| l.strip_prefix("started pid "))
        {
            pgid = pid.parse().unwrap();
            break;
        }
    }
    let pattern = format!("sleep {t}[56]");
    wait_until("both sleeps run", Duration::from_secs(10), || {
        running(&pattern).len() == 2
    });
    // Something outside flightdeck's reach: its watchdog is gone too.
    let watchdog = running(&format!("sh -c .* flightdeck-watchdog {pgid}"));
    assert_eq!(watchdog.len(), 1, "one watchdog per group");
    // SAFETY: signalling processes this test started.
    unsafe {
        assert_eq!(libc::kill(watchdog[0], libc::SIGKILL), 0);
        assert_eq!(libc::kill(child.id() as i32, libc::SIGKILL), 0);
    }
    let _ = child.wait();
    assert!(group_alive(pgid));
    // PDEATHSIG alone still took the group leader down.
    wait_until(
        "the group leader dies with flightdeck",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(format!("/proc/{pgid}/stat")).map_or(true, |s| {
                s.rfind(')')
                    .is_some_and(|i| s[i + 1..].trim_start().starts_with('Z'))
            })
        },
    );

    for args in [vec![], vec!["--retry", "slow"]] {
        let mut all = vec!["run", "--headless", "--release", &release];
        all.extend(args);
        let out = sb.run(&all);
        assert_eq!(out.status.code(), Some(3), "{all:?}");
        let ev = events(&out);
        let running_words = format!("still running, pid {pgid}");
        assert!(
            ev.iter().any(|e| e["event"] == "waiting"
                && e["step"] == "slow"
                && e["reason"].as_str().unwrap_or("").contains(&running_words)),
            "{ev:?}"
        );
        assert!(!ev.iter().any(|e| e["event"] == "step_started"), "{ev:?}");
    }
    // The TUI says so and offers wait or kill; kill ends the group, then
    // the usual choices come back.
    let tmux = Tmux::start("survive", 1);
    let line = format!("{} {BIN} tui --release {release}", sb.env_line());
    tmux.send(0, &[&line, "Enter"]);
    let screen = tmux.wait_for(
        0,
        &format!("still running, pid {pgid}"),
        Duration::from_secs(30),
    );
    assert!(
        screen.contains("wait") && screen.contains("kill"),
        "{screen}"
    );
    assert!(!screen.contains("mark done"), "{screen}");
    tmux.send(0, &["Down"]);
    tmux.send(0, &["Enter"]);
    tmux.wait_for(0, "mark done", Duration::from_secs(30));
    assert!(running(&pattern).is_empty());
    assert!(!group_alive(pgid));
    let choices = audit(&sb.journal(), "resume_choice");
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(choices[0]["choice"], "kill");
    tmux.send(0, &["Escape"]);
    tmux.send(0, &["q"]);
    tmux.wait_for(
        0,
        "(reopen it with the same command",
        Duration::from_secs(30),
    );
    // Whatever happened above, leave nothing behind.
    // SAFETY: the group this test's step left behind.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}
