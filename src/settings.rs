//! Settings: shipped defaults <- the user's config file <- environment <- flags.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use serde::Deserialize;

use crate::app::keymap::Keymap;

mod error;
pub use error::SettingsError;
use error::{keymap_problems, toml_problems};

/// The shipped defaults, compiled in.
pub const DEFAULT_SETTINGS: &str = include_str!("../config/flightdeck.toml");

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    identity: IdentityFile,
    #[serde(default)]
    journal: Option<String>,
    /// Path of the shared audit key (team mode: every terminal uses one).
    #[serde(default)]
    audit_key: Option<String>,
    /// Role -> people, for roles the runbook does not list itself.
    #[serde(default)]
    roles: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    person: Option<String>,
    /// SSH private key that signs your sign-offs (`ssh-keygen -Y sign`).
    ssh_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Where this machine keeps its witnesses of journal heads.
    pub state_dir: PathBuf,
    /// Journal location: a SQLite path or a postgres:// URL.
    pub journal: String,
    pub person: String,
    pub host: String,
    pub keymap: Keymap,
    pub audit_key_path: PathBuf,
    /// Role membership from the config file (`[roles]`).
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
    /// SSH private key for evidence signing (`identity.ssh_key`).
    pub ssh_key: Option<PathBuf>,
}

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("dev", "flightdeck", "flightdeck")
}

/// A directory: `var` if set, else the platform's (`of` the project dirs).
fn dir(
    what: &'static str,
    var: &'static str,
    project: &Option<ProjectDirs>,
    of: impl FnOnce(&ProjectDirs) -> &Path,
) -> Result<PathBuf, SettingsError> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| project.as_ref().map(|p| of(p).to_path_buf()))
        .ok_or(SettingsError::NoDirectory { what, var })
}

