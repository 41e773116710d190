//! UI state and logic: messages in, state changes and commands out.

pub mod action;
pub mod command;
pub mod content;
pub mod data_hooks;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod output;
pub mod processes;
pub mod rollout;
pub mod secrets;
pub mod setup;
pub mod state;
pub mod team;
pub mod update;
pub mod watch;
