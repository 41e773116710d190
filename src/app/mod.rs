//! UI state and logic: messages in, state changes and commands out.

pub mod action;
pub mod command;
pub mod keymap;
pub mod msg;
pub mod output;
pub mod setup;
pub mod state;
pub mod update;
