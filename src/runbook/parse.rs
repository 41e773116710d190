//! Node tree -> `Runbook`, collecting every problem with its position.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::duration::parse_duration;
use super::model::*;
use super::numeric::Rendered;
use super::yaml::{Key, Node, Pos, Value};

/// One problem in a runbook: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pos: Pos,
    pub field: String,
    pub message: String,
}

impl Problem {
    /// `file:line:col: field: message`, the one shape every file error
    /// takes (runbooks, settings); no position or field, no such part.
    pub fn located<'a>(&'a self, file: &'a std::path::Path) -> impl std::fmt::Display + 'a {
        struct Located<'a>(&'a Problem, &'a std::path::Path);
        impl std::fmt::Display for Located<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let Located(p, file) = self;
                write!(f, "{}", file.display())?;
                // Line 0: the problem is the file's, not a place in it.
                if p.pos.line > 0 {
                    write!(f, ":{}", p.pos)?;
                }
                if !p.field.is_empty() {
                    write!(f, ": {}", p.field)?;
                }
                write!(f, ": {}", p.message)
            }
        }
        Located(self, file)
    }
}

pub(crate) struct Ctx {
    pub problems: Vec<Problem>,
    /// How `${...}` in durations, counts and thresholds resolve.
    pub numbers: super::numeric::NumericScope,
}

impl Ctx {
    pub fn new() -> Self {
        Ctx {
            problems: Vec::new(),
            numbers: Default::default(),
        }
    }

    /// Report that `node` is not what `field` takes: "expected `what`,
    /// found" the type it is.
    pub fn expected(&mut self, node: &Node, field: &str, what: &str) {
        let found = node.value.type_name();
        self.err(node.pos, field, format!("expected {what}, found {found}"));
    }

    /// `message`: text, or a typed error of the domain (its Display).
    pub fn err(&mut self, pos: Pos, field: &str, message: impl std::fmt::Display) {
        self.problems.push(Problem {
            pos,
            field: field.to_string(),
            message: message.to_string(),
        });
    }
}

thread_local! {
    /// While `keys_read` runs on this thread: every (mapping path, key)
    /// the parser looked for, so a test can hold the JSON Schema to them.
    static KEYS_READ: std::cell::RefCell<Option<Vec<(String, String)>>> =
        const { std::cell::RefCell::new(None) };
}

fn note_key(path: &str, name: &str) {
    KEYS_READ.with(|k| {
        if let Some(keys) = k.borrow_mut().as_mut() {
            keys.push((path.to_string(), name.to_string()));
        }
    });
}

/// Run `f` and return, with its result, every (mapping path, key) the
/// parser looked for meanwhile (present or not): the keys it accepts.
pub fn keys_read<R>(f: impl FnOnce() -> R) -> (R, Vec<(String, String)>) {
    KEYS_READ.with(|k| *k.borrow_mut() = Some(Vec::new()));
    let r = f();
    let keys = KEYS_READ
        .with(|k| k.borrow_mut().take())
        .unwrap_or_default();
    (r, keys)
}

