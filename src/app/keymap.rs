//! Keybindings: defaults shipped in `config/keybindings.toml`, overridable
//! by the user's file. The help overlay is generated from the same map.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// The shipped defaults, compiled in so a fresh machine needs no files.
pub const DEFAULT_KEYBINDINGS: &str = include_str!("../../config/keybindings.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Action -> key names as written in the file ("enter", "ctrl-c", "g").
    pub bindings: BTreeMap<Action, Vec<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    keys: BTreeMap<String, Vec<String>>,
}

/// What is wrong with a keybindings file: each binding that cannot be
/// read, by its field (`keys.ACTION`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| if p.field.is_empty() { p.message.clone() } else { format!("{}: {}", p.field, p.message) }).collect::<Vec<_>>().join("; "))]
pub struct KeymapError {
    pub problems: Vec<BindingProblem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BindingProblem {
    pub field: String,
    pub message: String,
}

impl Keymap {
    pub fn defaults() -> Keymap {
        Keymap::parse(DEFAULT_KEYBINDINGS, None).expect("shipped keybindings are valid")
    }

    /// Parse a keybindings file; `base` supplies actions the file leaves out.
    pub fn parse(text: &str, base: Option<&Keymap>) -> Result<Keymap, KeymapError> {
        let file: File = toml::from_str(text).map_err(|e| KeymapError {
            problems: vec![BindingProblem {
                field: String::new(),
                message: e.message().to_string(),
            }],
        })?;
        let mut bindings = base.map(|b| b.bindings.clone()).unwrap_or_default();
        let mut errors = Vec::new();
        for (name, keys) in file.keys {
            let Some(action) = Action::from_name(&name) else {
                errors.push(BindingProblem {
                    field: format!("keys.{name}"),
                    message: "unknown action".into(),
                });
                continue;
            };
            for k in &keys {
                if parse_key(k).is_none() {
                    errors.push(BindingProblem {
                        field: format!("keys.{name}"),
                        message: format!("cannot read key {k:?}"),
                    });
                }
            }
            bindings.insert(action, keys);
        }
        if !errors.is_empty() {
            return Err(KeymapError { problems: errors });
        }
        Ok(Keymap { bindings })
    }

    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        self.bindings.iter().find_map(|(action, keys)| {
            keys.iter()
                .any(|k| parse_key(k).is_some_and(|(code, mods)| matches(key, code, mods)))
                .then_some(*action)
        })
    }

    /// The first key bound to an action, for the status bar.
    pub fn key_for(&self, action: Action) -> &str {
        self.bindings
            .get(&action)
            .and_then(|k| k.first())
            .map(String::as_str)
            .unwrap_or("?")
    }
}

fn matches(key: &KeyEvent, code: KeyCode, mods: KeyModifiers) -> bool {
    let relevant = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    let code_eq = match (key.code, code) {
        (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
        (a, b) => a == b,
    };
    code_eq && relevant == mods
}

/// "q", "G", "?", "enter", "esc", "up", "pagedown", "ctrl-c", "space".
pub fn parse_key(s: &str) -> Option<(KeyCode, KeyModifiers)> {
    let (mods, name) = match s.strip_prefix("ctrl-") {
        Some(rest) => (KeyModifiers::CONTROL, rest),
        None => match s.strip_prefix("alt-") {
            Some(rest) => (KeyModifiers::ALT, rest),
            None => (KeyModifiers::NONE, s),
        },
    };
    let code = match name {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "tab" => KeyCode::Tab,
        "space" => KeyCode::Char(' '),
        n if n.chars().count() == 1 => KeyCode::Char(n.chars().next()?),
        _ => return None,
    };
    Some((code, mods))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_name_of_the_approve_key_still_binds_it() {
        let map = Keymap::parse("[keys]\nsign_off = [\"y\"]\n", Some(&Keymap::defaults())).unwrap();
        assert_eq!(map.key_for(Action::Approve), "y");
    }

    #[test]
    fn a_bad_binding_is_named_by_its_field() {
        let e = Keymap::parse("[keys]\nfly = [\"f\"]\nrun = [\"ctrl-\"]\n", None).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["keys.fly", "keys.run"], "{e}");
    }
}
