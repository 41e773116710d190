//! The template fields of the data step kinds (see `template.rs`).

use super::data::*;
use super::template::Templated;

type Visit<'a> = &'a mut dyn FnMut(&'static str, &mut String);

fn opt(f: Visit<'_>, field: &'static str, s: &mut Option<String>) {
    if let Some(s) = s {
        f(field, s);
    }
}

/// Visit each named field of `$s` as `"$prefix.field"`, then each set
/// `Option` field after `opt`: a field's name is written once, so the name
/// a template is known by is the field's own.
macro_rules! fields {
    ($f:expr, $prefix:literal, $s:expr; $($field:ident),* $(; opt $($o:ident),*)?) => {{
        $($f(concat!($prefix, ".", stringify!($field)), &mut $s.$field);)*
        $($(opt($f, concat!($prefix, ".", stringify!($o)), &mut $s.$o);)*)?
    }};
}

pub(crate) fn visit_action(a: &mut DataAction, f: Visit<'_>) {
    match a {
        DataAction::Migrate(m) => {
            fields!(f, "migrate", m; dsn, dir);
            if let Some(tool) = &mut m.tool {
                tool.visit(f);
            }
        }
        DataAction::Backup(b) => fields!(f, "backup", b; dsn, dir, file),
        DataAction::Restore(r) => fields!(f, "restore", r; dsn, file),
        DataAction::Smoke(s) => {
            f("smoke.base_url", &mut s.base_url);
            for r in &mut s.requests {
                f("smoke.path", &mut r.path);
                for v in r.headers.values_mut() {
                    f("smoke.headers", v);
                }
                opt(f, "smoke.body", &mut r.body);
            }
        }
        DataAction::Load(l) => {
            f("load.url", &mut l.url);
            for v in l.headers.values_mut() {
                f("load.headers", v);
            }
            opt(f, "load.body", &mut l.body);
        }
        DataAction::Prometheus(p) => prom(p, f),
        DataAction::Notify(n) => fields!(f, "notify", n; url, message),
    }
}

fn prom(p: &mut PromSpec, f: Visit<'_>) {
    fields!(f, "prometheus", p; url, query);
}

pub(crate) fn visit_check(c: &mut DataCheck, f: Visit<'_>) {
    match c {
        DataCheck::Postgres(p) => fields!(f, "check.postgres", p; dsn; opt query, expect),
        DataCheck::Redis(r) => {
            fields!(f, "check.redis", r; address; opt password);
            for (k, e) in &mut r.keys {
                f("check.redis.keys", k);
                if let KeyExpect::Equals(v) = e {
                    f("check.redis.keys", v);
                }
            }
        }
        DataCheck::Registry(r) => fields!(f, "check.registry", r; url; opt username, password),
        DataCheck::Tls(t) => fields!(f, "check.tls", t; address; opt server_name, ca_file),
        DataCheck::Prometheus(p) => prom(p, f),
    }
}
