//! Wiring only: command line -> errors -> logging -> the chosen command.

use clap::Parser;

fn main() {
    let cli = flightdeck::cli::Cli::parse();
    let code = flightdeck::commands::main(cli);
    std::process::exit(code);
}
