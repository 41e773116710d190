//! The built binary in tmux, driven with the mouse: a click selects a step,
//! the wheel scrolls its output, and on quit the terminal is out of mouse
//! mode and the alternate screen.

#[path = "support/tmux.rs"]
mod tmux;
use std::time::Duration;
use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");
const WAIT: Duration = Duration::from_secs(30);

const RUNBOOK: &str = r#"name: scroll
stages:
  - id: s
    title: Steps
    steps:
      - id: print
        title: Print many lines
        command: 'for i in $(seq 1 200); do echo "row $i"; done'
      - id: second
        title: Second step
        command: 'echo second done'
"#;

/// Where `text` is on the screen (0-based column, row).
fn find(screen: &str, text: &str) -> (u16, u16) {
    for (row, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(text) {
            return (line[..byte].chars().count() as u16, row as u16);
        }
    }
    panic!("{text:?} is not on screen:\n{screen}");
}

#[test]
fn click_and_wheel_in_tmux_and_the_terminal_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("scroll.yaml");
    std::fs::write(&rb, RUNBOOK).unwrap();
    let tmux = Tmux::start("mouse", 1);
    let line = format!(
        "env -u FLIGHTDECK_JOURNAL FLIGHTDECK_CONFIG_DIR={d}/config \
         FLIGHTDECK_DATA_DIR={d}/data FLIGHTDECK_USER=alice {BIN} tui {rb} --env default",
        d = dir.path().display(),
        rb = rb.display()
    );
    tmux.send(0, &[&line, "Enter"]);
    tmux.wait_for(0, "Print many lines", WAIT);
    assert_eq!(
        tmux.format(0, "#{mouse_sgr_flag}"),
        "1",
        "mouse reporting is on"
    );
    tmux.send(0, &["g"]);
    let screen = tmux.wait_for(0, "SUCCEEDED", WAIT);

    // The selection followed the last step; a click selects the first.
    let (x, y) = find(&screen, "Print many lines");
    tmux.mouse(0, 0, x + 2, y);
    let screen = tmux.wait_for(0, "row 200", WAIT);
    let (out_x, out_y) = find(&screen, "row 200");

    // Three wheel notches up over the output: nine lines back.
    for _ in 0..3 {
        tmux.mouse(0, 64, out_x, out_y);
    }
    let screen = tmux.wait_for(0, "scrolled ↑9", WAIT);
    assert!(!screen.contains("row 200"), "{screen}");
    for _ in 0..3 {
        tmux.mouse(0, 65, out_x, out_y);
    }
    let screen = tmux.wait_for(0, "row 200", WAIT);
    assert!(!screen.contains("scrolled"), "{screen}");
    assert!(!screen.contains("second done"), "{screen}");

    // The wheel over the checklist moves the selection to the next step.
    tmux.mouse(0, 65, x + 2, y);
    tmux.wait_for(0, "second done", WAIT);

    tmux.send(0, &["q"]);
    tmux.wait_for(0, "is succeeded", WAIT);
    assert_eq!(
        tmux.format(0, "#{mouse_any_flag}"),
        "0",
        "mouse mode is off"
    );
    assert_eq!(tmux.format(0, "#{mouse_sgr_flag}"), "0", "SGR mouse is off");
    assert_eq!(tmux.format(0, "#{alternate_on}"), "0", "the screen is back");
}
