//! Parsing the data step kinds (see `data.rs`), the top-level `notify:`
//! hooks, and the links between steps (backup files, restore sources, a
//! migration's default undo).

use std::collections::BTreeMap;
use std::time::Duration;

use super::data::*;
use super::model::{CheckSpec, Runbook, StepAction};
use super::parse::{Ctx, Fields, expect_json, http_method as method, http_status as status, list};
use super::yaml::{Node, Value};

/// A family of keys, each with the reader of its value: the list of keys
/// the parser accepts and the reader they dispatch to are written once.
macro_rules! family {
    ($keys:ident, $read:ident -> $ty:ident { $($key:literal => $variant:ident($parse:ident)),* $(,)? }) => {
        pub(crate) const $keys: &[&str] = &[$($key),*];

        fn $read(ctx: &mut Ctx, key: &str, node: &Node, path: &str) -> Option<$ty> {
            match key {
                $($key => $parse(ctx, node, path).map($ty::$variant),)*
                _ => None,
            }
        }
    };
}

// Step keys this family owns (`migrate:`, `backup:`, ...).
family!(KEYS, data_action -> DataAction {
    "migrate" => Migrate(migrate), "backup" => Backup(backup), "restore" => Restore(restore),
    "smoke" => Smoke(smoke), "load" => Load(load), "prometheus" => Prometheus(prometheus),
    "notify" => Notify(notify),
});

// `check:` sub-keys this family owns.
family!(CHECK_KEYS, data_check -> DataCheck {
    "postgres" => Postgres(postgres), "redis" => Redis(redis), "registry" => Registry(registry),
    "tls" => Tls(tls), "prometheus" => Prometheus(prometheus),
});

pub(crate) fn action(ctx: &mut Ctx, key: &str, node: &Node, path: &str) -> Option<StepAction> {
    data_action(ctx, key, node, path).map(StepAction::Data)
}

pub(crate) fn check(ctx: &mut Ctx, key: &str, node: &Node, path: &str) -> Option<CheckSpec> {
    data_check(ctx, key, node, path).map(CheckSpec::Data)
}

fn number(ctx: &mut Ctx, f: &mut Fields<'_>, name: &'static str) -> Option<f64> {
    let node = f.get(name)?;
    if let Value::Str(s) = &node.value {
        let field = f.field(name);
        return ctx.templated_number(node.pos, &field, s, "a number", |x: &f64| x.is_finite());
    }
    match node.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(x) => Some(x),
        _ => {
            ctx.expected(node, &f.field(name), "a number");
            None
        }
    }
}

fn positive(ctx: &mut Ctx, f: &mut Fields<'_>, name: &'static str, default: u32) -> u32 {
    let pos_field = f.field(name);
    match f.uint(ctx, name) {
        Some(0) => {
            ctx.err(Default::default(), &pos_field, "must be 1 or more");
            default
        }
        Some(n) => n,
        None => default,
    }
}