/// A mapping being read field by field; unknown fields are reported on `finish`.
pub(crate) struct Fields<'a> {
    path: String,
    pos: Pos,
    entries: Vec<(&'a Key, &'a Node)>,
    used: HashSet<&'a str>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(ctx: &mut Ctx, node: &'a Node, path: &str) -> Option<Self> {
        match &node.value {
            Value::Map(entries) => Some(Fields {
                path: path.to_string(),
                pos: node.pos,
                entries: entries.iter().map(|(k, v)| (k, v)).collect(),
                used: HashSet::new(),
            }),
            Value::Null => Some(Fields {
                path: path.to_string(),
                pos: node.pos,
                entries: Vec::new(),
                used: HashSet::new(),
            }),
            _ => {
                ctx.expected(node, path, "a mapping");
                None
            }
        }
    }

    pub(crate) fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.path, name)
        }
    }

    pub(crate) fn get(&mut self, name: &'static str) -> Option<&'a Node> {
        note_key(&self.path, name);
        let found = self.entries.iter().find(|(k, _)| k.name == name)?;
        self.used.insert(name);
        Some(found.1)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        note_key(&self.path, name);
        self.entries.iter().any(|(k, _)| k.name == name)
    }

    pub(crate) fn string(&mut self, ctx: &mut Ctx, name: &'static str) -> Option<String> {
        let node = self.get(name)?;
        as_string(ctx, node, &self.field(name))
    }

    pub(crate) fn required_string(&mut self, ctx: &mut Ctx, name: &'static str) -> String {
        if !self.has(name) {
            ctx.err(self.pos, &self.field(name), "is required");
            return String::new();
        }
        self.string(ctx, name).unwrap_or_default()
    }

    pub(crate) fn bool(&mut self, ctx: &mut Ctx, name: &'static str) -> Option<bool> {
        let node = self.get(name)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                ctx.expected(node, &self.field(name), "true or false");
                None
            }
        }
    }

    pub(crate) fn uint(&mut self, ctx: &mut Ctx, name: &'static str) -> Option<u32> {
        let node = self.get(name)?;
        if let Value::Str(s) = &node.value {
            let field = self.field(name);
            return ctx.templated_number(node.pos, &field, s, "a whole number >= 0", |_| true);
        }
        match node.value {
            Value::Int(i) if (0..=u32::MAX as i64).contains(&i) => Some(i as u32),
            _ => {
                ctx.expected(node, &self.field(name), "a whole number >= 0");
                None
            }
        }
    }

    pub(crate) fn duration(&mut self, ctx: &mut Ctx, name: &'static str) -> Option<Duration> {
        let node = self.get(name)?;
        let field = self.field(name);
        match &node.value {
            Value::Str(s) => {
                let (text, what) = match ctx.numeric(node.pos, &field, s) {
                    Rendered::Plain => (s.clone(), String::new()),
                    Rendered::Value(v, what) => (v, what),
                    Rendered::Later | Rendered::Bad => return None,
                };
                match parse_duration(&text) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        // parse_duration repeats its text: not a secret's.
                        let e = if what.contains("(a secret input)") {
                            "not a duration (use e.g. 500ms, 30s, 5m, 1h)".to_string()
                        } else {
                            e.to_string()
                        };
                        ctx.err(node.pos, &field, format!("{what}{e}"));
                        None
                    }
                }
            }
            Value::Int(i) if *i >= 0 => Some(Duration::from_secs(*i as u64)),
            _ => {
                ctx.expected(node, &field, "a duration such as \"30s\" or \"5m\"");
                None
            }
        }
    }

    pub(crate) fn string_map(
        &mut self,
        ctx: &mut Ctx,
        name: &'static str,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(node) = self.get(name) else {
            return out;
        };
        let field = self.field(name);
        match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let f = format!("{field}.{}", k.name);
                    if let Some(s) = scalar_string(ctx, v, &f) {
                        out.insert(k.name.clone(), s);
                    }
                }
            }
            Value::Null => {}
            _ => ctx.expected(node, &field, "a mapping"),
        }
        out
    }

    pub(crate) fn string_list(&mut self, ctx: &mut Ctx, name: &'static str) -> Vec<String> {
        let Some(node) = self.get(name) else {
            return Vec::new();
        };
        string_list(ctx, node, &self.field(name))
    }

    pub(crate) fn finish(self, ctx: &mut Ctx) {
        for (k, _) in &self.entries {
            if !self.used.contains(k.name.as_str()) {
                ctx.err(k.pos, &self.field(&k.name), "unknown field");
            }
        }
    }
}

pub(crate) fn as_string(ctx: &mut Ctx, node: &Node, field: &str) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        _ => {
            ctx.expected(node, field, "a string");
            None
        }
    }
}

/// Values in env maps may be written unquoted (`PORT: 8080`).
pub(crate) fn scalar_string(ctx: &mut Ctx, node: &Node, field: &str) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => {
            ctx.expected(node, field, "a plain value");
            None
        }
    }
}

pub(crate) fn string_list(ctx: &mut Ctx, node: &Node, field: &str) -> Vec<String> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| as_string(ctx, n, &format!("{field}[{i}]")))
            .collect(),
        _ => {
            ctx.expected(node, field, "a list of strings");
            Vec::new()
        }
    }
}

pub(crate) fn list<'a>(ctx: &mut Ctx, node: &'a Node, field: &str) -> &'a [Node] {
    match &node.value {
        Value::Seq(items) => items,
        Value::Null => &[],
        _ => {
            ctx.expected(node, field, "a list");
            &[]
        }
    }
}

