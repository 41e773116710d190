//! flightdeck: guided software releases in the terminal.

pub mod app;
pub mod backend;
pub mod runbook;
pub mod sanitize;
pub mod ui;
pub mod demo_service;
pub mod cli;
pub mod commands;
pub mod event_loop;
pub mod logging;
pub mod settings;
pub mod terminal;
