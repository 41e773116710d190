//! The template fields of the data step kinds (see `template.rs`).

use super::data::*;
use super::template::Templated;

type Visit<'a> = &'a mut dyn FnMut(&'static str, &mut String);

fn opt(f: Visit<'_>, field: &'static str, s: &mut Option<String>) {
    if let Some(s) = s {
        f(field, s);
    }
}

pub(crate) fn visit_action(a: &mut DataAction, f: Visit<'_>) {
    match a {
        DataAction::Migrate(m) => {
            f("migrate.dsn", &mut m.dsn);
            f("migrate.dir", &mut m.dir);
            if let Some(tool) = &mut m.tool {
                tool.visit(f);
            }
        }
        DataAction::Backup(b) => {
            f("backup.dsn", &mut b.dsn);
            f("backup.dir", &mut b.dir);
            f("backup.file", &mut b.file);
        }
        DataAction::Restore(r) => {
            f("restore.dsn", &mut r.dsn);
            f("restore.file", &mut r.file);
        }
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
        DataAction::Notify(n) => {
            f("notify.url", &mut n.url);
            f("notify.message", &mut n.message);
        }
    }
}

fn prom(p: &mut PromSpec, f: Visit<'_>) {
    f("prometheus.url", &mut p.url);
    f("prometheus.query", &mut p.query);
}

pub(crate) fn visit_check(c: &mut DataCheck, f: Visit<'_>) {
    match c {
        DataCheck::Postgres(p) => {
            f("check.postgres.dsn", &mut p.dsn);
            opt(f, "check.postgres.query", &mut p.query);
            opt(f, "check.postgres.expect", &mut p.expect);
        }
        DataCheck::Redis(r) => {
            f("check.redis.address", &mut r.address);
            opt(f, "check.redis.password", &mut r.password);
            for (k, e) in &mut r.keys {
                f("check.redis.keys", k);
                if let KeyExpect::Equals(v) = e {
                    f("check.redis.keys", v);
                }
            }
        }
        DataCheck::Registry(r) => {
            f("check.registry.url", &mut r.url);
            opt(f, "check.registry.username", &mut r.username);
            opt(f, "check.registry.password", &mut r.password);
        }
        DataCheck::Tls(t) => {
            f("check.tls.address", &mut t.address);
            opt(f, "check.tls.server_name", &mut t.server_name);
            opt(f, "check.tls.ca_file", &mut t.ca_file);
        }
        DataCheck::Prometheus(p) => prom(p, f),
    }
}
