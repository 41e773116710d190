//! Wiring only: command line -> errors -> logging -> the chosen command.

use clap::Parser;

fn main() {
    // clap echoes the arguments it refuses: print its message sanitized.
    let cli = flightdeck::cli::Cli::try_parse()
        .unwrap_or_else(|e| std::process::exit(flightdeck::subcommands::out::clap_error(&e)));
    let code = flightdeck::subcommands::main(cli);
    std::process::exit(code);
}
