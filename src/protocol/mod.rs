//! The messages between the app and its backends: what `update` asks
//! (`Command`, `JournalEntry`, `TeamCommand`, `WatchCommand`) and what the
//! backends report (`BackendEvent`, `KubeEvent`, `TeamEvent`, `WatchEvent`).
//! Both sides import this module; neither imports the other.

pub mod command;
pub mod event;
pub mod kube;
pub mod output;
pub mod team;
pub mod watch;
