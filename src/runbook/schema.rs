//! The JSON Schema of a runbook, for editors (yaml-language-server) and
//! `flightdeck schema`. Hand-written, because the parser reads a node tree
//! rather than serde types; `tests/runbook_schema.rs` keeps it honest (every
//! key the parser reads is in it, every shipped runbook validates).

pub const RUNBOOK_SCHEMA: &str = include_str!("../../assets/runbook.schema.json");
