//! Parsing the data step kinds (see `data.rs`).

use super::model::{Action, CheckSpec};
use super::parse::Ctx;
use super::yaml::Node;

/// Step keys this family owns (`migrate:`, `backup:`, ...).
pub(crate) const KEYS: &[&str] = &[];
/// `check:` sub-keys this family owns.
pub(crate) const CHECK_KEYS: &[&str] = &[];

pub(crate) fn action(_ctx: &mut Ctx, _key: &str, _node: &Node, _path: &str) -> Option<Action> {
    None
}

pub(crate) fn check(_ctx: &mut Ctx, _key: &str, _node: &Node, _path: &str) -> Option<CheckSpec> {
    None
}
