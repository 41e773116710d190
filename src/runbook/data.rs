//! Data and verification step kinds: service checks, migrations, backups,
//! smoke suites, load, metric checks, notifications.
//!
//! Pure: plain specs (parsed in `parse_data.rs`, run in `backend/data`) and
//! the pure helpers the other layers share (secret redaction, migration
//! digests, percentiles, comparisons).

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::model::CommandSpec;

/// Steps that are not plain commands or checks: `migrate`, `backup`, ...
#[derive(Debug, Clone, PartialEq)]
pub enum DataAction {
    Migrate(MigrateSpec),
    Backup(BackupSpec),
    Restore(RestoreSpec),
    Smoke(SmokeSpec),
    Load(LoadSpec),
    Prometheus(PromSpec),
    Notify(NotifySpec),
}

/// `check: { postgres | redis | registry | tls | prometheus: ... }`
#[derive(Debug, Clone, PartialEq)]
pub enum DataCheck {
    Postgres(PostgresCheck),
    Redis(RedisCheck),
    Registry(RegistryCheck),
    Tls(TlsCheck),
    Prometheus(PromSpec),
}

impl DataAction {
    pub fn kind_name(&self) -> &'static str {
        match self {
            DataAction::Migrate(_) => "migrate",
            DataAction::Backup(_) => "backup",
            DataAction::Restore(_) => "restore",
            DataAction::Smoke(_) => "smoke",
            DataAction::Load(_) => "load",
            DataAction::Prometheus(_) => "prometheus",
            DataAction::Notify(_) => "notify",
        }
    }
}

