//! `${inputs.x}`, `${env.X}`, `${release.id}` in runbook strings.

use std::collections::BTreeMap;

/// A reference found in a template: namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub namespace: String,
    pub name: String,
}

/// A template that cannot be rendered: malformed, or a reference without
/// a value (which one, and where its value was to go).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("unclosed \"${{\" in {template:?}")]
    Unclosed { template: String },
    #[error("\"${{{inner}}}\" must be namespace.name, e.g. inputs.version")]
    NotQualified { inner: String },
    #[error("\"${{{}.{}}}\" has no value", reference.namespace, reference.name)]
    NoValue {
        reference: Reference,
        context: Context,
    },
}

/// Split a template into references, or say what is malformed.
pub fn references(template: &str) -> Result<Vec<Reference>, RenderError> {
    let mut out = Vec::new();
    walk(template, Context::Plain, |r| {
        out.push(r.clone());
        Some(String::new())
    })?;
    Ok(out)
}

/// Values available to a step at run time.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub inputs: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub release: BTreeMap<String, String>,
    pub flightdeck: BTreeMap<String, String>,
}

impl Scope {
    fn lookup(&self, r: &Reference) -> Option<String> {
        let map = match r.namespace.as_str() {
            "inputs" => &self.inputs,
            "env" => &self.env,
            "release" => &self.release,
            "flightdeck" => &self.flightdeck,
            _ => return None,
        };
        map.get(&r.name).cloned()
    }

    /// Replace every reference; a missing value is an error naming it.
    pub fn render(&self, template: &str) -> Result<String, RenderError> {
        walk(template, Context::Plain, |r| self.lookup(r))
    }

    /// Render for where the text goes: each value becomes one shell word
    /// (single-quoted) in `sh -c` scripts, a bind parameter in SQL, or
    /// itself in plain text. `params` collects the SQL parameters in order.
    pub fn render_as(
        &self,
        template: &str,
        context: Context,
        params: &mut Vec<String>,
    ) -> Result<String, RenderError> {
        walk(template, context, |r| {
            let v = self.lookup(r)?;
            Some(match context {
                Context::Plain => v,
                Context::ShellWord => shell_word(&v),
                Context::Sql => {
                    params.push(v);
                    format!("${}", params.len())
                }
            })
        })
    }
}

/// Where a rendered template ends up, which decides how a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Text used as it is (URLs, argv elements, environment values).
    Plain,
    /// A script for `sh -c`: each value is one single-quoted word.
    ShellWord,
    /// SQL: each value is a bind parameter `$1`, `$2`, ...
    Sql,
}

/// `value` as one POSIX shell word: single quotes, `'` written as `'\''`.
pub fn shell_word(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn walk(
    template: &str,
    context: Context,
    mut f: impl FnMut(&Reference) -> Option<String>,
) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if !tail.starts_with("${") {
            out.push('$');
            rest = &tail[1..];
            continue;
        }
        let Some(end) = tail.find('}') else {
            return Err(RenderError::Unclosed {
                template: template.into(),
            });
        };
        let inner = tail[2..end].trim();
        let Some((ns, name)) = inner.split_once('.') else {
            return Err(RenderError::NotQualified {
                inner: inner.into(),
            });
        };
        let r = Reference {
            namespace: ns.to_string(),
            name: name.to_string(),
        };
        match f(&r) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(RenderError::NoValue {
                    reference: r,
                    context,
                });
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let mut s = Scope::default();
        s.inputs.insert("version".into(), "v1.2.3".into());
        s.release.insert("id".into(), "r-1".into());
        assert_eq!(
            s.render("deploy ${inputs.version} (${release.id}) $HOME $${x}")
                .unwrap(),
            "deploy v1.2.3 (r-1) $HOME ${x}"
        );
        let e = s.render("${inputs.nope}").unwrap_err();
        assert_eq!(e.to_string(), "\"${inputs.nope}\" has no value");
        let RenderError::NoValue { reference, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (reference.namespace.as_str(), reference.name.as_str()),
            ("inputs", "nope")
        );
        assert_eq!(
            s.render("${oops").unwrap_err().to_string(),
            "unclosed \"${\" in \"${oops\""
        );
    }

    #[test]
    fn a_missing_value_names_where_it_was_to_go() {
        let e = Scope::default()
            .render_as("echo ${inputs.v}", Context::ShellWord, &mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            e,
            RenderError::NoValue {
                context: Context::ShellWord,
                ..
            }
        ));
    }

    #[test]
    fn lists_references() {
        let r = references("a ${inputs.x} b ${env.Y}").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].namespace, "env");
    }
}
