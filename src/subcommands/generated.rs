//! Text generated from flightdeck's own definitions: shell completions and
//! man pages from the clap CLI, the runbook JSON Schema. Printed verbatim:
//! none of it holds text from users or services.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{CmdResult, EXIT_OK, Failure};
use crate::cli::{Cli, CompletionShell};

/// The completion script for `shell`.
pub fn completions(shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "flightdeck", &mut out);
    out
}

/// `flightdeck.1`, and one `flightdeck-NAME.1` per visible subcommand, as
/// (file name, roff) pairs; the first is the top-level page.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names the subcommands `flightdeck-NAME` (their display name).
    cmd.build();
    let mut pages = vec![page(cmd.clone())?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(page(sub.clone())?);
    }
    Ok(pages)
}

fn page(cmd: clap::Command) -> Result<(String, Vec<u8>), std::io::Error> {
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render(&mut out)?;
    Ok((man.get_filename(), out))
}

pub fn print_completions(shell: CompletionShell) -> CmdResult {
    write_stdout(&completions(shell))
}

/// The top-level page on stdout, or every page written into `dir`.
pub fn print_man(dir: Option<&Path>) -> CmdResult {
    let pages = man_pages().map_err(|e| Failure::failed(format!("man page: {e}")))?;
    let Some(dir) = dir else {
        return write_stdout(&pages[0].1);
    };
    std::fs::create_dir_all(dir).map_err(|e| Failure::failed(format!("{}: {e}", dir.display())))?;
    for (name, roff) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, roff)
            .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
    }
    Ok(EXIT_OK)
}

pub fn print_schema() -> CmdResult {
    write_stdout(crate::runbook::schema::RUNBOOK_SCHEMA.as_bytes())
}

fn write_stdout(bytes: &[u8]) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(EXIT_OK),
        // `| head` closing the pipe is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(Failure::failed(format!("stdout: {e}"))),
    }
}
