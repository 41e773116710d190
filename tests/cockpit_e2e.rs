//! The cockpit end to end, in tmux (200x50), as two people would use it:
//! alice opens `flightdeck`, starts a runbook from home through the start
//! form, ticks its checklist item by item and runs to the gate; bob opens
//! `flightdeck`, finds the gate under *waiting for me*, and signs it
//! without typing a release id, while alice's TUI carries on.

#[path = "support/tmux.rs"]
mod tmux;

use std::time::Duration;

use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");
const WAIT: Duration = Duration::from_secs(30);

/// One flow at a time: two people's terminals each, and the timing of a
/// loaded 2-core machine is what these tests should not have to share.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

const SHIP: &str = r#"
name: ship
environments:
  staging: {}
inputs:
  version:
    description: The version to ship
    pattern: 'v\d+'
stages:
  - id: s
    title: Ship
    steps:
      - id: build
        title: Build it
        command: { run: "echo building ${inputs.version}" }
      - id: notes
        title: Release notes
        manual:
          items: [Changelog written, On-call told]
      - id: approval
        title: Ship approval
        gate: { roles: { approver: 1 } }
      - id: announce
        title: Announce
        command: { run: "echo shipped" }
"#;

/// A config dir holding the ship runbook, and the journal beside it.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("config/runbooks")).unwrap();
    std::fs::write(d.join("config/runbooks/ship.yaml"), SHIP).unwrap();
    dir
}

/// The shell line that runs flightdeck in `d` as `user` (own state dir).
fn as_user(d: &std::path::Path, user: &str) -> String {
    format!(
        "cd {} && FLIGHTDECK_CONFIG_DIR={0}/config FLIGHTDECK_DATA_DIR={0}/data FLIGHTDECK_STATE_DIR={0}/state-{user} FLIGHTDECK_USER={user} {BIN}",
        d.display()
    )
}

#[test]
fn start_from_home_tick_the_checklist_and_sign_from_waiting_for_me() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workspace();
    let env = |user: &str| as_user(dir.path(), user);
    let t = Tmux::start("cockpit", 2);
    // alice: home, then the runbook list, then the form.
    t.send(0, &[&env("alice"), "Enter"]);
    t.wait_for(0, "Runbooks · 1", WAIT);
    t.send(0, &["BTab", "Enter"]);
    let form = t.wait_for(0, "Start form", WAIT);
    assert!(form.contains("input \"version\" is required"), "{form}");
    t.send(0, &["Tab", "v", "7", "Enter"]);
    t.wait_for(0, "RUNNING", WAIT);
    t.send(0, &["g"]);
    t.wait_for(0, "checklist to tick", WAIT);
    // Nothing is ticked at first; Enter alone does not confirm.
    t.send(0, &["t"]);
    t.wait_for(0, "2 left", WAIT);
    t.send(0, &["Enter"]);
    t.wait_for(0, "2 item(s) not ticked", WAIT);
    t.send(0, &["Space", "Space", "Enter"]);
    t.wait_for(0, "next: Ship approval", WAIT);
    t.send(0, &["g"]);
    t.wait_for(0, "sign-off needed", WAIT);
    // bob: the gate waits for him on home; Enter opens it, a signs it.
    t.send(1, &[&env("bob"), "Enter"]);
    let home = t.wait_for(1, "⚑ sign Ship approval", WAIT);
    assert!(home.contains("as approver"), "{home}");
    assert!(home.contains("alice drives"), "{home}");
    t.send(1, &["Enter"]);
    t.wait_for(1, "WATCHING", WAIT);
    t.send(1, &["a"]);
    t.send(1, &["Enter"]);
    t.wait_for(1, "bob signed off approval", WAIT);
    // alice's TUI picks the sign-off up and carries on.
    t.wait_for(0, "signed off approval", WAIT);
    t.send(0, &["g"]);
    t.wait_for(0, "SUCCEEDED", WAIT);
    // Both back on home, then out.
    t.send(0, &["q"]);
    t.wait_for(0, "Waiting for me", WAIT);
    t.send(1, &["q"]);
    t.wait_for(1, "Waiting for me", WAIT);
    let home = t.wait_for(1, "succeeded", WAIT);
    assert!(home.contains("nothing waits for you"), "{home}");
    t.send(0, &["q"]);
    t.send(1, &["q"]);
}

/// A release nobody drives (a headless run stopped at its gate): bob opens
/// it from *waiting for me* to sign, and it stays free: he watches, he does
/// not become its driver, and alice can pick it up afterwards.
#[test]
fn signing_from_waiting_for_me_never_takes_the_lease() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workspace();
    let env = |user: &str| as_user(dir.path(), user);
    let t = Tmux::start("cockpit-free", 2);
    // alice runs headless up to the gate; the run ends, the lease is free.
    t.send(
        0,
        &[
            &format!(
                "{} run --headless --ack notes config/runbooks/ship.yaml --set version=v1; echo EXIT=$?",
                env("alice")
            ),
            "Enter",
        ],
    );
    t.wait_for(0, "EXIT=3", WAIT);
    t.send(1, &[&env("bob"), "Enter"]);
    t.wait_for(1, "⚑ sign Ship approval", WAIT);
    t.send(1, &["Enter"]);
    let view = t.wait_for(1, "WATCHING: nobody drives", WAIT);
    assert!(view.contains("a  sign"), "{view}");
    assert!(!view.contains("you drive"), "{view}");
    t.send(1, &["q"]);
    t.wait_for(1, "Waiting for me", WAIT);
    t.send(1, &["q"]);
    // alice reopens it and drives: bob's visit left the lease free.
    t.send(0, &[&format!("{} tui --resume", env("alice")), "Enter"]);
    t.wait_for(0, "you drive", WAIT);
    t.send(0, &["q"]);
}
