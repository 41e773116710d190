//! Team events and a watcher's keys (see `app::team`): lease lost,
//! regained, taken over; snapshots of the release from the journal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::journal::*;
use super::resume::*;
use super::steps::*;
use crate::app::action::Action;
use crate::app::state::*;
use crate::app::team::{TAKE_OVER_KEY, driver_name, drives, take_over_possible, watching};
use crate::protocol::command::Command;
use crate::protocol::output::OutputBuffer;
use crate::protocol::team::{Snapshot, TeamCommand, TeamEvent};
use crate::runbook::gates::{self, GateTiming};
use crate::runbook::progress::StepStatus;

/// Keys of a watcher: look around, sign off a waiting gate, take over an
/// expired lease, quit. Returns true when the key was handled here.
pub fn watcher_key(state: &mut AppState, key: &KeyEvent, out: &mut Vec<Command>) -> bool {
    if !watching(state) {
        return false;
    }
    if key.code == KeyCode::Char(TAKE_OVER_KEY) && !key.modifiers.contains(KeyModifiers::CONTROL) {
        request_take_over(state);
        return true;
    }
    let Some(action) = state.view.keymap.action_for(key) else {
        return false;
    };
    if let Some(why) = crate::app::allowed::refusal(state, action) {
        state.notify(Level::Warn, why);
        return true;
    }
    if action == Action::Quit {
        quit(state, out);
        return true;
    }
    // Looking around and signing a waiting gate: as the driver would.
    false
}

fn request_take_over(state: &mut AppState) {
    if state.release.status.is_final() {
        state.notify(
            Level::Warn,
            "the release has ended; there is nothing to drive",
        );
        return;
    }
    if !take_over_possible(state) {
        let left = state
            .team
            .lease
            .as_ref()
            .map(|l| (l.expires_local - state.now).max(0) / 1000 + 1)
            .unwrap_or(0);
        state.notify(
            Level::Warn,
            format!(
                "{} holds a live lease (expires in {left}s unless renewed); a live lease cannot be taken over",
                driver_name(state)
            ),
        );
        return;
    }
    let msg = match &state.team.lease {
        Some(l) if !l.released => format!(
            "Take over release {}? {}@{}'s lease expired; a step it left started comes back as interrupted. This is journaled.",
            state.release.id, l.holder, l.host
        ),
        _ => format!(
            "Drive release {}? Nobody drives it now. This is journaled.",
            state.release.id
        ),
    };
    state.view.dialog = Some(Dialog::Confirm {
        what: Confirmable::TakeOver,
        message: msg,
        expect: None,
        typed: String::new(),
    });
}

/// The take-over was confirmed: ask the team task.
pub fn take_over(state: &mut AppState, out: &mut Vec<Command>) {
    state.notify(Level::Info, "taking over…");
    out.push(Command::Team(TeamCommand::TakeOver));
}

pub fn on_event(state: &mut AppState, ev: TeamEvent, out: &mut Vec<Command>) {
    state.plumbing.dirty = true;
    match ev {
        TeamEvent::Snapshot(snap) => {
            if watching(state) {
                apply_snapshot(state, *snap);
            }
        }
        TeamEvent::Lease(lease) => state.team.lease = lease,
        TeamEvent::LeaseLost { why } => {
            if state.team.mode != Mode::Driver {
                return;
            }
            state.team.mode = Mode::Watcher;
            state.team.lapsed = None;
            state.auto = false;
            for (i, s) in state.release.steps.iter().enumerate() {
                if matches!(s.status, StepStatus::Running { .. }) {
                    out.push(Command::CancelStep { step: i });
                }
            }
            if matches!(
                state.view.dialog,
                Some(Dialog::Confirm { .. } | Dialog::Skip { .. } | Dialog::Tick { .. })
                    | Some(Dialog::Interrupted { .. })
            ) {
                state.view.dialog = None;
            }
            let text = format!("you no longer drive this release: {why}; now watching");
            state.team.lost = Some(text.clone());
            state.notify(Level::Error, text);
        }
        TeamEvent::LeaseLapsed { why } => {
            if state.team.mode != Mode::Driver {
                return;
            }
            let text = format!(
                "you are not the driver now: {why}; no new step starts until the lease is renewed"
            );
            state.team.lapsed = Some(why);
            state.notify(Level::Error, text);
        }
        TeamEvent::LeaseRegained => {
            if state.team.lapsed.take().is_some() && state.team.mode == Mode::Driver {
                state.notify(Level::Info, "the lease is renewed: you drive again");
                if state.auto {
                    advance(state, out);
                }
            }
        }
        TeamEvent::TookOver {
            token,
            lease,
            snapshot,
        } => {
            state.team.mode = Mode::Driver;
            state.team.lease = Some(lease);
            state.team.lost = None;
            state.team.lapsed = None;
            state.journal_error = None;
            state.end_recorded = state.release.status.is_final();
            apply_snapshot(state, *snapshot);
            state.notify(
                Level::Info,
                format!(
                    "you drive release {} now (lease token {token})",
                    state.release.id
                ),
            );
            out.extend(on_resume(state));
        }
        TeamEvent::TakeOverFailed(why) => {
            state.notify(Level::Warn, format!("take-over refused: {why}"))
        }
        TeamEvent::WriteRefused { op, why } => {
            let was = state.plumbing.pending.remove(&op);
            let text = match was {
                Some(After::Signed(_)) => format!("sign-off refused: {why}"),
                _ => why,
            };
            state.notify(Level::Error, text);
        }
    }
}

/// Replace the release and outputs with the journal's, keeping the
/// selection (and following the current step if it did).
fn apply_snapshot(state: &mut AppState, snap: Snapshot) {
    let before = state.release.signoffs.len();
    let n = snap.release.steps.len();
    if let Some(s) = snap.release.signoffs.get(before..).and_then(|s| s.last())
        && state.view.notice.is_none()
    {
        let verb = s.decision.done();
        let text = format!("{}@{} {verb} {} as {}", s.person, s.host, s.gate, s.role);
        state.notify(Level::Info, text);
    }
    // The journal holds secret inputs sealed; keep the values this
    // terminal was given when it opened the release (it may drive later).
    let inputs = std::mem::take(&mut state.release.inputs);
    state.release = snap.release;
    state.release.inputs = inputs;
    state.outputs = snap.outputs;
    state.outputs.resize(n, OutputBuffer::default());
    state.end_recorded = state.release.status.is_final();
    if state.view.follow
        && let Some(cur) = state.release.current(&state.runbook)
    {
        state.view.selected = cur;
    }
    state.view.selected = state.view.selected.min(n.saturating_sub(1));
}

/// Every tick: a driver's waiting gate may finish its soak or expire.
pub fn tick(state: &mut AppState, out: &mut Vec<Command>) {
    if !drives(state) || state.release.status.is_final() {
        return;
    }
    let Some(i) = state.release.current(&state.runbook) else {
        return;
    };
    if state.status(i) != Some(&StepStatus::Waiting) {
        return;
    }
    let Some((spec, t)) = state.gate_tally(i) else {
        return;
    };
    if spec.soak.is_none() && spec.expires.is_none() {
        return;
    }
    let timing = gates::timing(spec, &t, state.run(i).and_then(|r| r.started_at), state.now);
    if matches!(timing, GateTiming::Open | GateTiming::Expired { .. }) {
        gate_changed(state, i, out);
    }
}
