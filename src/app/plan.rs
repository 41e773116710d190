//! The plan pane's state: the release's plan built from the state (pure),
//! its cluster part asked of the backend (`Command::ReadPlan`) and filled
//! in when `BackendEvent::Plan` answers. Drawn by `ui::plan`.

use super::state::AppState;
use crate::protocol::command::Command;
use crate::runbook::plan::{self, ClusterSlot, Plan, PlanInput};

/// The plan of the release `state` holds, with every value as its steps
/// will see it, masked with the release's secrets, and the content hash
/// sign-offs bind to (the approval hash).
pub fn build(state: &AppState) -> Plan {
    let scope = state.scope(state.release.inputs.clone(), true);
    plan::build(&PlanInput {
        runbook: &state.runbook,
        environment: &state.release.environment,
        release: Some(state.release.id.as_str()).filter(|id| !id.is_empty()),
        scope: &scope,
        secrets: &state.values.secrets,
        content: state.content.current.as_ref(),
    })
}

/// The command that reads the cluster part of `plan` (none when no step
/// changes anything outside).
pub fn read_command(state: &AppState, plan: &Plan) -> Option<Command> {
    let targets = plan.targets();
    if targets.is_empty() {
        return None;
    }
    Some(Command::ReadPlan {
        targets,
        cluster: super::rollout::cluster(state),
    })
}

/// `P`: show or hide the plan; showing it builds it afresh and reads the
/// cluster part again.
pub fn toggle(state: &mut AppState) -> Vec<Command> {
    state.plan.open = !state.plan.open;
    state.plumbing.dirty = true;
    if !state.plan.open {
        return Vec::new();
    }
    let p = build(state);
    state.plan.scroll = 0;
    let cmd = read_command(state, &p);
    state.plan.reading = cmd.is_some();
    state.plan.plan = Some(p);
    cmd.into_iter().collect()
}

/// The backend's answer: each step's slot (masked where text enters).
pub fn answered(state: &mut AppState, slots: Vec<(usize, ClusterSlot)>) {
    state.plan.reading = false;
    let secrets = state.values.secrets.clone();
    // Text from the cluster enters here: masked, then made safe to draw.
    let clean = |s: &str| crate::sanitize::sanitize_line(&secrets.mask(s));
    if let Some(p) = &mut state.plan.plan {
        for (i, slot) in slots {
            p.fill(i, slot, &clean);
        }
        p.not_read("no answer");
    }
    state.plumbing.dirty = true;
}

/// The gate a watcher (not the driver) may sign now: the current step, a
/// gate, waiting. The approver's view shows it with its evidence.
pub fn approver_gate(state: &AppState) -> Option<usize> {
    if !super::team::watching(state) || state.release.status.is_final() {
        return None;
    }
    let i = state.release.current(&state.runbook)?;
    (matches!(state.action(i), Some(crate::runbook::StepAction::Gate(_)))
        && state.status(i) == Some(&crate::runbook::progress::StepStatus::Waiting))
    .then_some(i)
}

/// On each tick: a gate newly waiting for this watcher gets its view: the
/// gate selected (so `a`/`x` sign it) and the plan built and read once.
pub fn tick(state: &mut AppState, out: &mut Vec<Command>) {
    let gate = approver_gate(state);
    if gate == state.plan.approver_gate {
        return;
    }
    state.plan.approver_gate = gate;
    let Some(g) = gate else {
        return;
    };
    state.view.selected = g;
    state.plumbing.dirty = true;
    let p = build(state);
    if let Some(cmd) = read_command(state, &p) {
        state.plan.reading = true;
        out.push(cmd);
    }
    state.plan.plan = Some(p);
}

/// PgUp/PgDn scroll the plan (or the approver's view) while it is shown.
pub fn scrolls(state: &AppState) -> bool {
    state.plan.open || approver_gate(state).is_some()
}

/// Scroll the pane by `delta` lines.
pub fn scroll(state: &mut AppState, delta: i32) {
    let s = state.plan.scroll as i32 + delta;
    state.plan.scroll = s.max(0) as u16;
    state.plumbing.dirty = true;
}
