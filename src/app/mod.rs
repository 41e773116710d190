//! UI state and logic: messages in, state changes and commands out.

pub mod action;
pub mod allowed;
pub mod content;
pub mod data_hooks;
pub mod headless;
pub mod home;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod plan;
pub mod processes;
pub mod rollout;
pub mod secrets;
pub mod setup;
pub mod start_form;
pub mod state;
pub mod team;
pub mod typing;
pub mod update;
pub mod watch;