impl Settings {
    /// `journal_flag` is `--journal`. Env: FLIGHTDECK_CONFIG_DIR,
    /// FLIGHTDECK_DATA_DIR, FLIGHTDECK_STATE_DIR, FLIGHTDECK_JOURNAL,
    /// FLIGHTDECK_USER.
    pub fn load(journal_flag: Option<&str>) -> Result<Settings, SettingsError> {
        let project = dirs();
        let config_dir = dir("config", "FLIGHTDECK_CONFIG_DIR", &project, |p| {
            p.config_dir()
        })?;
        let data_dir = dir("data", "FLIGHTDECK_DATA_DIR", &project, |p| p.data_dir())?;
        // The state dir (witnesses); platforms without one use the local data dir.
        let state_dir = dir("state", "FLIGHTDECK_STATE_DIR", &project, |p| {
            p.state_dir().unwrap_or_else(|| p.data_local_dir())
        })?;
        let mut file: File = toml::from_str(DEFAULT_SETTINGS).map_err(SettingsError::Shipped)?;
        let user_file = config_dir.join("flightdeck.toml");
        if user_file.exists() {
            let text = read(&user_file)?;
            let user = parse_file(&user_file, &text)?;
            if user.identity.person.is_some() {
                file.identity.person = user.identity.person;
            }
            if user.journal.is_some() {
                file.journal = user.journal;
            }
            if user.identity.ssh_key.is_some() {
                file.identity.ssh_key = user.identity.ssh_key;
            }
            if user.audit_key.is_some() {
                file.audit_key = user.audit_key;
            }
            file.roles.extend(user.roles);
        }
        // FLIGHTDECK_AUDIT_KEY_FILE, else `audit_key` in the file, else the config dir.
        let audit_key_path = std::env::var("FLIGHTDECK_AUDIT_KEY_FILE")
            .ok()
            .or(file.audit_key.clone())
            .filter(|s| !s.is_empty())
            .map(|p| expand_home(&p))
            .unwrap_or_else(|| config_dir.join("audit.key"));
        let ssh_key = file
            .identity
            .ssh_key
            .clone()
            .filter(|s| !s.is_empty())
            .map(|p| expand_home(&p));
        let journal = journal_flag
            .map(str::to_string)
            .or_else(|| {
                std::env::var("FLIGHTDECK_JOURNAL")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .or(file.journal.filter(|s| !s.is_empty()))
            .unwrap_or_else(|| data_dir.join("journal.db").display().to_string());
        let (person, from) = match std::env::var("FLIGHTDECK_USER")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(p) => (p, "FLIGHTDECK_USER".to_string()),
            None => match file.identity.person.filter(|s| !s.is_empty()) {
                Some(p) => (p, format!("identity.person in {}", user_file.display())),
                None => (os_user(), "the OS user name".to_string()),
            },
        };
        // A name is shown to approvers and kept in the record for years.
        crate::sanitize::refuse_controls(&from, &person)?;
        let keymap = load_keymap(&config_dir.join("keybindings.toml"))?;
        Ok(Settings {
            audit_key_path,
            roles: file.roles,
            ssh_key,
            config_dir,
            data_dir,
            state_dir,
            journal,
            person,
            host: hostname(),
            keymap,
        })
    }
}

/// `~/x` -> `$HOME/x`; other paths as given.
fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// A user config file read as settings: a TOML error becomes a problem at
/// its line and column, naming the field it is in.
fn parse_file(file: &Path, text: &str) -> Result<File, SettingsError> {
    toml::from_str(text).map_err(|e| toml_problems(file, text, &e))
}

/// The shape of a keybindings file, checked here so a wrong one is named
/// by line and field (what each key means is the keymap's to say).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for its errors only
struct KeysFile {
    keys: std::collections::BTreeMap<String, Vec<String>>,
}

fn read(file: &Path) -> Result<String, SettingsError> {
    std::fs::read_to_string(file).map_err(|source| SettingsError::Read {
        file: file.to_path_buf(),
        source,
    })
}

fn load_keymap(path: &Path) -> Result<Keymap, SettingsError> {
    let defaults = Keymap::defaults();
    if !path.exists() {
        return Ok(defaults);
    }
    let text = read(path)?;
    toml::from_str::<KeysFile>(&text).map_err(|e| toml_problems(path, &text, &e))?;
    Keymap::parse(&text, Some(&defaults)).map_err(|e| keymap_problems(path, &text, &e))
}

/// The OS user: $USER, else the passwd entry of our uid.
pub fn os_user() -> String {
    if let Ok(u) = std::env::var("USER")
        && !u.is_empty()
    {
        return u;
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy
    // the name out at once and use it from this thread only.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    format!("uid{}", unsafe { libc::getuid() })
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // when the name fits, and we stop at the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_names_file_line_column_and_field() {
        let text = "journal = \"x.db\"\n\n[identity]\nperson = \"ann\"\nsh_key = \"~/.ssh/id\"\n";
        let e = parse_file(Path::new("/c/flightdeck.toml"), text).unwrap_err();
        let SettingsError::Invalid { file, problems } = &e else {
            panic!("{e:?}")
        };
        let problem = &problems[0];
        assert_eq!(file, Path::new("/c/flightdeck.toml"));
        assert_eq!((problem.pos.line, problem.pos.column), (5, 1));
        assert_eq!(problem.field, "identity.sh_key");
        let shown = e.to_string();
        assert!(
            shown.starts_with("/c/flightdeck.toml:5:1: identity.sh_key: unknown field `sh_key`"),
            "{shown}"
        );
        assert!(!shown.contains('\n'), "one line: {shown}");
        assert!(e.suggestion().unwrap().contains("identity.sh_key"));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_at_the_value() {
        let text = "[roles]\nsecurity = \"ann\"\n";
        let e = parse_file(Path::new("f.toml"), text).unwrap_err();
        let SettingsError::Invalid { problems, .. } = &e else {
            panic!("{e:?}")
        };
        let problem = &problems[0];
        assert_eq!(problem.pos.line, 2);
        assert_eq!(problem.field, "roles.security");
        assert!(e.to_string().starts_with("f.toml:2:"), "{e}");
    }

    #[test]
    fn a_bad_key_binding_is_named_by_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keybindings.toml");
        std::fs::write(
            &path,
            "[keys]\nup = [\"up\"]\nfly = [\"f\"]\ndown = [\"nokey-x\"]\n",
        )
        .unwrap();
        let e = load_keymap(&path).unwrap_err();
        let shown = e.to_string();
        let at = |line: u32, rest: &str| format!("{}:{line}:1: {rest}", path.display());
        assert!(
            shown.contains(&at(3, "keys.fly: unknown action")),
            "{shown}"
        );
        assert!(
            shown.contains(&at(4, "keys.down: cannot read key")),
            "{shown}"
        );
        std::fs::write(&path, "[keys]\nup = \"k\"\n").unwrap();
        let shown = load_keymap(&path).unwrap_err().to_string();
        assert!(
            shown.starts_with(&at(2, "keys.up: ").replace(":1:", ":6:")),
            "{shown}"
        );
    }

    #[test]
    fn the_shipped_settings_parse() {
        parse_file(Path::new("config/flightdeck.toml"), DEFAULT_SETTINGS).unwrap();
    }
}
