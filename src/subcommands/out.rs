//! Everything the CLI prints that may hold text from users, runbooks,
//! services or the journal passes through here, so an escape sequence in a
//! comment or an input can never drive the reader's terminal. The character
//! rules are `sanitize::sanitize_line`'s, the same the TUI uses.

use crate::backend::store::StoredRelease;
use crate::sanitize::{MAX_LINE_CHARS, sanitize_line};

/// A journal time (unix ms) as people read it, in UTC.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Multi-line text made safe line by line; line breaks are kept.
pub fn text(s: &str) -> String {
    s.split('\n').map(line).collect::<Vec<_>>().join("\n")
}

/// One Markdown table cell (or inline value): line breaks as `<br>`, pipes
/// escaped, so a value can neither end the row nor add a column.
pub fn cell(s: &str) -> String {
    s.split('\n')
        .map(line)
        .collect::<Vec<_>>()
        .join("<br>")
        .replace('|', "\\|")
}

/// One line, sanitized in pieces shorter than `sanitize_line`'s limit: a
/// record (a long JSON line, a long detail) is printed whole, not cut.
fn line(l: &str) -> String {
    let l = l.strip_suffix('\r').unwrap_or(l);
    let chars: Vec<char> = l.chars().collect();
    if chars.len() <= MAX_LINE_CHARS {
        return sanitize_line(l);
    }
    chars
        .chunks(MAX_LINE_CHARS / 2)
        .map(|c| sanitize_line(&c.iter().collect::<String>()))
        .collect()
}

/// Print to stdout, sanitized.
pub fn say(s: impl AsRef<str>) {
    println!("{}", text(s.as_ref()));
}

/// Print to stderr, sanitized.
pub fn warn(s: impl AsRef<str>) {
    eprintln!("{}", text(s.as_ref()));
}

/// Print a command-line parse error (or `--help`) without its styling and
/// sanitized, since it quotes the argument it refused; returns the exit code.
pub fn clap_error(e: &clap::Error) -> i32 {
    // `StyledStr`'s Display is the plain text.
    let message = e.render().to_string();
    let message = message.trim_end_matches('\n');
    if e.use_stderr() {
        warn(message);
    } else {
        say(message);
    }
    e.exit_code()
}

/// A release with every text field sanitized (line breaks kept), for the
/// readers that print it: `show` and `report` in every format.
pub fn release(r: &StoredRelease) -> StoredRelease {
    let mut r = r.clone();
    let o = &mut r.opened;
    for s in [
        &mut r.id,
        &mut o.runbook_name,
        &mut o.runbook_path,
        &mut o.runbook_hash,
        &mut o.environment,
        &mut o.initiator,
        &mut r.host,
    ] {
        *s = text(s);
    }
    o.inputs = o.inputs.iter().map(|(k, v)| (text(k), text(v))).collect();
    for c in &mut r.checklists {
        c.step_id = text(&c.step_id);
        c.person = text(&c.person);
        c.host = text(&c.host);
        c.note = c.note.as_deref().map(text);
        for (item, _) in &mut c.items {
            *item = text(item);
        }
    }
    for run in &mut r.steps {
        run.step_id = text(&run.step_id);
        run.detail = run.detail.as_deref().map(text);
        for l in &mut run.output {
            *l = text(l);
        }
    }
    for x in &mut r.signoffs {
        for s in [
            &mut x.gate,
            &mut x.person,
            &mut x.host,
            &mut x.role,
            &mut x.comment,
            &mut x.approved_hash,
        ] {
            *s = text(s);
        }
    }
    for c in &mut r.resume_choices {
        for s in [&mut c.step_id, &mut c.choice, &mut c.person, &mut c.host] {
            *s = text(s);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_lines_and_drops_escapes() {
        assert_eq!(text("a\x1b[2Jb\nc\x07"), "a␛b\nc␇");
        assert!(!text("\x1b]2;pwned\x07\x1b[2J").contains('\x1b'));
    }

    #[test]
    fn long_lines_are_kept_whole() {
        let long = format!(
            "{{\"detail\": \"{}\x1b[2J\"}}",
            "x".repeat(MAX_LINE_CHARS * 3)
        );
        let t = text(&long);
        assert!(!t.contains('\x1b'));
        assert_eq!(t.chars().count(), long.chars().count() - 3);
        assert!(t.ends_with("x␛\"}"));
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc\r\nd"), "a\\|b<br>c<br>d");
    }
}