pub(crate) fn runbook(ctx: &mut Ctx, root: &Node) -> Runbook {
    let mut rb = Runbook {
        name: String::new(),
        description: String::new(),
        environments: Vec::new(),
        inputs: Vec::new(),
        roles: BTreeMap::new(),
        stages: Vec::new(),
        notify: Vec::new(),
        secrets: Vec::new(),
    };
    let Some(mut f) = Fields::new(ctx, root, "") else {
        return rb;
    };
    rb.name = f.required_string(ctx, "name");
    rb.description = f.string(ctx, "description").unwrap_or_default();
    if let Some(node) = f.get("environments") {
        rb.environments = environments(ctx, node);
    }
    if let Some(node) = f.get("inputs") {
        rb.inputs = inputs(ctx, node);
    }
    ctx.numbers.declared = rb
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.default.clone()))
        .collect();
    ctx.numbers.secret = rb
        .inputs
        .iter()
        .filter(|i| i.secret)
        .map(|i| i.name.clone())
        .collect();
    if let Some(node) = f.get("roles") {
        rb.roles = roles(ctx, node);
    }
    if let Some(node) = f.get("notify") {
        rb.notify = super::parse_data::hooks(ctx, node);
    }
    if let Some(node) = f.get("secrets") {
        rb.secrets = secret_names(ctx, node);
    }
    match f.get("stages") {
        Some(node) => {
            for (i, s) in list(ctx, node, "stages").iter().enumerate() {
                if let Some(stage) = stage(ctx, s, &format!("stages[{i}]")) {
                    rb.stages.push(stage);
                }
            }
        }
        None => ctx.err(root.pos, "stages", "is required"),
    }
    super::parse_data::link(ctx, &mut rb);
    f.finish(ctx);
    rb
}