fn postgres(ctx: &mut Ctx, node: &Node, path: &str) -> Option<PostgresCheck> {
    if let Value::Str(s) = &node.value {
        return Some(PostgresCheck {
            dsn: s.clone(),
            query: None,
            params: Vec::new(),
            expect: None,
            max_pool_usage: 80.0,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let dsn = f.required_string(ctx, "dsn");
    let query = f.string(ctx, "query");
    let expect = f
        .get("expect")
        .and_then(|n| super::parse::scalar_string(ctx, n, &format!("{path}.expect")));
    if expect.is_some() && query.is_none() {
        ctx.err(node.pos, &f.field("expect"), "needs a query to compare");
    }
    let max_pool_usage = number(ctx, &mut f, "max_pool_usage").unwrap_or(80.0);
    if !(0.0..=100.0).contains(&max_pool_usage) {
        ctx.err(
            node.pos,
            &f.field("max_pool_usage"),
            "a percentage between 0 and 100",
        );
    }
    f.finish(ctx);
    Some(PostgresCheck {
        dsn,
        query,
        params: Vec::new(),
        expect,
        max_pool_usage,
    })
}

fn redis(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RedisCheck> {
    if let Value::Str(s) = &node.value {
        return Some(RedisCheck {
            address: s.clone(),
            password: None,
            expect_role: None,
            keys: Vec::new(),
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let address = f.required_string(ctx, "address");
    let password = f.string(ctx, "password");
    let expect_role = f.string(ctx, "role");
    let mut keys = Vec::new();
    if let Some(n) = f.get("keys") {
        match &n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let e = match &v.value {
                        Value::Str(s) if s == "exists" => KeyExpect::Exists,
                        Value::Str(s) if s == "missing" => KeyExpect::Missing,
                        Value::Map(m) if m.len() == 1 && m[0].0.name == "equals" => {
                            match super::parse::scalar_string(
                                ctx,
                                &m[0].1,
                                &format!("{path}.keys.{}.equals", k.name),
                            ) {
                                Some(s) => KeyExpect::Equals(s),
                                None => continue,
                            }
                        }
                        _ => {
                            ctx.err(
                                v.pos,
                                &format!("{path}.keys.{}", k.name),
                                "expected exists, missing or { equals: VALUE }",
                            );
                            continue;
                        }
                    };
                    keys.push((k.name.clone(), e));
                }
            }
            _ => ctx.expected(n, &f.field("keys"), "a mapping of key -> expectation"),
        }
    }
    f.finish(ctx);
    Some(RedisCheck {
        address,
        password,
        expect_role,
        keys,
    })
}

fn registry(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RegistryCheck> {
    if let Value::Str(s) = &node.value {
        return Some(RegistryCheck {
            url: s.clone(),
            username: None,
            password: None,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let c = RegistryCheck {
        url: f.required_string(ctx, "url"),
        username: f.string(ctx, "username"),
        password: f.string(ctx, "password"),
    };
    if c.password.is_some() && c.username.is_none() {
        ctx.err(
            node.pos,
            &f.field("username"),
            "is required with a password",
        );
    }
    f.finish(ctx);
    Some(c)
}

fn tls(ctx: &mut Ctx, node: &Node, path: &str) -> Option<TlsCheck> {
    if let Value::Str(s) = &node.value {
        return Some(TlsCheck {
            address: s.clone(),
            server_name: None,
            min_days: 14,
            ca_file: None,
        });
    }
    let mut f = Fields::new(ctx, node, path)?;
    let c = TlsCheck {
        address: f.required_string(ctx, "address"),
        server_name: f.string(ctx, "server_name"),
        min_days: f.uint(ctx, "min_days").unwrap_or(14),
        ca_file: f.string(ctx, "ca_file"),
    };
    f.finish(ctx);
    Some(c)
}

fn migrate(ctx: &mut Ctx, node: &Node, path: &str) -> Option<MigrateSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let dsn = f.required_string(ctx, "dsn");
    let dir = f.required_string(ctx, "dir");
    let expect_version = match f.get("expect_version") {
        Some(n) => match n.value {
            Value::Int(i) if i >= 0 => Some(i),
            _ => {
                ctx.expected(n, &f.field("expect_version"), "a version number");
                None
            }
        },
        None => None,
    };
    let tool = match f.get("tool") {
        Some(n) => {
            let p = f.field("tool");
            super::parse::command(ctx, n, &p)
        }
        None => None,
    };
    let irreversible = f.bool(ctx, "irreversible").unwrap_or(false);
    f.finish(ctx);
    Some(MigrateSpec {
        dsn,
        dir,
        expect_version,
        tool,
        irreversible,
    })
}

fn backup(ctx: &mut Ctx, node: &Node, path: &str) -> Option<BackupSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let dsn = f.required_string(ctx, "dsn");
    let dir = f.required_string(ctx, "dir");
    f.finish(ctx);
    // `file` is set by `link`, which knows the step id.
    Some(BackupSpec {
        dsn,
        dir,
        file: String::new(),
    })
}

fn restore(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RestoreSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let from = f.required_string(ctx, "from");
    // The target defaults to the database the backup came from (set by `link`).
    let dsn = f.string(ctx, "dsn").unwrap_or_default();
    f.finish(ctx);
    Some(RestoreSpec {
        dsn,
        from,
        file: String::new(),
    })
}

fn smoke(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SmokeSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let base_url = f.required_string(ctx, "base_url");
    let concurrency = positive(ctx, &mut f, "concurrency", 4);
    let mut requests = Vec::new();
    // `areas: { health: [ {name, path, ...}, ... ], events: [...] }`
    match f.get("areas") {
        Some(n) => match &n.value {
            Value::Map(entries) => {
                for (area, items) in entries {
                    let apath = format!("{path}.areas.{}", area.name);
                    for (i, item) in list(ctx, items, &apath).iter().enumerate() {
                        if let Some(r) =
                            smoke_request(ctx, item, &format!("{apath}[{i}]"), &area.name)
                        {
                            requests.push(r);
                        }
                    }
                }
            }
            _ => ctx.expected(n, &format!("{path}.areas"), "a mapping of area -> requests"),
        },
        None => ctx.err(node.pos, &f.field("areas"), "is required"),
    }
    if requests.is_empty() {
        ctx.err(node.pos, &f.field("areas"), "list at least one request");
    }
    f.finish(ctx);
    Some(SmokeSpec {
        base_url,
        concurrency,
        requests,
    })
}

fn smoke_request(ctx: &mut Ctx, node: &Node, path: &str, area: &str) -> Option<SmokeRequest> {
    let mut f = Fields::new(ctx, node, path)?;
    let req_path = f.required_string(ctx, "path");
    let method = method(ctx, &mut f);
    let r = SmokeRequest {
        area: area.to_string(),
        name: f
            .string(ctx, "name")
            .unwrap_or_else(|| format!("{method} {req_path}")),
        method,
        path: req_path,
        headers: f.string_map(ctx, "headers"),
        body: f.string(ctx, "body"),
        expect_status: status(ctx, &mut f, "expect_status"),
        expect_json: expect_json(ctx, &mut f),
        max_latency: f.duration(ctx, "max_latency"),
    };
    f.finish(ctx);
    Some(r)
}

fn load(ctx: &mut Ctx, node: &Node, path: &str) -> Option<LoadSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let url = f.required_string(ctx, "url");
    let method = method(ctx, &mut f);
    let spec = LoadSpec {
        url,
        method,
        headers: f.string_map(ctx, "headers"),
        body: f.string(ctx, "body"),
        requests: positive(ctx, &mut f, "requests", 100),
        concurrency: positive(ctx, &mut f, "concurrency", 10),
        expect_status: status(ctx, &mut f, "expect_status"),
        // The Architect guide's targets, unless the runbook says otherwise.
        p50: Some(f.duration(ctx, "p50").unwrap_or(Duration::from_millis(100))),
        p95: Some(f.duration(ctx, "p95").unwrap_or(Duration::from_millis(500))),
        p99: Some(f.duration(ctx, "p99").unwrap_or(Duration::from_secs(1))),
        max_error_rate: number(ctx, &mut f, "max_error_rate").unwrap_or(1.0),
    };
    f.finish(ctx);
    Some(spec)
}

pub(crate) fn prometheus(ctx: &mut Ctx, node: &Node, path: &str) -> Option<PromSpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let url = f.required_string(ctx, "url");
    let query = f.required_string(ctx, "query");
    let op = match f.string(ctx, "op") {
        Some(s) => CmpOp::parse(&s).unwrap_or_else(|| {
            ctx.err(
                node.pos,
                &format!("{path}.op"),
                format!("unknown comparison {s:?}; use <, <=, > or >="),
            );
            CmpOp::Lt
        }),
        None => {
            ctx.err(node.pos, &f.field("op"), "is required (<, <=, > or >=)");
            CmpOp::Lt
        }
    };
    let threshold = match number(ctx, &mut f, "threshold") {
        Some(t) => t,
        None => {
            if !f.has("threshold") {
                ctx.err(node.pos, &f.field("threshold"), "is required");
            }
            0.0
        }
    };
    let spec = PromSpec {
        url,
        query,
        op,
        threshold,
        range: f.duration(ctx, "range"),
        step: f.duration(ctx, "step").unwrap_or(Duration::from_secs(15)),
        sustain: f.duration(ctx, "sustain"),
        interval: f
            .duration(ctx, "interval")
            .unwrap_or(Duration::from_secs(10)),
    };
    if spec.step.is_zero() || spec.interval.is_zero() {
        ctx.err(node.pos, path, "step and interval must be above zero");
    }
    f.finish(ctx);
    Some(spec)
}

fn format(ctx: &mut Ctx, f: &mut Fields<'_>) -> NotifyFormat {
    match f.string(ctx, "format").as_deref() {
        None | Some("json") => NotifyFormat::Json,
        Some("slack") => NotifyFormat::Slack,
        Some(other) => {
            ctx.err(
                Default::default(),
                &f.field("format"),
                format!("unknown format {other:?}; use slack or json"),
            );
            NotifyFormat::Json
        }
    }
}

fn notify(ctx: &mut Ctx, node: &Node, path: &str) -> Option<NotifySpec> {
    let mut f = Fields::new(ctx, node, path)?;
    let s = NotifySpec {
        url: f.required_string(ctx, "url"),
        format: format(ctx, &mut f),
        message: f.required_string(ctx, "message"),
        required: f.bool(ctx, "required").unwrap_or(false),
        retries: f.uint(ctx, "retries").unwrap_or(2),
    };
    f.finish(ctx);
    Some(s)
}

/// Top-level `notify: [{ url, format, on: [...], required, retries }]`.
pub(crate) fn hooks(ctx: &mut Ctx, node: &Node) -> Vec<NotifyHook> {
    let mut out = Vec::new();
    for (i, n) in list(ctx, node, "notify").iter().enumerate() {
        let path = format!("notify[{i}]");
        let Some(mut f) = Fields::new(ctx, n, &path) else {
            continue;
        };
        // `on:` unquoted is the boolean `true` to YAML 1.1 readers; take
        // it as written, quoted, or as `events:`.
        let on = match ["on", "true", "events"].into_iter().find(|k| f.has(k)) {
            Some(k) => f.string_list(ctx, k),
            None => HOOK_EVENTS.iter().map(|s| s.to_string()).collect(),
        };
        for e in &on {
            if !HOOK_EVENTS.contains(&e.as_str()) {
                ctx.err(
                    n.pos,
                    &format!("{path}.on"),
                    format!("unknown event {e:?}; use {}", HOOK_EVENTS.join(", ")),
                );
            }
        }
        out.push(NotifyHook {
            url: f.required_string(ctx, "url"),
            format: format(ctx, &mut f),
            on,
            required: f.bool(ctx, "required").unwrap_or(false),
            retries: f.uint(ctx, "retries").unwrap_or(2),
        });
        f.finish(ctx);
    }
    out
}

/// After all steps are parsed: give each backup its file, point each
/// restore at its backup, and offer a backup of the same database as the
/// undo of a later migration that has none.
pub(crate) fn link(ctx: &mut Ctx, rb: &mut Runbook) {
    // Backup step id -> (dsn template, file template).
    let mut backups: BTreeMap<String, (String, String)> = BTreeMap::new();
    for stage in &mut rb.stages {
        for step in &mut stage.steps {
            if let StepAction::Data(DataAction::Backup(b)) = &mut step.action {
                let dir = b.dir.trim_end_matches('/');
                let dir = if dir.is_empty() { "." } else { dir };
                b.file = format!("{dir}/${{release.id}}-{}.dump", step.id);
                backups.insert(step.id.clone(), (b.dsn.clone(), b.file.clone()));
            }
        }
    }
    let mut seen_backups: Vec<String> = Vec::new();
    for stage in &mut rb.stages {
        for step in &mut stage.steps {
            let pos = step.pos;
            for action in std::iter::once(&mut step.action).chain(step.undo.as_mut()) {
                if let StepAction::Data(DataAction::Restore(r)) = action {
                    match backups.get(&r.from) {
                        Some((dsn, file)) => {
                            r.file = file.clone();
                            if r.dsn.is_empty() {
                                r.dsn = dsn.clone();
                            }
                        }
                        None => ctx.err(
                            pos,
                            &format!("{}.restore.from", step.id),
                            format!("{:?} is not a backup step of this runbook", r.from),
                        ),
                    }
                }
            }
            if let StepAction::Data(DataAction::Migrate(m)) = &step.action
                && step.undo.is_none()
                && let Some(b) = seen_backups
                    .iter()
                    .rev()
                    .find(|id| backups.get(*id).is_some_and(|(dsn, _)| *dsn == m.dsn))
            {
                let (dsn, file) = backups[b].clone();
                step.undo = Some(StepAction::Data(DataAction::Restore(RestoreSpec {
                    dsn,
                    from: b.clone(),
                    file,
                })));
            }
            if matches!(step.action, StepAction::Data(DataAction::Backup(_))) {
                seen_backups.push(step.id.clone());
            }
        }
    }
}
