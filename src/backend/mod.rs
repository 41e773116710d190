//! Adapters: they own clients and processes, take `Command`s and send
//! `BackendEvent`s back over channels.

pub mod checks;
pub mod content;
pub mod data;
pub mod http_client;
pub mod kube;
pub mod lifeline;
pub mod outcome;
pub mod plan;
pub mod process;
pub mod runner;
pub mod services;
pub mod store;
pub mod team;
pub mod watch_journal;
