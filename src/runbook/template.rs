//! Every string of an action that may hold `${...}`, visited by name, so
//! validation (are the references defined?) and rendering (fill them in)
//! walk the same fields and a new step kind lists its fields once.

use super::interpolate::{Context, RenderError, Scope};
use super::model::*;

/// How a field's values are written when rendered: `run:` scripts get each
/// value as one quoted shell word, SQL gets bind parameters, the rest plain.
pub fn context_of(field: &str) -> Context {
    match field {
        "command.run" => Context::ShellWord,
        "check.postgres.query" => Context::Sql,
        _ => Context::Plain,
    }
}

pub trait Templated {
    /// Call `f(field, text)` for each template string, in a stable order.
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String));

    /// Render every template with `scope`; the first missing value is an error.
    fn render(&self, scope: &Scope) -> Result<Self, RenderError>
    where
        Self: Sized + Clone,
    {
        let mut out = self.clone();
        let mut err = None;
        let mut params = Vec::new();
        out.visit(&mut |field, s| {
            if err.is_none() {
                match scope.render_as(s, context_of(field), &mut params) {
                    Ok(r) => *s = r,
                    Err(e) => err = Some(e),
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if let Some(p) = out.sql_params() {
            *p = params;
        }
        Ok(out)
    }

    /// Where the bind parameters of this action's one SQL field go.
    fn sql_params(&mut self) -> Option<&mut Vec<String>> {
        None
    }

    /// (field, template) pairs, for validation.
    fn templates(&self) -> Vec<(&'static str, String)>
    where
        Self: Sized + Clone,
    {
        let mut out = Vec::new();
        self.clone()
            .visit(&mut |field, s| out.push((field, s.clone())));
        out
    }
}

fn each<'a>(
    f: &mut dyn FnMut(&'static str, &mut String),
    field: &'static str,
    items: impl Iterator<Item = &'a mut String>,
) {
    for s in items {
        f(field, s);
    }
}

impl Templated for StepAction {
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String)) {
        match self {
            StepAction::Command(c) => c.visit(f),
            StepAction::Check(c) => c.visit(f),
            StepAction::Manual(m) => each(f, "manual.items", m.items.iter_mut()),
            StepAction::Gate(_) => {}
            StepAction::Data(d) => super::data_template::visit_action(d, f),
            StepAction::Kube(k) => k.visit(f),
        }
    }

    fn sql_params(&mut self) -> Option<&mut Vec<String>> {
        match self {
            StepAction::Check(c) => c.sql_params(),
            _ => None,
        }
    }
}

impl Templated for CommandSpec {
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String)) {
        match &mut self.program {
            Program::Shell(s) => f("command.run", s),
            Program::Argv(a) => each(f, "command.argv", a.iter_mut()),
        }
        each(f, "command.env", self.env.values_mut());
        if let Some(cwd) = &mut self.cwd {
            f("command.cwd", cwd);
        }
    }
}

impl Templated for CheckSpec {
    fn visit(&mut self, f: &mut dyn FnMut(&'static str, &mut String)) {
        match self {
            CheckSpec::Env { .. } => {}
            CheckSpec::Tcp(t) => f("check.tcp.address", &mut t.address),
            CheckSpec::Http(h) => {
                f("check.http.url", &mut h.url);
                each(f, "check.http.headers", h.headers.values_mut());
                if let Some(b) = &mut h.body {
                    f("check.http.body", b);
                }
            }
            CheckSpec::Data(d) => super::data_template::visit_check(d, f),
            CheckSpec::Kube(k) => k.visit(f),
        }
    }

    fn sql_params(&mut self) -> Option<&mut Vec<String>> {
        match self {
            CheckSpec::Data(super::data::DataCheck::Postgres(p)) => Some(&mut p.params),
            _ => None,
        }
    }
}
