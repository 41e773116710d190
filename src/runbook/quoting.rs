//! Finding `${...}` written inside quotes, where the rendered value would
//! be quoted twice: in `run:` each value is already one single-quoted shell
//! word, in SQL a bind parameter (`'$1'` would be the text "$1").

/// The quote a reference sits in, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted {
    /// The reference as written, e.g. `inputs.version`.
    pub reference: String,
    /// "double quotes" or "single quotes".
    pub quote: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Plain,
    Single,
    Double,
}

/// References inside quotes in a `sh -c` script. Follows POSIX quoting:
/// backslash escapes, `'...'`, `"..."`, `$(...)` starting afresh inside
/// double quotes, `#` comments, and here-documents (whose bodies keep a
/// quoted value's quotes as text).
pub fn in_shell_quotes(script: &str) -> Vec<Quoted> {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    // Delimiters of here-documents opened on the current line; their bodies
    // start at the next newline.
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    // Each `$(` opens a new level with its own quoting; we return to the
    // enclosing state at its `)`.
    let mut stack: Vec<State> = Vec::new();
    let mut state = State::Plain;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match state {
            State::Single => {
                if c == '\'' {
                    state = State::Plain;
                } else if let Some(r) = reference_at(&chars, i) {
                    out.push(quoted(r, "single quotes"));
                }
            }
            State::Double | State::Plain => {
                if c == '\\' {
                    i += 2;
                    continue;
                }
                if c == '$' && chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') {
                    i += 3; // `$${` is a literal `${`
                    continue;
                }
                if c == '$' && chars.get(i + 1) == Some(&'(') {
                    stack.push(state);
                    state = State::Plain;
                    i += 2;
                    continue;
                }
                if let Some(r) = reference_at(&chars, i) {
                    if state == State::Double {
                        out.push(quoted(r, "double quotes"));
                    }
                } else if c == '"' {
                    state = if state == State::Double {
                        State::Plain
                    } else {
                        State::Double
                    };
                } else if state == State::Plain {
                    match c {
                        '<' if chars.get(i + 1) == Some(&'<') && chars.get(i + 2) != Some(&'<') => {
                            let (delim, strip, next) = heredoc_word(&chars, i + 2);
                            heredocs.push((delim, strip));
                            i = next;
                            continue;
                        }
                        '\n' if !heredocs.is_empty() => {
                            i = heredoc_bodies(&chars, i + 1, &mut heredocs, &mut out);
                            continue;
                        }
                        '\'' => state = State::Single,
                        ')' => {
                            if let Some(s) = stack.pop() {
                                state = s;
                            }
                        }
                        '#' if i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == ';' => {
                            while i < chars.len() && chars[i] != '\n' {
                                i += 1;
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// The delimiter after `<<` (or `<<-`, which strips leading tabs), without
/// its quotes, and where the scan goes on.
fn heredoc_word(chars: &[char], mut i: usize) -> (String, bool, usize) {
    let strip = chars.get(i) == Some(&'-');
    if strip {
        i += 1;
    }
    while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
        i += 1;
    }
    let mut word = String::new();
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') {
            break;
        }
        if !matches!(c, '\'' | '"' | '\\') {
            word.push(c);
        }
        i += 1;
    }
    (word, strip, i)
}

/// Skip the bodies of the pending here-documents starting at `i` (just
/// after a newline), noting every reference in them; returns where the
/// script goes on.
fn heredoc_bodies(
    chars: &[char],
    mut i: usize,
    pending: &mut Vec<(String, bool)>,
    out: &mut Vec<Quoted>,
) -> usize {
    for (delim, strip) in pending.drain(..) {
        while i < chars.len() {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n);
            let line: String = chars[i..end].iter().collect();
            let line = if strip {
                line.trim_start_matches('\t')
            } else {
                &line
            };
            i = (end + 1).min(chars.len());
            if line == delim {
                break;
            }
            let mut j = 0;
            let lc: Vec<char> = line.chars().collect();
            while j < lc.len() {
                if let Some(r) = reference_at(&lc, j) {
                    out.push(quoted(r, "a here-document"));
                }
                j += 1;
            }
        }
    }
    i
}

/// References inside SQL string literals or quoted identifiers.
pub fn in_sql_quotes(sql: &str) -> Vec<Quoted> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut state = State::Plain;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match state {
            State::Plain => {
                if c == '-' && chars.get(i + 1) == Some(&'-') {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                match c {
                    '\'' => state = State::Single,
                    '"' => state = State::Double,
                    _ => {}
                }
            }
            State::Single | State::Double => {
                let close = if state == State::Single { '\'' } else { '"' };
                if c == close {
                    // A doubled quote is an escaped one and stays inside.
                    if chars.get(i + 1) == Some(&close) {
                        i += 2;
                        continue;
                    }
                    state = State::Plain;
                } else if let Some(r) = reference_at(&chars, i) {
                    let quote = if state == State::Single {
                        "single quotes"
                    } else {
                        "double quotes"
                    };
                    out.push(quoted(r, quote));
                }
            }
        }
        i += 1;
    }
    out
}

fn quoted(reference: String, quote: &'static str) -> Quoted {
    Quoted { reference, quote }
}

/// The reference starting at `i` (`${name}`), if one does.
fn reference_at(chars: &[char], i: usize) -> Option<String> {
    if chars.get(i) != Some(&'$') || chars.get(i + 1) != Some(&'{') {
        return None;
    }
    if i > 0 && chars[i - 1] == '$' {
        return None; // `$${` is a literal `${`
    }
    let end = chars[i..].iter().position(|&c| c == '}')?;
    Some(
        chars[i + 2..i + end]
            .iter()
            .collect::<String>()
            .trim()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(q: Vec<Quoted>) -> Vec<String> {
        q.into_iter()
            .map(|q| format!("{} in {}", q.reference, q.quote))
            .collect()
    }

    #[test]
    fn shell_quotes_found() {
        assert!(in_shell_quotes("echo ${inputs.x} image:${inputs.t}").is_empty());
        assert_eq!(
            names(in_shell_quotes(r#"echo "v=${inputs.x}" '${inputs.y}'"#)),
            ["inputs.x in double quotes", "inputs.y in single quotes"]
        );
        // Escaped quotes, comments and literal `$${` are not quotes.
        assert!(in_shell_quotes(r#"echo \"${inputs.x} # it's "${inputs.y}""#).is_empty());
        assert!(in_shell_quotes(r#"echo "$${HOME}" ${inputs.x}"#).is_empty());
        // `$(...)` inside double quotes starts afresh.
        assert!(in_shell_quotes(r#"echo "$(cat ${inputs.f})" "#).is_empty());
        assert_eq!(
            names(in_shell_quotes(r#"echo "$(cat ${inputs.f}) ${inputs.g}""#)),
            ["inputs.g in double quotes"]
        );
    }

    #[test]
    fn here_document_bodies_found() {
        let script = "cat <<EOF > f\nv=${inputs.v}\nEOF\necho ${inputs.w}\ncat <<-'END'\n\t${inputs.x}\n\tEND\necho \"${inputs.y}\"";
        assert_eq!(
            names(in_shell_quotes(script)),
            [
                "inputs.v in a here-document",
                "inputs.x in a here-document",
                "inputs.y in double quotes"
            ]
        );
        // `<<<` is a here-string, not a here-document.
        assert!(in_shell_quotes("cat <<< ${inputs.v}\necho ok").is_empty());
    }

    #[test]
    fn sql_quotes_found() {
        assert!(in_sql_quotes("SELECT 1 WHERE v = ${inputs.v}").is_empty());
        assert_eq!(
            names(in_sql_quotes("SELECT 'it''s ${inputs.v}' -- '${inputs.w}")),
            ["inputs.v in single quotes"]
        );
    }
}