impl DataCheck {
    pub fn kind_name(&self) -> &'static str {
        match self {
            DataCheck::Postgres(_) => "check postgres",
            DataCheck::Redis(_) => "check redis",
            DataCheck::Registry(_) => "check registry",
            DataCheck::Tls(_) => "check tls",
            DataCheck::Prometheus(_) => "check prometheus",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresCheck {
    /// `postgres://user:password@host:port/db` (usually `${env.DATABASE_URL}`).
    pub dsn: String,
    /// Run this query; with `expect`, its first column of the first row must
    /// equal `expect` (compared as text).
    pub query: Option<String>,
    /// Values of the query's `${...}`, bound as `$1`, `$2`, ... (filled when
    /// the step is rendered; never pasted into the SQL text).
    pub params: Vec<String>,
    pub expect: Option<String>,
    /// Fail when connections in use are above this percentage of
    /// `max_connections` (default 80, as the Architect guide asks).
    pub max_pool_usage: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisCheck {
    /// `redis://[:password@]host:port[/db]` or `host:port`.
    pub address: String,
    pub password: Option<String>,
    /// `master` / `slave` (Redis' words) when given.
    pub expect_role: Option<String>,
    /// Key -> expectation.
    pub keys: Vec<(String, KeyExpect)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyExpect {
    Exists,
    Missing,
    Equals(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistryCheck {
    /// Base URL of the registry, e.g. `https://registry.example.com`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsCheck {
    /// `host:port`.
    pub address: String,
    /// Name the certificate must be valid for (default: the host).
    pub server_name: Option<String>,
    /// Fail when the certificate expires within this many days (default 14).
    pub min_days: u32,
    /// A PEM file with extra trusted roots (a private CA); the system's
    /// bundled web roots are trusted otherwise.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrateSpec {
    pub dsn: String,
    /// A directory of sqlx migration files (`<version>_<name>.sql`, or
    /// `.up.sql` + `.down.sql` pairs).
    pub dir: String,
    /// The schema version the database must be at after the step.
    pub expect_version: Option<i64>,
    /// Apply with this command instead of sqlx (plan and version still come
    /// from `dir` and the `_sqlx_migrations` table when present).
    pub tool: Option<CommandSpec>,
    /// Declared irreversible by the runbook (also inferred from files).
    pub irreversible: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackupSpec {
    pub dsn: String,
    pub dir: String,
    /// The dump file: `{dir}/${release.id}-{step id}.dump`, set when the
    /// runbook is loaded so a `restore` finds it without extra plumbing.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestoreSpec {
    /// The target database.
    pub dsn: String,
    /// The backup step whose dump is restored.
    pub from: String,
    /// The dump file (taken from the backup step when loaded).
    pub file: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmokeSpec {
    pub base_url: String,
    pub concurrency: u32,
    pub requests: Vec<SmokeRequest>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmokeRequest {
    /// The group it belongs to (authentication, events, health, ...).
    pub area: String,
    pub name: String,
    pub method: String,
    /// Appended to `base_url` (or a full URL).
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub expect_status: u16,
    pub expect_json: Vec<(String, serde_json::Value)>,
    pub max_latency: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub requests: u32,
    pub concurrency: u32,
    pub expect_status: u16,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    /// Largest error rate allowed, percent.
    pub max_error_rate: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromSpec {
    /// Base URL of the Prometheus HTTP API (`http://prometheus:9090`).
    pub url: String,
    pub query: String,
    pub op: CmpOp,
    pub threshold: f64,
    /// A range query over the last `range` (every sample must hold).
    pub range: Option<Duration>,
    /// Resolution of a range query (default 15s).
    pub step: Duration,
    /// Keep querying for this long; every answer must hold.
    pub sustain: Option<Duration>,
    /// Between queries while sustaining (default 10s).
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    /// `{"text": ...}`, what Slack's incoming webhooks take.
    Slack,
    /// `{"event", "release", "runbook", "environment", "text", ...}`.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotifySpec {
    pub url: String,
    pub format: NotifyFormat,
    pub message: String,
    /// A failure to notify fails the step (by default it is only shown).
    pub required: bool,
    /// Attempts after the first failure.
    pub retries: u32,
}

/// Release events a runbook-level hook can follow.
pub const HOOK_EVENTS: &[&str] = &["started", "waiting", "failed", "rolled_back", "succeeded"];

/// Top-level `notify:` entry: posted on the release events in `on`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyHook {
    pub url: String,
    pub format: NotifyFormat,
    pub on: Vec<String>,
    pub required: bool,
    pub retries: u32,
}

/// The body posted for a message: `{"text"}` for Slack, or
/// `{"event", "text", ...extra}` as JSON.
pub fn notify_payload(
    format: NotifyFormat,
    event: &str,
    text: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    match format {
        NotifyFormat::Slack => serde_json::json!({ "text": text }),
        NotifyFormat::Json => {
            let mut v = serde_json::json!({ "event": event, "text": text });
            if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
                for (k, x) in more {
                    obj.entry(k).or_insert(x);
                }
            }
            v
        }
    }
}

// ------------------------------------------------------------ secrets

pub use super::secrets::{percent_decode, url_password};

/// The URL with its password (and secret-looking query values) replaced
/// by `***`.
pub fn redact_url(url: &str) -> String {
    super::secrets::redact_urls(url)
}

/// The data steps' name for the release's `SecretSet`: one type masks.
pub type Redactor = super::secrets::SecretSet;

// ------------------------------------------------------------ migrations

/// One sqlx migration file, parsed from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    pub version: i64,
    pub description: String,
    /// `up` for `.up.sql`, `simple` for `.sql`, `down` for `.down.sql`.
    pub kind: MigrationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationKind {
    Simple,
    Up,
    Down,
}

/// `20240101_add_users.up.sql` -> version 20240101, "add users", Up.
pub fn parse_migration_name(name: &str) -> Option<MigrationFile> {
    let stem = name.strip_suffix(".sql")?;
    let (stem, kind) = if let Some(s) = stem.strip_suffix(".up") {
        (s, MigrationKind::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, MigrationKind::Down)
    } else {
        (stem, MigrationKind::Simple)
    };
    let (version, desc) = stem.split_once('_')?;
    let version = version.parse::<i64>().ok()?;
    Some(MigrationFile {
        version,
        description: desc.replace('_', " "),
        kind,
    })
}

/// A migration is irreversible when it has no way down: a simple
/// migration, or an `.up.sql` without its `.down.sql`.
pub fn irreversible_versions(names: &[String]) -> Vec<i64> {
    let files: Vec<MigrationFile> = names
        .iter()
        .filter_map(|n| parse_migration_name(n))
        .collect();
    let mut out: Vec<i64> = files
        .iter()
        .filter(|f| match f.kind {
            MigrationKind::Simple => true,
            MigrationKind::Up => !files
                .iter()
                .any(|d| d.kind == MigrationKind::Down && d.version == f.version),
            MigrationKind::Down => false,
        })
        .map(|f| f.version)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A digest of a migration directory's contents: file names and bytes, in
/// name order. Any change to a file (or a new one) changes it.
pub fn migration_digest(files: &[(String, Vec<u8>)]) -> String {
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    h.update(b"flightdeck-migrations-v1\n");
    for (name, bytes) in sorted {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    }
    hex::encode(h.finalize())
}

/// Fold each migrate step's directory digest into the inputs an approval
/// hash is computed over (`gates::approval_hash`), so a sign-off lapses
/// when the migrations it approved change. `digests` is (step id, digest).
pub fn approval_inputs(
    inputs: &BTreeMap<String, String>,
    digests: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut out = inputs.clone();
    for (step, digest) in digests {
        out.insert(format!("@migrations.{step}"), digest.clone());
    }
    out
}

/// The migrate steps of a runbook: (step id, directory as written).
pub fn migrate_dirs(rb: &super::model::Runbook) -> Vec<(String, String)> {
    rb.steps()
        .filter_map(|s| match &s.action {
            super::model::StepAction::Data(DataAction::Migrate(m)) => {
                Some((s.id.clone(), m.dir.clone()))
            }
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------ numbers

/// Nearest-rank percentile of sorted samples (`p` in 0..=100).
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_and_masked() {
        let dsn = "postgres://app:s3cr%40t@db:5432/x?sslmode=require";
        assert_eq!(url_password(dsn), Some("s3cr%40t"));
        assert_eq!(
            redact_url(dsn),
            "postgres://app:***@db:5432/x?sslmode=require"
        );
        assert_eq!(url_password("postgres://app@db/x"), None);
        let mut r = Redactor::new();
        r.add_url(dsn);
        assert_eq!(r.apply("auth failed for s3cr@t"), "auth failed for ***");
        assert_eq!(redact_url("redis://:pw@h:1"), "redis://:***@h:1");
    }

    #[test]
    fn migration_names() {
        let f = parse_migration_name("20240101_add_users.up.sql").unwrap();
        assert_eq!((f.version, f.kind), (20240101, MigrationKind::Up));
        assert_eq!(f.description, "add users");
        assert!(parse_migration_name("README.md").is_none());
        let names: Vec<String> = ["1_a.up.sql", "1_a.down.sql", "2_b.sql", "3_c.up.sql"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(irreversible_versions(&names), vec![2, 3]);
    }

    #[test]
    fn digest_follows_contents() {
        let a = vec![("1_a.sql".to_string(), b"create table a();".to_vec())];
        let mut b = a.clone();
        b[0].1.push(b' ');
        assert_ne!(migration_digest(&a), migration_digest(&b));
        assert_eq!(migration_digest(&a), migration_digest(&a.clone()));
        let inputs = BTreeMap::new();
        let with = approval_inputs(&inputs, &[("migrate".into(), migration_digest(&a))]);
        assert_eq!(with.len(), 1);
    }

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&v, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
