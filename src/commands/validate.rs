//! `flightdeck validate RUNBOOK...`

use std::path::PathBuf;

use super::{EXIT_INVALID, EXIT_OK};

pub fn run(paths: &[PathBuf]) -> i32 {
    let mut bad = 0;
    for path in paths {
        match crate::runbook::load(path) {
            Ok(loaded) => println!(
                "ok    {} ({}: {} stages, {} steps)",
                path.display(),
                loaded.runbook.name,
                loaded.runbook.stages.len(),
                loaded.runbook.step_count()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} runbook(s) invalid", paths.len());
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}
