//! Team mode in the UI (docs/semantics.md, "Deploy lock"): one terminal drives a
//! release, the others watch it fill up live and may sign off. Pure like
//! `update`: the team task (subcommands/team.rs; its token in backend/team/fence.rs) holds the lease and sends
//! `TeamEvent`s; this decides what they mean on screen.

use crate::protocol::team::{Snapshot, TeamCommand, TeamEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::state::{AppState, Confirmable, Dialog, Level, Mode};
use super::update::{end_release, gate_changed, on_resume, quit, waiting};
use crate::protocol::command::Command;
use crate::protocol::output::OutputBuffer;
use crate::runbook::StepAction;
use crate::runbook::gates::{self, GateTally, GateTiming};
use crate::runbook::progress::{Outcome, ReleaseStatus, StepStatus};

/// The key that takes over a release whose driver's lease expired.
pub const TAKE_OVER_KEY: char = 'T';

/// May this terminal run steps and decide gates?
pub fn drives(state: &AppState) -> bool {
    state.team.mode != Mode::Watcher
}

pub fn watching(state: &AppState) -> bool {
    state.team.mode == Mode::Watcher
}

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
    let Some(action) = state.keymap.action_for(key) else {
        return false;
    };
    if let Some(why) = super::allowed::refusal(state, action) {
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

pub fn driver_name(state: &AppState) -> String {
    match &state.team.lease {
        Some(l) if !l.released => format!("{}@{}", l.holder, l.host),
        _ => "nobody".into(),
    }
}

/// The lease is free (expired or given back): a watcher may take over.
pub fn take_over_possible(state: &AppState) -> bool {
    watching(state)
        && !state.release.status.is_final()
        && state
            .team
            .lease
            .as_ref()
            .is_none_or(|l| l.free_at(state.now))
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
    state.dialog = Some(Dialog::Confirm {
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
    state.dirty = true;
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
                state.dialog,
                Some(Dialog::Confirm { .. } | Dialog::Skip { .. } | Dialog::Tick { .. })
                    | Some(Dialog::Interrupted { .. })
            ) {
                state.dialog = None;
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
                if state.auto && !state.headless {
                    super::update::advance(state, out);
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
            let was = state.pending.remove(&op);
            let text = match was {
                Some(super::state::After::Signed(_)) => format!("sign-off refused: {why}"),
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
        && state.notice.is_none()
    {
        let verb = if s.decision == gates::Decision::Approve {
            "signed off"
        } else {
            "rejected"
        };
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
    if state.follow
        && let Some(cur) = state.release.current(&state.runbook)
    {
        state.selected = cur;
    }
    state.selected = state.selected.min(n.saturating_sub(1));
}

/// Every tick: a driver's waiting gate may finish its soak or expire.
pub fn tick(state: &mut AppState, out: &mut Vec<Command>) {
    if !drives(state) || state.release.status.is_final() {
        return;
    }
    let Some(i) = state.release.current(&state.runbook) else {
        return;
    };
    if state.release.steps[i].status != StepStatus::Waiting {
        return;
    }
    let StepAction::Gate(spec) = &state.step(i).action else {
        return;
    };
    if spec.soak.is_none() && spec.expires.is_none() {
        return;
    }
    let t = gates::counted(
        spec,
        &state.runbook.roles,
        &state.release.initiator,
        &state.release.signoffs_for(&state.step(i).id),
        &state.approval_hash,
    );
    let timing = gates::timing(spec, &t, state.release.steps[i].started_at, state.now);
    if matches!(timing, GateTiming::Open | GateTiming::Expired { .. }) {
        gate_changed(state, i, out);
    }
}

/// Called by `gate_changed` once no rejection stops gate `i`: true when
/// soak or expiry decide (soaking: wait; expired: fail the release).
pub fn gate_held(state: &mut AppState, i: usize, t: &GateTally, out: &mut Vec<Command>) -> bool {
    let StepAction::Gate(spec) = &state.step(i).action else {
        return false;
    };
    match gates::timing(spec, t, state.release.steps[i].started_at, state.now) {
        GateTiming::Soaking { until } => {
            let left = crate::runbook::duration::format_duration(std::time::Duration::from_millis(
                (until - state.now).max(0) as u64,
            ));
            waiting(
                state,
                i,
                &format!("sign-offs complete; soaking, opens in {left}"),
            );
            true
        }
        GateTiming::Expired { .. } => {
            let after = spec
                .expires
                .map(crate::runbook::duration::format_duration)
                .unwrap_or_default();
            let missing: Vec<String> = t
                .roles
                .iter()
                .filter(|r| r.missing() > 0)
                .map(|r| format!("{} × {}", r.missing(), r.role))
                .collect();
            let reason = format!(
                "gate expired: still missing {} after {after} of waiting",
                missing.join(", ")
            );
            super::update::decide(
                state,
                i,
                Outcome::Failure {
                    reason,
                    exit_code: None,
                },
                out,
            );
            end_release(state, ReleaseStatus::Failed, out);
            true
        }
        _ => false,
    }
}
