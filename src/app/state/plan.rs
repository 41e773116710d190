//! The plan pane's state (see `app::plan`).

use crate::runbook::plan::Plan;
use crate::runbook::plan_since::SinceLast;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanState {
    /// The pane is shown (toggled with `P`).
    pub open: bool,
    pub plan: Option<Plan>,
    /// The cluster part was asked for and has not answered yet.
    pub reading: bool,
    /// First line shown.
    pub scroll: u16,
    /// What changed since the last successful release of this runbook and
    /// environment (read when the session opens; `None`: there was none).
    pub since: Option<SinceLast>,
    /// The gate the approver's view was opened for (its plan is built once).
    pub approver_gate: Option<usize>,
}
