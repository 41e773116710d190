//! Why the settings cannot be loaded, told the way runbook errors are:
//! `file:line:col: field: message`, with what a person can do about it.

use std::path::{Path, PathBuf};

use crate::runbook::Problem;
use crate::runbook::yaml::Pos;
use crate::sanitize::ControlCharsError;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot find a {what} directory; set {var}")]
    NoDirectory {
        what: &'static str,
        var: &'static str,
    },
    #[error("shipped settings: {0}")]
    Shipped(#[source] toml::de::Error),
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A config file (settings or key bindings) with wrong content.
    #[error("{}", located(file, problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
    /// The person's name holds control text (the field says where it came from).
    #[error(transparent)]
    Person(#[from] ControlCharsError),
}

fn located(file: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| p.located(file).to_string())
        .collect();
    lines.join("\n")
}

impl SettingsError {
    /// What a person can do about it, where there is something to do.
    pub fn suggestion(&self) -> Option<String> {
        Some(match self {
            SettingsError::NoDirectory { var, .. } => {
                format!("set {var} to a directory flightdeck may use")
            }
            SettingsError::Shipped(_) => return None,
            SettingsError::Read { file, .. } => format!(
                "make {} readable, or move it away to use the defaults",
                file.display()
            ),
            SettingsError::Invalid { file, problems } => {
                let shipped = match file.file_name().and_then(|n| n.to_str()) {
                    Some("keybindings.toml") => "config/keybindings.toml",
                    _ => "config/flightdeck.toml",
                };
                match problems.iter().find(|p| !p.field.is_empty()) {
                    Some(p) => format!(
                        "fix `{}` in {}; {shipped} shows the settings there are",
                        p.field,
                        file.display()
                    ),
                    None => format!(
                        "fix {}; {shipped} shows the settings there are",
                        file.display()
                    ),
                }
            }
            SettingsError::Person(_) => {
                "set FLIGHTDECK_USER or identity.person to a plain name".to_string()
            }
        })
    }
}

/// A TOML error in `file`: at its line and column, in the field there.
pub(super) fn toml_problems(file: &Path, text: &str, e: &toml::de::Error) -> SettingsError {
    let message = e.message().trim().to_string();
    let problem = match e.span() {
        None => Problem {
            pos: Pos::default(),
            field: String::new(),
            message,
        },
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count();
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            Problem {
                pos: Pos {
                    line: line as u64 + 1,
                    column: before[line_start..].chars().count() as u64 + 1,
                },
                field: field_at(&lines(text), line),
                message,
            }
        }
    };
    SettingsError::Invalid {
        file: file.to_path_buf(),
        problems: vec![problem],
    }
}

/// The keymap's problems, each at the line of its field.
pub(super) fn keymap_problems(
    file: &Path,
    text: &str,
    error: &crate::app::keymap::KeymapError,
) -> SettingsError {
    let lines = lines(text);
    let problems = error
        .problems
        .iter()
        .map(|p| {
            let (field, message) = (p.field.as_str(), p.message.as_str());
            let line =
                (0..lines.len()).find(|&i| !field.is_empty() && field_at(&lines, i) == field);
            Problem {
                pos: line.map_or(Pos::default(), |l| Pos {
                    line: l as u64 + 1,
                    column: 1,
                }),
                field: field.to_string(),
                message: message.to_string(),
            }
        })
        .collect();
    SettingsError::Invalid {
        file: file.to_path_buf(),
        problems,
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The dotted name of the setting on line `line` (0-based): the table
/// header above it and the key left of `=` on it.
fn field_at(lines: &[&str], line: usize) -> String {
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
    let table = lines[..line.min(lines.len())]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let here = lines.get(line).map(|l| l.trim()).unwrap_or("");
    let key = match here.split_once('=') {
        Some((k, _)) if !here.starts_with('[') => Some(unquote(k)),
        _ => None,
    };
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (Some(t), None) => t,
        (None, Some(k)) => k,
        (None, None) => String::new(),
    }
}
