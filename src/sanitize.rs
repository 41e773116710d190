//! Untrusted text (process output, HTTP bodies, later pod logs and events)
//! made safe for the terminal: no escape sequences, no control characters,
//! no bidi overrides, bounded length. Secrets are masked by the release's
//! `runbook::secrets::SecretSet`.

/// Longest line kept, in characters; longer lines are cut with a marker.
pub const MAX_LINE_CHARS: usize = 2000;

/// Replace everything that could drive the terminal with visible text.
pub fn sanitize_line(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(MAX_LINE_CHARS + 16));
    let mut chars = input.chars().peekable();
    let mut count = 0usize;
    while let Some(c) = chars.next() {
        if count >= MAX_LINE_CHARS {
            let rest = chars.count() + 1;
            out.push_str(&format!("… [{rest} more chars]"));
            break;
        }
        match c {
            '\x1b' => {
                // Drop a whole CSI/OSC sequence, show that something was there.
                skip_escape(&mut chars);
                out.push('␛');
            }
            '\t' => out.push_str("    "),
            '\r' | '\n' => {}
            c if c.is_control() => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            c if is_bidi(c) => out.push('�'),
            c => out.push(c),
        }
        count += 1;
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            // CSI: parameters then one final byte in 0x40..=0x7e.
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        }
        Some(']') | Some('P') | Some('_') | Some('^') => {
            chars.next();
            // OSC/DCS/APC/PM: until BEL or ST (ESC \).
            while let Some(c) = chars.next() {
                if c == '\x07' {
                    break;
                }
                if c == '\x1b' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

/// Bidi overrides, isolates and marks: they reorder what is shown.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A character refused in what people type (inputs, comments, names):
/// C0 and C1 controls (newline, tab and ESC included), DEL, bidi controls.
pub fn is_refused(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// A value that holds a refused character: which field, which character
/// (never the value: it may be a secret or a sequence).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field} contains the control character U+{:04X}{}; \
     newlines, escape sequences and bidi controls are not allowed",
    *.character as u32,
    control_name(*.character)
)]
pub struct ControlCharsError {
    pub field: String,
    pub character: char,
}

fn control_name(c: char) -> &'static str {
    match c {
        '\n' => " (newline)",
        '\r' => " (carriage return)",
        '\t' => " (tab)",
        '\x1b' => " (ESC)",
        _ => "",
    }
}

/// Refuse a value with a refused character, naming the field and the
/// character (never echoing the value: it may be a secret or a sequence).
pub fn refuse_controls(field: &str, value: &str) -> Result<(), ControlCharsError> {
    match value.chars().find(|&c| is_refused(c)) {
        None => Ok(()),
        Some(character) => Err(ControlCharsError {
            field: field.to_string(),
            character,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes_and_controls() {
        let s = sanitize_line("a\x1b[31mred\x1b[0m b\x1b]0;title\x07c\x07d\u{202e}e");
        assert!(!s.contains('\x1b'));
        assert!(!s.contains('\x07'));
        assert!(!s.contains('\u{202e}'));
        assert!(s.contains("red"));
        assert!(s.starts_with('a'));
    }

    #[test]
    fn bounds_long_lines() {
        let s = sanitize_line(&"x".repeat(MAX_LINE_CHARS * 2));
        assert!(s.chars().count() < MAX_LINE_CHARS + 40);
        assert!(s.contains("more chars"));
    }

    #[test]
    fn refuses_controls_naming_the_field() {
        assert!(refuse_controls("comment", "ship it, ok? ünïcode").is_ok());
        for bad in ["a\nb", "\x1b[2J", "x\u{202e}y", "\u{85}", "\x7f", "tab\t"] {
            let e = refuse_controls("comment", bad).unwrap_err();
            assert_eq!(e.field, "comment");
            let e = e.to_string();
            assert!(e.starts_with("comment contains"), "{e}");
            assert!(!e.contains(bad), "{e}");
        }
    }
}
