//! `flightdeck validate RUNBOOK...`

use std::path::PathBuf;

use super::out;
use super::{EXIT_INVALID, EXIT_OK};

pub fn run(paths: &[PathBuf]) -> i32 {
    let mut bad = 0;
    for path in paths {
        match crate::runbook::load(path) {
            Ok(loaded) => {
                // Warnings go first, in the same `file:line:column: field:`
                // shape as errors; they never change the exit code.
                for w in crate::runbook::lint::warnings(&loaded.runbook) {
                    let field = if w.field.is_empty() {
                        String::new()
                    } else {
                        format!(" {}:", w.field)
                    };
                    out::warn(format!(
                        "{}:{}:{field} warning: {}",
                        path.display(),
                        w.pos,
                        w.message
                    ));
                }
                out::say(format!(
                    "ok    {} ({}: {} stages, {} steps)",
                    path.display(),
                    loaded.runbook.name,
                    loaded.runbook.stages.len(),
                    loaded.runbook.step_count()
                ))
            }
            Err(e) => {
                bad += 1;
                out::warn(format!("{e}"));
            }
        }
    }
    if bad > 0 {
        out::warn(format!("{bad} of {} runbook(s) invalid", paths.len()));
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}
