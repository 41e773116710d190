//! How a command that fails tells a person: the message (with the file,
//! line and field where there is one), a `Suggestion:` of what to do, and
//! the exit code. Printed through color-eyre's report format, sanitized.

use color_eyre::Section;
use color_eyre::config::{HookBuilder, Theme};

use super::{EXIT_FAILED, EXIT_INVALID, out};
use crate::backend::store::StoreError;
use crate::sanitize::ControlCharsError;
use crate::settings::SettingsError;

/// An error that ends a command.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
    /// What the person can do about it.
    pub suggestion: Option<String>,
}

pub type CmdResult = Result<i32, Failure>;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Failure {
    /// Bad input (exit 2).
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: EXIT_INVALID,
            suggestion: None,
        }
    }

    /// Something failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: EXIT_FAILED,
            suggestion: None,
        }
    }

    /// The screen could not be opened or drawn (`what`: "cannot open the
    /// terminal", "terminal").
    pub fn terminal(what: &str, e: impl std::fmt::Display) -> Failure {
        Failure::failed(format!("{what}: {e}")).suggest(
            "run it in an interactive terminal (a TTY); scripts and CI use `flightdeck run RUNBOOK --headless`",
        )
    }

    pub fn suggest(mut self, what: impl Into<String>) -> Failure {
        self.suggestion = Some(what.into());
        self
    }

    /// The report as a person reads it (no colour here: `print` adds it).
    pub fn report(&self) -> String {
        // A failure is the person's to fix, not a bug: no backtrace.
        let mut report =
            color_eyre::eyre::eyre!("{}", out::text(&self.message)).suppress_backtrace(true);
        if let Some(s) = &self.suggestion {
            report = report.suggestion(out::text(s));
        }
        format!("flightdeck: error{report:?}")
            .trim_end()
            .to_string()
    }

    pub fn print(&self) {
        eprintln!("{}", self.report());
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        let suggestion = suggestion_for(&e);
        let f = Failure::failed(format!("journal: {e}"));
        match suggestion {
            Some(s) => f.suggest(s),
            None => f,
        }
    }
}

impl From<SettingsError> for Failure {
    fn from(e: SettingsError) -> Failure {
        let f = Failure::invalid(e.to_string());
        match e.suggestion() {
            Some(s) => f.suggest(s),
            None => f,
        }
    }
}

impl From<ControlCharsError> for Failure {
    fn from(e: ControlCharsError) -> Failure {
        Failure::invalid(e.to_string()).suggest(format!(
            "give {} again as plain text on one line: no newlines, tabs or escape sequences",
            e.field
        ))
    }
}

/// What to do about a journal error, where there is something to do.
fn suggestion_for(e: &StoreError) -> Option<&'static str> {
    Some(match e {
        StoreError::Open { .. } => {
            "check which journal this is (`flightdeck paths`; --journal or FLIGHTDECK_JOURNAL) \
             and that its database is running and reachable"
        }
        StoreError::Migrate { .. } => {
            "open the journal once with a role that may change its schema; \
             least-privilege roles (config/sql/team-roles.sql) only read and write"
        }
        StoreError::Key { .. } => {
            "restore the audit key file from your backup, or point FLIGHTDECK_AUDIT_KEY_FILE \
             at it; flightdeck never writes a new key for a journal that has entries"
        }
        StoreError::Corrupt(_) => "run `flightdeck verify` to see which entries are affected",
        StoreError::Fenced(_) => {
            "another terminal drives this release now: open it again to watch it"
        }
        StoreError::Query { .. } | StoreError::Invalid(_) => return None,
    })
}

/// color-eyre's panic and error hooks: no source locations or environment
/// hints in reports, and no colour where `NO_COLOR` asks for none or
/// stderr is not a terminal.
pub fn install_hooks() {
    use std::io::IsTerminal;
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::stderr().is_terminal();
    let theme = if plain { Theme::new() } else { Theme::dark() };
    let _ = HookBuilder::default()
        .theme(theme)
        .display_env_section(false)
        .install();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_has_the_message_and_the_suggestion() {
        install_hooks();
        let f = Failure::failed("cannot open the journal at x.db: gone").suggest("check it");
        let r = f.report();
        assert!(r.contains("cannot open the journal at x.db: gone"), "{r}");
        assert!(r.contains("Suggestion: check it"), "{r}");
        assert!(!r.contains('\u{1b}'), "no colour off a terminal: {r:?}");
    }

    #[test]
    fn a_missing_key_suggests_restoring_it() {
        let f: Failure = StoreError::Key {
            path: "/x/audit.key".into(),
            reason: crate::backend::store::KeyProblem::NotHex,
        }
        .into();
        assert!(f.suggestion.unwrap().contains("restore the audit key"));
    }

    #[test]
    fn control_characters_in_a_message_are_not_printed() {
        install_hooks();
        let r = Failure::invalid("bad \u{1b}[2Jname").report();
        assert!(!r.contains('\u{1b}'), "{r:?}");
    }
}
