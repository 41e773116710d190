//! tmux as a pair of eyes for the end-to-end tests: start a session of one
//! or more windows ("panes" here), type into them, and wait on visible text,
//! never on a sleep. Included with `#[path = "support/tmux.rs"] mod tmux;`.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub name: String,
}

impl Tmux {
    /// A detached session of `windows` bash windows, 200x50; fails loudly
    /// without tmux.
    pub fn start(tag: &str, windows: u8) -> Tmux {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "tmux is required for the end-to-end TUI tests (apt-get install tmux)"
        );
        let name = format!("fd-{tag}-{}-{}", std::process::id(), rand::random::<u16>());
        let shell = "bash --norc --noprofile";
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "200",
                "-y",
                "50",
                shell,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        for _ in 1..windows {
            let ok = Command::new("tmux")
                .args(["new-window", "-t", &name, shell])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        Tmux { name }
    }

    fn target(&self, pane: u8) -> String {
        format!("{}:{pane}", self.name)
    }

    pub fn send(&self, pane: u8, keys: &[&str]) {
        let mut c = Command::new("tmux");
        c.args(["send-keys", "-t", &self.target(pane)]).args(keys);
        assert!(c.status().unwrap().success());
    }

    /// A mouse event as the terminal reports it in SGR mode (what
    /// crossterm enables): `button` 0 left press, 64 wheel up, 65 wheel
    /// down; `column`/`row` 0-based. Written into the pane as raw bytes.
    pub fn mouse(&self, pane: u8, button: u8, column: u16, row: u16) {
        let seq = format!("\x1b[<{button};{};{}M", column + 1, row + 1);
        let hex: Vec<String> = seq.bytes().map(|b| format!("{b:02x}")).collect();
        let mut c = Command::new("tmux");
        c.args(["send-keys", "-t", &self.target(pane), "-H"])
            .args(&hex);
        assert!(c.status().unwrap().success());
    }

    /// A tmux format of the pane, e.g. `#{mouse_any_flag}`.
    pub fn format(&self, pane: u8, format: &str) -> String {
        let o = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.target(pane), format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// The screen with its colours and attributes as escape sequences.
    pub fn screen_with_escapes(&self, pane: u8) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-e", "-t", &self.target(pane)])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn screen(&self, pane: u8) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.target(pane)])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn wait_for(&self, pane: u8, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let s = self.screen(pane);
            if s.contains(text) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{text:?} did not appear in pane {pane} within {within:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// The newest process whose command line matches `pattern`.
pub fn pid_of(pattern: &str) -> Option<i32> {
    let o = Command::new("pgrep")
        .args(["-n", "-f", pattern])
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}
