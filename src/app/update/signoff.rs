//! Gates: the sign-off dialog, durable sign-offs, and counting them.

use super::journal::*;
use super::steps::*;
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::runbook::StepAction;
use crate::runbook::gates::{self, Decision, Signoff};
use crate::runbook::progress::StepStatus;

pub(super) fn open_signoff(state: &mut AppState, decision: Decision, out: &mut Vec<Command>) {
    let i = state.view.selected;
    // `app::allowed` let this through: a gate, current and undecided, and
    // not the initiator's.
    if state.status(i) == Some(&StepStatus::Pending)
        && state.release.current(&state.runbook) == Some(i)
    {
        start_step(state, i, out);
    }
    state.view.dialog = Some(Dialog::Signoff {
        step: i,
        role: 0,
        decision,
        comment: String::new(),
        error: None,
    });
}

pub(super) fn submit_signoff(state: &mut AppState, out: &mut Vec<Command>) {
    let Some(Dialog::Signoff {
        step,
        role,
        decision,
        comment,
        ..
    }) = state.view.dialog.clone()
    else {
        return;
    };
    let Some(StepAction::Gate(spec)) = state.action(step) else {
        return;
    };
    let Some((role_name, _)) = spec.roles.get(role).cloned() else {
        return;
    };
    if state.status(step) != Some(&StepStatus::Waiting) {
        set_dialog_error(
            state,
            "this gate is not waiting for sign-offs (run it first)".into(),
        );
        return;
    }
    let signoffs = state.release.signoffs_for(&state.step_id(step));
    if let Err(refusal) = gates::may_sign(
        spec,
        &state.runbook.roles,
        &signoffs,
        &state.approval_hash,
        &state.release.initiator,
        &state.identity.person,
        &role_name,
        decision,
        &comment,
    ) {
        set_dialog_error(state, refusal.to_string());
        return;
    }
    let signoff = Signoff {
        gate: state.step_id(step),
        person: state.identity.person.clone(),
        host: state.identity.host.clone(),
        role: role_name,
        decision,
        comment: comment.trim().to_string(),
        approved_hash: state.approval_hash.clone(),
        at: state.now,
    };
    state.view.dialog = None;
    state.notify(Level::Info, "recording sign-off…");
    journal(
        state,
        JournalEntry::Signoff {
            release_id: state.release.id.clone(),
            signoff: signoff.clone(),
        },
        After::Signed(signoff),
        out,
    );
}

pub(super) fn set_dialog_error(state: &mut AppState, msg: String) {
    if let Some(Dialog::Signoff { error, .. }) = &mut state.view.dialog {
        *error = Some(msg);
    }
}

/// A sign-off is durable: it counts from now on.
pub(super) fn signoff_durable(state: &mut AppState, s: Signoff, out: &mut Vec<Command>) {
    state.plumbing.events.push(HeadlessEvent::Signoff {
        gate: s.gate.clone(),
        person: s.person.clone(),
        role: s.role.clone(),
        decision: s.decision.as_str().into(),
    });
    let verb = s.decision.done();
    state.notify(
        Level::Info,
        format!("{} {verb} {} as {}", s.person, s.gate, s.role),
    );
    let gate = s.gate.clone();
    state.release.signoffs.push(s);
    if let Some(i) = state.runbook.step_index(&gate) {
        gate_changed(state, i, out);
    }
}

/// Sign-offs written by other processes (e.g. `flightdeck approve`).
pub fn merge_signoffs(state: &mut AppState, signoffs: Vec<Signoff>, out: &mut Vec<Command>) {
    let mut changed = Vec::new();
    for s in signoffs {
        if !state.release.signoffs.contains(&s) {
            let verb = s.decision.done();
            state.notify(
                Level::Info,
                format!("{}@{} {verb} {} as {}", s.person, s.host, s.gate, s.role),
            );
            changed.push(s.gate.clone());
            state.release.signoffs.push(s);
        }
    }
    for gate in changed {
        if let Some(i) = state.runbook.step_index(&gate) {
            state.plumbing.dirty = true;
            gate_changed(state, i, out);
        }
    }
}
