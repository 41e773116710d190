//! Content checks before steps after a passed gate (see `app::content`).

use crate::runbook::content::ContentManifest;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContentState {
    /// The content `approval_hash` was computed from. `None`: content is
    /// not checked (a state built without a session, e.g. in tests).
    pub current: Option<ContentManifest>,
    /// Manifests this release recorded, oldest first (to name what changed).
    pub history: Vec<ContentManifest>,
    /// A check was asked for this step and not answered yet.
    pub asked: Option<usize>,
    /// The check for this step passed: it may start now.
    pub cleared: Option<usize>,
    /// Open the checklist dialog of this step once it starts (ticked while
    /// its content was being checked).
    pub tick_after: Option<usize>,
    /// The runbook file no longer is the one this session loaded: nothing
    /// more starts here (a reopened session loads and checks it).
    pub runbook_moved: bool,
}
