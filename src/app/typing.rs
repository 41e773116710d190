//! Typing into a one-line text field (dialogs, the home filter, the start
//! form): one rule for what a person may type.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Longest text a field takes, in characters.
pub const MAX_CHARS: usize = 500;

/// Apply `key` to `text`: Backspace deletes, a printable character is
/// added. Returns whether the text changed.
pub fn edit(text: &mut String, key: KeyEvent) -> bool {
    match key.code {
        KeyCode::Backspace => text.pop().is_some(),
        // What people type is journaled and shown to others: no control
        // or bidi characters, even pasted ones.
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL)
                && !crate::sanitize::is_refused(c)
                && text.chars().count() < MAX_CHARS =>
        {
            text.push(c);
            true
        }
        _ => false,
    }
}
