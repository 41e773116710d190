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
/// double quotes, and `#` comments. (Here-documents are not followed.)
pub fn in_shell_quotes(script: &str) -> Vec<Quoted> {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
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
    fn sql_quotes_found() {
        assert!(in_sql_quotes("SELECT 1 WHERE v = ${inputs.v}").is_empty());
        assert_eq!(
            names(in_sql_quotes("SELECT 'it''s ${inputs.v}' -- '${inputs.w}")),
            ["inputs.v in single quotes"]
        );
    }
}
