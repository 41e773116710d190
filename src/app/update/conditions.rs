//! Steps not for this release's environment (`when:`): settled as skipped
//! with the reason "not for this environment" instead of running, and
//! journaled like any skip, so a resume and the record agree.

use super::*;
use crate::runbook::when::NOT_FOR_ENV;

/// Skip step `i` if it is not for this environment; `true` when it was
/// (or could not be, and so must not run either).
pub(crate) fn skip_if_not_for_env(state: &mut AppState, i: usize, out: &mut Vec<Command>) -> bool {
    if state.runbook.applies(i, &state.release.environment) {
        return false;
    }
    if let Err(e) = state.release.skip_not_for_env(&state.runbook, i, state.now) {
        state.notify(Level::Warn, e.0);
        return true;
    }
    let attempt = state.release.steps[i].attempts;
    state.outputs[i].push(Stream::Info, format!("skipped: {NOT_FOR_ENV}"));
    record_end(
        state,
        i,
        attempt,
        "skipped",
        None,
        Some(NOT_FOR_ENV.to_string()),
        out,
    );
    true
}
