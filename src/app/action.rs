//! What a key means: the targets of the keymap.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    Run,
    RunToGate,
    Retry,
    Skip,
    Tick,
    Approve,
    Reject,
    Cancel,
    Abort,
    ScrollUp,
    ScrollDown,
    ToggleLogs,
    Help,
    Quit,
    Rollback,
    LogScope,
    LogSearch,
    TogglePlan,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Action::Up,
        Action::Down,
        Action::Top,
        Action::Bottom,
        Action::Run,
        Action::RunToGate,
        Action::Retry,
        Action::Skip,
        Action::Tick,
        Action::Approve,
        Action::Reject,
        Action::Cancel,
        Action::Abort,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::ToggleLogs,
        Action::Help,
        Action::Quit,
        Action::Rollback,
        Action::LogScope,
        Action::LogSearch,
        Action::TogglePlan,
    ];

    /// The name used in the keybindings file.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Run => "run",
            Action::RunToGate => "run_to_gate",
            Action::Retry => "retry",
            Action::Skip => "skip",
            Action::Tick => "tick",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Abort => "abort",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::ToggleLogs => "toggle_logs",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Rollback => "rollback",
            Action::LogScope => "log_scope",
            Action::LogSearch => "log_search",
            Action::TogglePlan => "toggle_plan",
        }
    }

    /// What the help overlay and status bar say it does.
    pub fn label(self) -> &'static str {
        match self {
            Action::Up => "previous step",
            Action::Down => "next step",
            Action::Top => "first step",
            Action::Bottom => "last step",
            Action::Run => "run step",
            Action::RunToGate => "run to next gate",
            Action::Retry => "retry",
            Action::Skip => "skip (with reason)",
            Action::Tick => "tick checklist",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel step",
            Action::Abort => "abort release",
            Action::ScrollUp => "scroll output up",
            Action::ScrollDown => "scroll output down",
            Action::ToggleLogs => "app log",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Rollback => "roll back (kube)",
            Action::LogScope => "pod logs: new/old/all",
            Action::LogSearch => "search pod logs",
            Action::TogglePlan => "plan",
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        // `sign_off` was the approve key's name before 0.2.
        let s = if s == "sign_off" { "approve" } else { s };
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}
