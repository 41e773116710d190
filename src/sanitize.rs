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
            // Bidi overrides and isolates, zero-width joiners used in spoofing.
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => out.push('�'),
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
}
