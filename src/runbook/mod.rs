//! The runbook domain: model, loading and validation, the release state
//! machine and gate rules. Pure: no tokio, ratatui, kube or sqlx here.

pub mod content;
pub mod data;
mod data_template;
pub mod duration;
pub mod gates;
pub mod home;
pub mod identity;
pub mod inputs;
pub mod interpolate;
pub mod kube;
pub mod lint;
pub mod model;
mod numeric;
mod parse;
mod parse_data;
mod parse_kube;
pub mod plan;
mod plan_diff;
pub mod plan_since;
pub mod plan_text;
pub mod policy;
pub mod progress;
pub mod quoting;
pub mod record;
pub mod rollout;
pub mod schema;
pub mod secrets;
pub mod start;
pub mod template;
pub mod touching;
mod validate;
pub mod watch;
pub mod when;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

// The domain's errors, one family: each carries what it is about (file,
// line, field, input, reference) and words its message once.
pub use duration::DurationError;
pub use gates::Refusal;
pub use inputs::{InputError, InputErrors};
pub use interpolate::RenderError;
pub use model::*;
pub use parse::{Problem, keys_read};
pub use policy::PolicyError;

/// A runbook together with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub runbook: Runbook,
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, hex.
    pub content_hash: String,
    /// The text as read, parsed again at release start (`for_release`).
    pub text: String,
}

/// Everything wrong with one runbook file.
#[derive(Debug, Clone, PartialEq)]
pub struct RunbookError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for RunbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", p.located(&self.file))?;
        }
        Ok(())
    }
}

impl std::error::Error for RunbookError {}

pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parse and validate runbook text. `file` is only used in messages.
pub fn parse_str(text: &str, file: &Path) -> Result<Loaded, RunbookError> {
    parse_with(text, file, None)
}

/// The runbook as a release runs it: parsed again with the release's
/// values, so `${...}` in durations, counts and thresholds resolve, and a
/// value that is not a valid one is refused with file, line and field.
pub fn for_release(loaded: &Loaded, values: &interpolate::Scope) -> Result<Runbook, RunbookError> {
    parse_with(&loaded.text, &loaded.path, Some(values)).map(|l| l.runbook)
}

fn parse_with(
    text: &str,
    file: &Path,
    values: Option<&interpolate::Scope>,
) -> Result<Loaded, RunbookError> {
    let fail = |problems| RunbookError {
        file: file.to_path_buf(),
        problems,
    };
    let tree = yaml::parse_tree(text).map_err(|e| {
        fail(vec![Problem {
            pos: e.pos.unwrap_or_default(),
            field: String::new(),
            message: e.message,
        }])
    })?;
    let mut ctx = parse::Ctx::new();
    ctx.numbers.release = values.cloned();
    let runbook = parse::runbook(&mut ctx, &tree);
    validate::validate(&mut ctx, &runbook);
    when::validate(&mut ctx, &runbook);
    if !ctx.problems.is_empty() {
        let mut problems = ctx.problems;
        problems.sort_by_key(|p| (p.pos.line, p.pos.column));
        return Err(fail(problems));
    }
    Ok(Loaded {
        runbook,
        path: file.to_path_buf(),
        content_hash: content_hash(text.as_bytes()),
        text: text.to_string(),
    })
}

/// Read a runbook file (size-checked before reading it whole).
pub fn load(path: &Path) -> Result<Loaded, RunbookError> {
    let fail = |message: String| RunbookError {
        file: path.to_path_buf(),
        problems: vec![Problem {
            pos: Default::default(),
            field: String::new(),
            message,
        }],
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.len() > yaml::MAX_FILE_BYTES as u64 {
        return Err(fail(format!(
            "file is {} bytes; runbooks are limited to {} bytes",
            meta.len(),
            yaml::MAX_FILE_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    parse_str(&text, path)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn a_file_error_without_a_place_names_only_the_file() {
        let e = super::load(Path::new("no/such/runbook.yaml")).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with("no/such/runbook.yaml: cannot read: "),
            "{shown}"
        );
        let e = super::parse_str("name: x\nstages: 3\n", Path::new("r.yaml")).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("r.yaml:2:9: stages: expected a list"),
            "{shown}"
        );
        assert!(!shown.contains(":0:0"), "{shown}");
    }
}
