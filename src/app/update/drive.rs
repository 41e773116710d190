//! A driver's requests (`Msg::Drive`, see `app::headless`): the release
//! flow a person's keys start, without the questions a person is asked.

use super::journal::*;
use super::steps::*;
use crate::app::msg::Drive;
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};

pub(super) fn drive(state: &mut AppState, d: Drive, out: &mut Vec<Command>) {
    match d {
        Drive::Start(i) if i < state.step_count() => start_step(state, i, out),
        Drive::Resume { step, choice } if step < state.step_count() => {
            let entry = JournalEntry::ResumeChoice {
                release_id: state.release.id.clone(),
                step_id: state.step_id(step),
                choice: choice.as_str().into(),
                person: format!("{} (--retry)", state.identity.person),
                at: state.now,
            };
            journal(state, entry, After::Resumed { step, choice }, out);
        }
        Drive::Ack(i) if i < state.step_count() => acknowledge(state, i, out),
        Drive::End(status) => end_release(state, status, out),
        Drive::Quit if !state.plumbing.quitting => quit(state, out),
        _ => {}
    }
}
