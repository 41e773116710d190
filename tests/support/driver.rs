//! One scenario, two drivers: a person at the keys (`update`) or a
//! headless run (`app::headless::Headless` on top of `update`). A test
//! picks one for its thread; `update` and `on_resume` here go through it.
#![allow(dead_code)]

use std::cell::RefCell;

use flightdeck::app::headless::Headless;
use flightdeck::app::msg::Msg;
use flightdeck::app::state::AppState;
use flightdeck::protocol::command::Command;

thread_local!(static DRIVER: RefCell<Option<Headless>> = const { RefCell::new(None) });

/// From now on this test's messages go through a headless driver that
/// was given `--retry` for `retries`.
pub fn drive_headless(retries: &[&str]) {
    let h = Headless::new(retries.iter().map(|s| s.to_string()));
    DRIVER.with(|d| *d.borrow_mut() = Some(h));
}

/// From now on this test's messages are a person's: `update` alone.
pub fn drive_as_person() {
    DRIVER.with(|d| *d.borrow_mut() = None);
}

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Command> {
    DRIVER.with(|d| match d.borrow_mut().as_mut() {
        Some(h) => h.update(state, msg),
        None => flightdeck::app::update::update(state, msg),
    })
}

pub fn on_resume(state: &mut AppState) -> Vec<Command> {
    DRIVER.with(|d| match d.borrow_mut().as_mut() {
        Some(h) => h.resume(state),
        None => flightdeck::app::update::on_resume(state),
    })
}