/// Each entry of a mapping of names (`environments:`, `inputs:`), read by
/// `each` from its fields; an entry that is not a mapping is reported.
fn named<T>(
    ctx: &mut Ctx,
    node: &Node,
    key: &str,
    what: &str,
    mut each: impl FnMut(&mut Ctx, &Key, &Node, &str, &mut Fields<'_>) -> T,
) -> Vec<T> {
    let Value::Map(entries) = &node.value else {
        ctx.expected(node, key, &format!("a mapping of {what} names"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let path = format!("{key}.{}", k.name);
        let Some(mut f) = Fields::new(ctx, v, &path) else {
            continue;
        };
        out.push(each(ctx, k, v, &path, &mut f));
        f.finish(ctx);
    }
    out
}

fn environments(ctx: &mut Ctx, node: &Node) -> Vec<Environment> {
    named(
        ctx,
        node,
        "environments",
        "environment",
        |ctx, k, _, path, f| Environment {
            name: k.name.clone(),
            description: f.string(ctx, "description").unwrap_or_default(),
            confirm: f.bool(ctx, "confirm").unwrap_or(false),
            vars: f.string_map(ctx, "vars"),
            policy: super::policy::parse(ctx, f),
            kube: f
                .get("kube")
                .and_then(|n| super::parse_kube::pin(ctx, n, &format!("{path}.kube"))),
            identity: identity_mode(ctx, f),
        },
    )
}

fn inputs(ctx: &mut Ctx, node: &Node) -> Vec<InputSpec> {
    named(ctx, node, "inputs", "input", |ctx, k, v, path, f| {
        let kind = match f.string(ctx, "type").as_deref() {
            None | Some("string") => InputType::String,
            Some("integer") => InputType::Integer,
            Some("boolean") => InputType::Boolean,
            Some(other) => {
                ctx.err(
                    v.pos,
                    &format!("{path}.type"),
                    format!("unknown type {other:?}; use string, integer or boolean"),
                );
                InputType::String
            }
        };
        let pattern = f.string(ctx, "pattern");
        if let Some(p) = &pattern
            && let Err(e) = regex::Regex::new(p)
        {
            ctx.err(
                v.pos,
                &format!("{path}.pattern"),
                format!(
                    "not a valid regular expression: {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            );
        }
        let default = f
            .get("default")
            .and_then(|n| scalar_string(ctx, n, &format!("{path}.default")));
        if let Some(d) = &default
            && let Err(e) = crate::sanitize::refuse_controls("the default", d)
        {
            ctx.err(v.pos, &format!("{path}.default"), e);
        }
        let required = f.bool(ctx, "required").unwrap_or(default.is_none());
        InputSpec {
            name: k.name.clone(),
            description: f.string(ctx, "description").unwrap_or_default(),
            kind,
            pattern,
            default,
            required,
            secret: f.bool(ctx, "secret").unwrap_or(false),
        }
    })
}

/// `secrets: [NAME, ...]`: environment variable names, each once.
fn secret_names(ctx: &mut Ctx, node: &Node) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Value::Seq(items) = &node.value else {
        ctx.expected(node, "secrets", "a list of environment variable names");
        return out;
    };
    for (i, n) in items.iter().enumerate() {
        let field = format!("secrets[{i}]");
        let Some(name) = as_string(ctx, n, &field) else {
            continue;
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            ctx.err(
                n.pos,
                &field,
                format!("{name:?} is not an environment variable name (letters, digits, _)"),
            );
        } else if out.contains(&name) {
            ctx.err(n.pos, &field, format!("{name:?} is listed twice"));
        } else {
            out.push(name);
        }
    }
    out
}

fn roles(ctx: &mut Ctx, node: &Node) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Value::Map(entries) = &node.value else {
        ctx.expected(node, "roles", "a mapping of role -> people");
        return out;
    };
    for (k, v) in entries {
        out.insert(
            k.name.clone(),
            string_list(ctx, v, &format!("roles.{}", k.name)),
        );
    }
    out
}

fn stage(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Stage> {
    let mut f = Fields::new(ctx, node, path)?;
    let id = f.required_string(ctx, "id");
    let title = f.string(ctx, "title").unwrap_or_else(|| id.clone());
    let when = super::when::parse(ctx, &mut f);
    let mut steps = Vec::new();
    match f.get("steps") {
        Some(n) => {
            let field = f.field("steps");
            for (i, s) in list(ctx, n, &field).iter().enumerate() {
                if let Some(step) = step(ctx, s, &format!("{field}[{i}]")) {
                    steps.push(step);
                }
            }
        }
        None => ctx.err(node.pos, &f.field("steps"), "is required"),
    }
    f.finish(ctx);
    Some(Stage {
        id,
        title,
        steps,
        when,
    })
}

const CORE_KEYS: [&str; 4] = ["manual", "command", "check", "gate"];

fn action_keys() -> impl Iterator<Item = &'static str> {
    CORE_KEYS
        .into_iter()
        .chain(super::parse_data::KEYS.iter().copied())
        .chain(super::parse_kube::KEYS.iter().copied())
}

fn step(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Step> {
    let mut f = Fields::new(ctx, node, path)?;
    let id = f.required_string(ctx, "id");
    let title = f.string(ctx, "title").unwrap_or_else(|| id.clone());
    let description = f.string(ctx, "description").unwrap_or_default();
    let what = action(ctx, &mut f, node.pos);
    let timeout = f.duration(ctx, "timeout");
    let retries = f.uint(ctx, "retries").unwrap_or(0);
    let continue_on_failure = f.bool(ctx, "continue_on_failure").unwrap_or(false);
    let risky = f.bool(ctx, "risky").unwrap_or(false);
    let when = super::when::parse(ctx, &mut f);
    let undo = match f.get("undo") {
        Some(n) => {
            let upath = f.field("undo");
            Fields::new(ctx, n, &upath).and_then(|mut uf| {
                let a = action(ctx, &mut uf, n.pos);
                uf.finish(ctx);
                a
            })
        }
        None => None,
    };
    if let Some(StepAction::Gate(_) | StepAction::Manual(_)) = &undo {
        ctx.err(
            node.pos,
            &f.field("undo"),
            "an undo must be a command or a check",
        );
    }
    f.finish(ctx);
    Some(Step {
        id,
        title,
        description,
        action: what?,
        timeout,
        retries,
        continue_on_failure,
        risky,
        undo,
        when,
        pos: node.pos,
    })
}

/// Exactly one of the action keys names what the step does.
fn action(ctx: &mut Ctx, f: &mut Fields<'_>, pos: Pos) -> Option<StepAction> {
    let present: Vec<&'static str> = action_keys().filter(|k| f.has(k)).collect();
    match present.len() {
        0 => {
            ctx.err(
                pos,
                &f.field("kind"),
                format!(
                    "missing: give one of {}",
                    action_keys().collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        }
        1 => {}
        _ => {
            ctx.err(
                pos,
                &f.field(present[1]),
                format!(
                    "a step does one thing; found both {} and {}",
                    present[0], present[1]
                ),
            );
        }
    }
    let key = present[0];
    // Mark the others used too: they were reported above.
    for k in &present {
        f.get(k);
    }
    let node = f.get(key)?;
    let path = f.field(key);
    match key {
        "manual" => manual(ctx, node, &path).map(StepAction::Manual),
        "command" => command(ctx, node, &path).map(StepAction::Command),
        "check" => check(ctx, node, &path).map(StepAction::Check),
        "gate" => gate(ctx, node, &path).map(StepAction::Gate),
        k if super::parse_data::KEYS.contains(&k) => super::parse_data::action(ctx, k, node, &path),
        k => super::parse_kube::action(ctx, k, node, &path),
    }
}

fn manual(ctx: &mut Ctx, node: &Node, path: &str) -> Option<ManualSpec> {
    if let Value::Bool(true) = node.value {
        return Some(ManualSpec {
            items: Vec::new(),
            note_required: false,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let spec = ManualSpec {
        items: f.string_list(ctx, "items"),
        note_required: f.bool(ctx, "note_required").unwrap_or(false),
    };
    f.finish(ctx);
    Some(spec)
}

pub(crate) fn command(ctx: &mut Ctx, node: &Node, path: &str) -> Option<CommandSpec> {
    // `command: "make build"` is short for `command: { run: "make build" }`.
    if let Value::Str(s) = &node.value {
        return Some(CommandSpec {
            program: Program::Shell(s.clone()),
            env: BTreeMap::new(),
            cwd: None,
            grace: Duration::from_secs(5),
            background: false,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let program = match (f.has("run"), f.has("argv")) {
        (true, false) => Program::Shell(f.string(ctx, "run").unwrap_or_default()),
        (false, true) => {
            let argv = f.string_list(ctx, "argv");
            if argv.is_empty() {
                ctx.err(node.pos, &f.field("argv"), "must name a program");
            }
            Program::Argv(argv)
        }
        (true, true) => {
            ctx.err(
                node.pos,
                &f.field("argv"),
                "give either run (a shell line) or argv, not both",
            );
            f.get("argv");
            Program::Shell(f.string(ctx, "run").unwrap_or_default())
        }
        (false, false) => {
            ctx.err(
                node.pos,
                &f.field("run"),
                "is required (or argv: [program, args...])",
            );
            Program::Shell(String::new())
        }
    };
    let spec = CommandSpec {
        program,
        env: f.string_map(ctx, "env"),
        cwd: f.string(ctx, "cwd"),
        grace: f.duration(ctx, "grace").unwrap_or(Duration::from_secs(5)),
        background: f.bool(ctx, "background").unwrap_or(false),
    };
    f.finish(ctx);
    Some(spec)
}

fn check(ctx: &mut Ctx, node: &Node, path: &str) -> Option<CheckSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let kinds: Vec<&'static str> = ["env", "tcp", "http"]
        .into_iter()
        .chain(super::parse_data::CHECK_KEYS.iter().copied())
        .chain(super::parse_kube::CHECK_KEYS.iter().copied())
        .filter(|k| f.has(k))
        .collect();
    for k in &kinds {
        f.get(k);
    }
    let spec = match kinds.as_slice() {
        [k] => {
            let n = f.get(k)?;
            let p = f.field(k);
            match *k {
                "env" => Some(CheckSpec::Env {
                    vars: string_list(ctx, n, &p),
                }),
                "tcp" => tcp(ctx, n, &p).map(CheckSpec::Tcp),
                "http" => http(ctx, n, &p).map(CheckSpec::Http),
                k if super::parse_data::CHECK_KEYS.contains(&k) => {
                    super::parse_data::check(ctx, k, n, &p)
                }
                k => super::parse_kube::check(ctx, k, n, &p),
            }
        }
        [] => {
            let all: Vec<&str> = ["env", "tcp", "http"]
                .into_iter()
                .chain(super::parse_data::CHECK_KEYS.iter().copied())
                .chain(super::parse_kube::CHECK_KEYS.iter().copied())
                .collect();
            ctx.err(node.pos, path, format!("give one of {}", all.join(", ")));
            None
        }
        _ => {
            ctx.err(
                node.pos,
                path,
                format!("a check does one thing; found {}", kinds.join(" and ")),
            );
            None
        }
    };
    f.finish(ctx);
    spec
}

fn tcp(ctx: &mut Ctx, node: &Node, path: &str) -> Option<TcpCheck> {
    if let Value::Str(s) = &node.value {
        return Some(TcpCheck {
            address: s.clone(),
            connect_timeout: Duration::from_secs(5),
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let c = TcpCheck {
        address: f.required_string(ctx, "address"),
        connect_timeout: f
            .duration(ctx, "connect_timeout")
            .unwrap_or(Duration::from_secs(5)),
    };
    f.finish(ctx);
    Some(c)
}

fn http(ctx: &mut Ctx, node: &Node, path: &str) -> Option<HttpCheck> {
    if let Value::Str(s) = &node.value {
        return Some(HttpCheck {
            method: "GET".into(),
            url: s.clone(),
            headers: BTreeMap::new(),
            body: None,
            expect_status: 200,
            expect_json: Vec::new(),
            max_latency: None,
            wait: false,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let method = http_method(ctx, &mut f);
    let expect_status = http_status(ctx, &mut f, "expect_status");
    let expect_json = expect_json(ctx, &mut f);
    let c = HttpCheck {
        method,
        url: f.required_string(ctx, "url"),
        headers: f.string_map(ctx, "headers"),
        body: f.string(ctx, "body"),
        expect_status,
        expect_json,
        max_latency: f.duration(ctx, "max_latency"),
        wait: f.bool(ctx, "wait").unwrap_or(false),
    };
    f.finish(ctx);
    Some(c)
}

pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Str(s) => s.clone().into(),
        Value::Seq(items) => items.iter().map(|n| to_json(&n.value)).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, n)| (k.name.clone(), to_json(&n.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn gate(ctx: &mut Ctx, node: &Node, path: &str) -> Option<GateSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let mut roles = Vec::new();
    match f.get("roles") {
        Some(n) => match &n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    match v.value {
                        Value::Int(c) if (1..=100).contains(&c) => {
                            roles.push((k.name.clone(), c as u32))
                        }
                        _ => ctx.err(
                            v.pos,
                            &format!("{path}.roles.{}", k.name),
                            "expected the number of people needed (1 or more)",
                        ),
                    }
                }
                if entries.is_empty() {
                    ctx.err(n.pos, &format!("{path}.roles"), "name at least one role");
                }
            }
            _ => ctx.expected(n, &format!("{path}.roles"), "a mapping of role -> count"),
        },
        None => ctx.err(node.pos, &format!("{path}.roles"), "is required"),
    }
    let soak = f.duration(ctx, "soak");
    let expires = f.duration(ctx, "expires");
    let identity = identity_mode(ctx, &mut f);
    f.finish(ctx);
    Some(GateSpec {
        roles,
        soak,
        expires,
        identity,
    })
}

/// `identity: claim | signed | database` of an environment or a gate.
fn identity_mode(ctx: &mut Ctx, f: &mut Fields<'_>) -> Option<super::identity::IdentityMode> {
    let node = f.get("identity")?;
    let field = f.field("identity");
    match &node.value {
        Value::Str(s) => {
            let mode = super::identity::IdentityMode::parse(s);
            if mode.is_none() {
                ctx.err(
                    node.pos,
                    &field,
                    format!("expected claim, signed or database, found {s:?}"),
                );
            }
            mode
        }
        _ => {
            ctx.expected(node, &field, "claim, signed or database");
            None
        }
    }
}

/// `method:` of an HTTP request (default GET), checked against the verbs.
pub(crate) fn http_method(ctx: &mut Ctx, f: &mut Fields<'_>) -> String {
    let m = f
        .string(ctx, "method")
        .unwrap_or_else(|| "GET".into())
        .to_uppercase();
    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&m.as_str()) {
        ctx.err(
            f.pos,
            &f.field("method"),
            format!("unknown HTTP method {m:?}"),
        );
    }
    m
}

/// An expected HTTP status (default 200).
pub(crate) fn http_status(ctx: &mut Ctx, f: &mut Fields<'_>, name: &'static str) -> u16 {
    match f.uint(ctx, name) {
        Some(s) if (100..=599).contains(&s) => s as u16,
        Some(s) => {
            ctx.err(f.pos, &f.field(name), format!("{s} is not an HTTP status"));
            200
        }
        None => 200,
    }
}

/// `expect_json:` dotted paths and the values they must equal.
pub(crate) fn expect_json(ctx: &mut Ctx, f: &mut Fields<'_>) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    if let Some(n) = f.get("expect_json") {
        match &n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    out.push((k.name.clone(), to_json(&v.value)));
                }
            }
            _ => ctx.expected(n, &f.field("expect_json"), "a mapping of path -> value"),
        }
    }
    out
}
