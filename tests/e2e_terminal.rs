//! The built binary in tmux: driven with the mouse (a click selects a step,
//! the wheel scrolls its output, and on quit the terminal is out of mouse
//! mode and the alternate screen), and drawn without colour under NO_COLOR.

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

fn command_line(dir: &std::path::Path, rb: &std::path::Path, env: &str) -> String {
    format!(
        "env -u FLIGHTDECK_JOURNAL -u NO_COLOR {env} FLIGHTDECK_CONFIG_DIR={d}/config \
         FLIGHTDECK_DATA_DIR={d}/data FLIGHTDECK_USER=alice {BIN} tui {rb} --env default",
        d = dir.display(),
        rb = rb.display()
    )
}

/// The SGR parameters on screen that set a colour (39/49, back to the
/// default, do not).
fn colours(screen_with_escapes: &str) -> Vec<String> {
    let mut found = Vec::new();
    for seq in screen_with_escapes.split("\x1b[").skip(1) {
        let Some(end) = seq.find('m') else { continue };
        let params = &seq[..end];
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            continue;
        }
        for p in params.split(';') {
            let colour = matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            );
            if colour {
                found.push(params.to_string());
            }
        }
    }
    found
}

#[test]
fn no_color_reaches_the_terminal_as_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("scroll.yaml");
    std::fs::write(&rb, RUNBOOK).unwrap();
    let tmux = Tmux::start("nocolor", 2);
    tmux.send(0, &[&command_line(dir.path(), &rb, "NO_COLOR=1"), "Enter"]);
    tmux.send(1, &[&command_line(&dir.path().join("b"), &rb, ""), "Enter"]);
    for pane in [0, 1] {
        tmux.wait_for(pane, "Print many lines", WAIT);
    }
    let plain = tmux.screen_with_escapes(0);
    let coloured = tmux.screen_with_escapes(1);
    assert!(!colours(&coloured).is_empty(), "with colour:\n{coloured}");
    assert_eq!(
        colours(&plain),
        Vec::<String>::new(),
        "under NO_COLOR:\n{plain}"
    );
    for pane in [0, 1] {
        tmux.send(pane, &["q"]);
    }
}

#[test]
fn click_and_wheel_in_tmux_and_the_terminal_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("scroll.yaml");
    std::fs::write(&rb, RUNBOOK).unwrap();
    let tmux = Tmux::start("mouse", 1);
    let line = command_line(dir.path(), &rb, "");
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
