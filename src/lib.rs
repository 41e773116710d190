//! flightdeck: guided software releases in the terminal.

pub mod app;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod demo_service;
pub mod event_loop;
pub mod logging;
pub mod private;
pub mod protocol;
pub mod runbook;
pub mod sanitize;
pub mod settings;
pub mod signals;
pub mod subcommands;
pub mod terminal;
pub mod ui;
