//! The mouse in `update`: a click on a step selects the step drawn under
//! it, the wheel moves the checklist's selection or scrolls the step pane
//! under it, and nothing happens behind a dialog.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::{AppState, Dialog};
use flightdeck::app::update::update;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::Stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 120;
const H: u16 = 20;

fn demo() -> AppState {
    StateBuilder::file("config/runbooks/demo.yaml")
        .env("staging")
        .build()
}

fn mouse(state: &mut AppState, kind: MouseEventKind, column: u16, row: u16) {
    let event = MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let cmds = update(
        state,
        Msg::Mouse {
            event,
            screen: (W, H),
        },
    );
    assert!(cmds.is_empty(), "the mouse only moves the view: {cmds:?}");
}

fn click(state: &mut AppState, column: u16, row: u16) {
    mouse(state, MouseEventKind::Down(MouseButton::Left), column, row);
}

fn screen(state: &AppState) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(W, H)).unwrap();
    t.draw(|f| flightdeck::ui::render(state, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..H)
        .map(|y| (0..W).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The screen row on which `title` is drawn in the checklist (left pane).
fn row_of(state: &AppState, title: &str) -> u16 {
    screen(state)
        .iter()
        .position(|l| l.chars().take(48).collect::<String>().contains(title))
        .unwrap_or_else(|| panic!("{title:?} is not on screen:\n{}", screen(state).join("\n")))
        as u16
}

#[test]
fn clicking_a_step_selects_the_step_drawn_there() {
    let mut s = demo();
    assert_eq!(s.view.selected, 0);
    for title in [
        "Push to the registry",
        "Service port answers",
        "Build v1.4.2",
    ] {
        let row = row_of(&s, title);
        click(&mut s, 10, row);
        assert_eq!(s.view.titles[s.view.selected], title, "clicked row {row}");
        // Drawn again, the selected step is still under the pointer... or
        // scrolled so it stays in view, and marked selected.
        let shown = screen(&s);
        let at = row_of(&s, title) as usize;
        assert!(shown[at].contains('›'), "{}", shown.join("\n"));
    }
}

#[test]
fn a_click_on_a_stage_title_or_a_border_selects_nothing_new() {
    let mut s = demo();
    let row = row_of(&s, "Service port answers");
    click(&mut s, 10, row);
    let before = s.view.selected;
    let row = row_of(&s, "BUILD AND PUSH");
    click(&mut s, 10, row);
    click(&mut s, 10, 2); // the checklist's top border
    click(&mut s, 80, 5); // the step pane
    assert_eq!(s.view.selected, before);
}

#[test]
fn the_wheel_over_the_checklist_moves_the_selection() {
    let mut s = demo();
    let n = s.step_count();
    mouse(&mut s, MouseEventKind::ScrollDown, 10, 5);
    mouse(&mut s, MouseEventKind::ScrollDown, 10, 5);
    assert_eq!(s.view.selected, 2);
    mouse(&mut s, MouseEventKind::ScrollUp, 10, 5);
    assert_eq!(s.view.selected, 1);
    for _ in 0..n + 5 {
        mouse(&mut s, MouseEventKind::ScrollDown, 10, 5);
    }
    assert_eq!(s.view.selected, n - 1, "stops at the last step");
    // The checklist scrolled with it: the last step is drawn, selected.
    let last = s.view.titles[n - 1].clone();
    assert!(screen(&s)[row_of(&s, &last) as usize].contains('›'));
}

#[test]
fn the_wheel_over_the_step_pane_scrolls_its_output() {
    let mut s = demo();
    let lines = (0..100)
        .map(|i| (Stream::Stdout, format!("line {i}")))
        .collect();
    update(
        &mut s,
        Msg::Backend(BackendEvent::StepOutput {
            step: 0,
            lines,
            dropped: 0,
        }),
    );
    assert!(screen(&s).join("\n").contains("line 99"));
    mouse(&mut s, MouseEventKind::ScrollUp, 80, 15);
    mouse(&mut s, MouseEventKind::ScrollUp, 80, 15);
    assert_eq!(s.view.scroll, 6);
    let shown = screen(&s).join("\n");
    assert!(!shown.contains("line 99"), "{shown}");
    assert!(shown.contains("line 93"), "{shown}");
    assert!(shown.contains("scrolled ↑6"), "{shown}");
    mouse(&mut s, MouseEventKind::ScrollDown, 80, 15);
    assert_eq!(s.view.scroll, 3);
    for _ in 0..100 {
        mouse(&mut s, MouseEventKind::ScrollUp, 80, 15);
    }
    assert_eq!(s.view.scroll, 99, "no scrolling past the first line");
    for _ in 0..100 {
        mouse(&mut s, MouseEventKind::ScrollDown, 80, 15);
    }
    assert_eq!(s.view.scroll, 0);
}

#[test]
fn nothing_moves_behind_a_dialog() {
    let mut s = demo();
    let row = row_of(&s, "Push to the registry");
    s.view.dialog = Some(Dialog::Help);
    click(&mut s, 10, row);
    mouse(&mut s, MouseEventKind::ScrollDown, 10, 5);
    mouse(&mut s, MouseEventKind::ScrollUp, 80, 15);
    assert_eq!((s.view.selected, s.view.scroll), (0, 0));
}

#[test]
fn a_resize_asks_for_a_frame_at_once() {
    let mut s = demo();
    s.plumbing.dirty = false;
    assert!(update(&mut s, Msg::Resize).is_empty());
    assert!(s.plumbing.dirty, "the next loop turn draws at the new size");
}
