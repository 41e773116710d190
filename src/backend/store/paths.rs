//! Where the journal and the audit key live by default. The key is kept
//! apart from the database (config dir vs data dir), so whoever can edit
//! the database cannot simply re-sign it.

use std::path::PathBuf;

use directories::ProjectDirs;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("dev", "flightdeck", "flightdeck")
}

/// `<data dir>/journal.db`, e.g. `~/.local/share/flightdeck/journal.db`.
pub fn default_journal_path() -> Option<PathBuf> {
    dirs().map(|d| d.data_dir().join("journal.db"))
}

/// `<config dir>/audit.key`, e.g. `~/.config/flightdeck/audit.key`.
pub fn default_audit_key_path() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("audit.key"))
}
