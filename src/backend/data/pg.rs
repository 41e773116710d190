//! PostgreSQL: the service check, migrations (plan, apply, version),
//! backups with `pg_dump` and restores with `pg_restore`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Connection, Row};
use tokio::io::AsyncReadExt;

use super::error::{DataError, pg_reason as describe};
use crate::backend::outcome::{Say, failure, success};
use crate::backend::process::{CancelSignal, run_command};
use crate::protocol::output::Stream;
use crate::runbook::data::{
    BackupSpec, MigrateSpec, PostgresCheck, RestoreSpec, irreversible_versions, redact_url,
    url_password,
};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect, naming the cause of a failure (without the DSN).
pub async fn connect(dsn: &str) -> Result<PgConnection, DataError> {
    let opts: PgConnectOptions =
        dsn.parse()
            .map_err(|source: sqlx::Error| DataError::InvalidDsn {
                dsn: redact_url(dsn),
                source,
            })?;
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(source)) => Err(DataError::PgConnect {
            dsn: redact_url(dsn),
            source,
        }),
        Err(_) => Err(DataError::PgNoAnswer {
            dsn: redact_url(dsn),
            after: CONNECT_TIMEOUT,
        }),
    }
}

/// The first column of a row as text, whatever its type.
fn cell_text(row: &PgRow) -> String {
    if let Ok(v) = row.try_get::<Option<String>, _>(0) {
        return v.unwrap_or_else(|| "NULL".into());
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(0) {
        return v.map_or("NULL".into(), |v| v.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(0) {
        return v.map_or("NULL".into(), |v| v.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i16>, _>(0) {
        return v.map_or("NULL".into(), |v| v.to_string());
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(0) {
        return v.map_or("NULL".into(), |v| v.to_string());
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(0) {
        return v.map_or("NULL".into(), |v| v.to_string());
    }
    "(a value of a type flightdeck does not show)".into()
}

pub async fn check(c: &PostgresCheck, say: &mut Say<'_>) -> Outcome {
    say.info(format!("connecting to {}", redact_url(&c.dsn)));
    let start = tokio::time::Instant::now();
    let mut conn = match connect(&c.dsn).await {
        Ok(conn) => conn,
        Err(e) => return failure(e),
    };
    let took = format_duration(start.elapsed());
    if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
        return failure(format!("SELECT 1 failed: {}", describe(&e)));
    }
    say.info(format!("✓ connected and SELECT 1 answered in {took}"));
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|_| "unknown".into());
    say.info(format!("server version {version}"));
    let mut failures = Vec::new();
    let pool = async {
        let used: i64 = sqlx::query_scalar("SELECT count(*)::bigint FROM pg_stat_activity")
            .fetch_one(&mut conn)
            .await?;
        let max: String = sqlx::query_scalar("SHOW max_connections")
            .fetch_one(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>((used, max.parse::<i64>().unwrap_or(0)))
    }
    .await;
    let mut usage_note = String::new();
    match pool {
        Ok((used, max)) if max > 0 => {
            let pct = used as f64 * 100.0 / max as f64;
            let ok = pct <= c.max_pool_usage;
            say.info(format!(
                "{} connections {used} of max_connections {max} ({pct:.0}%, limit {:.0}%)",
                if ok { "✓" } else { "✗" },
                c.max_pool_usage
            ));
            usage_note = format!(", {used}/{max} connections");
            if !ok {
                failures.push(format!(
                    "connection pool {pct:.0}% used ({used} of {max}), above {:.0}%",
                    c.max_pool_usage
                ));
            }
        }
        Ok(_) => say.info("max_connections unknown; pool headroom not checked"),
        Err(e) => say.info(format!("pool headroom not checked: {}", describe(&e))),
    }
    if let Some(q) = &c.query {
        match c.params.len() {
            0 => say.info(format!("query: {q}")),
            n => say.info(format!("query: {q} ({n} bound values)")),
        }
        // The SQL text is the runbook's; every `${...}` in it became a bind
        // parameter when the step was rendered, so values never become SQL.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q.as_str()));
        for p in &c.params {
            query = query.bind(p);
        }
        match query.fetch_optional(&mut conn).await {
            Ok(row) => {
                let got = row.as_ref().map(cell_text);
                match (&c.expect, got) {
                    (Some(want), Some(got)) if got.trim() == want.trim() => {
                        say.info(format!("✓ result {got} (expected {want})"))
                    }
                    (Some(want), Some(got)) => {
                        say.info(format!("✗ result {got} (expected {want})"));
                        failures.push(format!("query returned {got}, expected {want}"));
                    }
                    (Some(want), None) => {
                        say.info(format!("✗ no rows (expected {want})"));
                        failures.push(format!("query returned no rows, expected {want}"));
                    }
                    (None, got) => say.info(format!(
                        "result {}",
                        got.unwrap_or_else(|| "(no rows)".into())
                    )),
                }
            }
            Err(e) => failures.push(format!("query failed: {}", describe(&e))),
        }
    }
    let _ = conn.close().await;
    if failures.is_empty() {
        success(format!("PostgreSQL {version} answers{usage_note}"))
    } else {
        failure(failures.join("; "))
    }
}

// ---------------------------------------------------------------- migrations

/// A migration file as found in the directory.
#[derive(Debug, Clone)]
pub struct Planned {
    pub version: i64,
    pub description: String,
    pub sql: String,
    pub irreversible: bool,
}

/// Versions applied according to `_sqlx_migrations` (empty when the
/// table does not exist yet).
pub async fn applied_versions(conn: &mut PgConnection) -> Result<BTreeSet<i64>, DataError> {
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(DataError::Pg)?;
    if exists.is_none() {
        return Ok(BTreeSet::new());
    }
    let rows: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&mut *conn)
        .await
        .map_err(DataError::Pg)?;
    Ok(rows.into_iter().collect())
}

/// The schema version: the highest applied migration, 0 when none.
pub async fn schema_version(conn: &mut PgConnection) -> Result<i64, DataError> {
    Ok(applied_versions(conn).await?.last().copied().unwrap_or(0))
}

/// Every migration in `dir` (up or simple), oldest first.
pub fn read_migrations(dir: &Path) -> Result<Vec<Planned>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DataError::MigrationsDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for e in entries.flatten() {
        if let Some(n) = e.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort();
    let irreversible = irreversible_versions(&names);
    let mut out = Vec::new();
    for n in &names {
        let Some(f) = crate::runbook::data::parse_migration_name(n) else {
            continue;
        };
        if f.kind == crate::runbook::data::MigrationKind::Down {
            continue;
        }
        let sql =
            std::fs::read_to_string(dir.join(n)).map_err(|source| DataError::MigrationFile {
                name: n.clone(),
                source,
            })?;
        out.push(Planned {
            version: f.version,
            description: f.description,
            sql,
            irreversible: irreversible.contains(&f.version),
        });
    }
    out.sort_by_key(|p| p.version);
    Ok(out)
}

/// Every file in a migrations directory (name, bytes), for the approval digest.
pub fn migration_files(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file()
            && let Some(n) = e.file_name().to_str()
        {
            out.push((n.to_string(), std::fs::read(e.path())?));
        }
    }
    out.sort();
    Ok(out)
}

pub async fn migrate(
    m: &MigrateSpec,
    env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    cancel: CancelSignal,
    say: &mut Say<'_>,
) -> Outcome {
    let dir = PathBuf::from(&m.dir);
    let all = match read_migrations(&dir) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    say.info(format!(
        "{} migrations in {}; target {}",
        all.len(),
        dir.display(),
        redact_url(&m.dsn)
    ));
    let mut conn = match connect(&m.dsn).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let applied = match applied_versions(&mut conn).await {
        Ok(a) => a,
        Err(e) => return failure(format!("reading the schema version: {e}")),
    };
    let before = applied.last().copied().unwrap_or(0);
    say.info(format!("schema version before: {before}"));
    let pending: Vec<&Planned> = all
        .iter()
        .filter(|p| !applied.contains(&p.version))
        .collect();
    // The plan (dry run): what will be applied, with its SQL.
    if pending.is_empty() {
        say.info("plan: nothing pending");
    } else {
        say.info(format!("plan: {} pending migration(s)", pending.len()));
    }
    for p in &pending {
        let mark = if p.irreversible || m.irreversible {
            "  [irreversible: no down migration]"
        } else {
            ""
        };
        say.info(format!("── {} {}{mark}", p.version, p.description));
        for line in p.sql.lines() {
            say.out(format!("   {line}"));
        }
    }
    let irreversible: Vec<i64> = pending
        .iter()
        .filter(|p| p.irreversible || m.irreversible)
        .map(|p| p.version)
        .collect();
    if !pending.is_empty() {
        match &m.tool {
            Some(tool) => {
                say.info("applying with the migration tool");
                let _ = conn.close().await;
                // Lines come over a channel: the sink owns nothing borrowed.
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Stream, String)>();
                let run = run_command(tool, env, timeout, cancel, move |s, l| {
                    let _ = tx.send((s, l));
                });
                tokio::pin!(run);
                let emit = |say: &mut Say<'_>, (s, l): (Stream, String)| match s {
                    Stream::Stdout => say.out(l),
                    Stream::Stderr => say.err(l),
                    Stream::Info => say.info(l),
                };
                let ran = loop {
                    tokio::select! {
                        ran = &mut run => break ran,
                        Some(line) = rx.recv() => emit(say, line),
                    }
                };
                while let Ok(line) = rx.try_recv() {
                    emit(say, line);
                }
                if let Outcome::Failure { reason, exit_code } = ran.outcome {
                    return Outcome::Failure {
                        reason: format!("migration tool failed: {reason}"),
                        exit_code,
                    };
                }
                conn = match connect(&m.dsn).await {
                    Ok(c) => c,
                    Err(e) => return failure(e),
                };
            }
            None => {
                say.info("applying with sqlx");
                let migrator = match sqlx::migrate::Migrator::new(dir.as_path()).await {
                    Ok(mg) => mg,
                    Err(e) => return failure(format!("reading migrations: {e}")),
                };
                if let Err(e) = migrator.run_direct(None, &mut conn, false).await {
                    let after = schema_version(&mut conn).await.unwrap_or(before);
                    say.info(format!("schema version after the failure: {after}"));
                    return failure(format!(
                        "migration failed (schema version {before} → {after}): {e}"
                    ));
                }
            }
        }
    }
    let after = match schema_version(&mut conn).await {
        Ok(v) => v,
        Err(e) => return failure(format!("reading the schema version: {e}")),
    };
    let _ = conn.close().await;
    say.info(format!("schema version after: {after}"));
    let mut note = format!(
        "schema version {before} → {after}; applied {} migration(s)",
        pending.len()
    );
    if !pending.is_empty() {
        let list: Vec<String> = pending.iter().map(|p| p.version.to_string()).collect();
        note.push_str(&format!(" ({})", list.join(", ")));
    }
    if let Some(want) = m.expect_version {
        if after != want {
            say.info(format!("✗ schema version {after}, expected {want}"));
            return failure(format!(
                "schema version is {after}, expected {want} (was {before})"
            ));
        }
        say.info(format!("✓ schema version {after} as expected"));
    }
    if !irreversible.is_empty() {
        let list: Vec<String> = irreversible.iter().map(|v| v.to_string()).collect();
        say.info(format!(
            "POINT OF NO RETURN: irreversible migration(s) {} applied; an image rollback alone will not undo them",
            list.join(", ")
        ));
        note.push_str(&format!(
            "; point of no return: irreversible {}",
            list.join(", ")
        ));
    }
    success(note)
}

// ---------------------------------------------------------------- backup / restore

/// Where the PostgreSQL client programs are: `$FLIGHTDECK_PG_BINDIR`, the
/// newest `/usr/lib/postgresql/*/bin`, else `PATH`.
pub fn pg_program(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("FLIGHTDECK_PG_BINDIR") {
        return Path::new(&dir).join(name);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in entries.flatten() {
            let v = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok());
            let p = e.path().join("bin").join(name);
            if let Some(v) = v
                && p.exists()
                && best.as_ref().is_none_or(|(b, _)| v > *b)
            {
                best = Some((v, p));
            }
        }
    }
    best.map(|(_, p)| p).unwrap_or_else(|| PathBuf::from(name))
}

/// The DSN without its password, and the password (given to the client
/// programs as `PGPASSWORD`, never on their command line).
pub fn split_password(dsn: &str) -> (String, Option<String>) {
    match url_password(dsn) {
        Some(pw) => (
            dsn.replacen(&format!(":{pw}@"), "@", 1),
            Some(crate::runbook::data::percent_decode(pw)),
        ),
        None => (dsn.to_string(), None),
    }
}

/// Run a PostgreSQL client program, its output shown line by line.
async fn pg_tool(
    name: &str,
    args: &[String],
    password: Option<&str>,
    say: &mut Say<'_>,
) -> Result<Vec<String>, DataError> {
    let program = pg_program(name);
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let mut child = cmd.spawn().map_err(|source| DataError::ToolStart {
        program: program.clone(),
        source,
    })?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (r1, r2, status) = tokio::join!(
        stdout.read_to_end(&mut out),
        stderr.read_to_end(&mut err),
        child.wait()
    );
    let _ = (r1, r2);
    let err_text = String::from_utf8_lossy(&err).to_string();
    for line in err_text.lines().take(50) {
        say.err(line);
    }
    let status = status.map_err(|source| DataError::ToolWait {
        tool: name.to_string(),
        source,
    })?;
    if !status.success() {
        return Err(DataError::ToolExit {
            tool: name.to_string(),
            code: status.code(),
            last_line: err_text.lines().last().unwrap_or("").to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect())
}

/// SHA-256 (hex) and size of a file.
pub async fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

pub async fn backup(b: &BackupSpec, say: &mut Say<'_>) -> Outcome {
    let file = PathBuf::from(&b.file);
    if let Some(parent) = file.parent()
        && let Err(e) = crate::private::create_dir(parent)
    {
        return failure(format!("cannot create {}: {e}", parent.display()));
    }
    // A dump holds the whole database: created 0600 before pg_dump writes
    // into it (pg_dump keeps the mode of the file it overwrites).
    if let Err(e) = crate::private::create_truncate(&file) {
        return failure(format!("cannot create {}: {e}", file.display()));
    }
    let (dsn, pw) = split_password(&b.dsn);
    say.info(format!(
        "pg_dump (custom format) of {} to {}",
        redact_url(&b.dsn),
        file.display()
    ));
    let start = tokio::time::Instant::now();
    let args = vec![
        "--format=custom".to_string(),
        format!("--file={}", file.display()),
        format!("--dbname={dsn}"),
    ];
    if let Err(e) = pg_tool("pg_dump", &args, pw.as_deref(), say).await {
        let _ = tokio::fs::remove_file(&file).await;
        return failure(format!("backup failed: {e}"));
    }
    let (sha, size) = match file_digest(&file).await {
        Ok(x) => x,
        Err(e) => return failure(format!("cannot read the backup {}: {e}", file.display())),
    };
    // Beside the dump, so a restore can check it is the file recorded.
    let _ = crate::private::write(
        &sidecar(&file),
        format!(
            "{sha}  {}\n",
            file.file_name().unwrap_or_default().to_string_lossy()
        ),
    );
    say.info(format!(
        "✓ backup written in {}: {} ({size} bytes)",
        format_duration(start.elapsed()),
        file.display()
    ));
    say.info(format!("sha256 {sha}"));
    success(format!(
        "backup {} size {size} bytes sha256 {sha}",
        file.display()
    ))
}

fn sidecar(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// `TABLE schema name owner` entries of a `pg_restore --list`.
pub fn dump_tables(list: &[String]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in list {
        if line.starts_with(';') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.len() >= 6 && tokens[3] == "TABLE" && tokens[4] != "DATA" {
            out.insert((tokens[4].to_string(), tokens[5].to_string()));
        }
    }
    out
}

pub async fn restore(r: &RestoreSpec, say: &mut Say<'_>) -> Outcome {
    let file = PathBuf::from(&r.file);
    if !file.exists() {
        return failure(format!(
            "no backup at {} (from step {}): run that backup step first",
            file.display(),
            r.from
        ));
    }
    let (sha, size) = match file_digest(&file).await {
        Ok(x) => x,
        Err(e) => return failure(format!("cannot read {}: {e}", file.display())),
    };
    if let Ok(recorded) = tokio::fs::read_to_string(sidecar(&file)).await {
        let recorded = recorded.split_whitespace().next().unwrap_or("").to_string();
        if recorded != sha {
            return failure(format!(
                "{} changed since it was written (sha256 {sha}, recorded {recorded})",
                file.display()
            ));
        }
        say.info(format!("✓ sha256 {sha} matches the backup's record"));
    }
    say.info(format!(
        "restoring {} ({size} bytes) from step {} into {}",
        file.display(),
        r.from,
        redact_url(&r.dsn)
    ));
    let (dsn, pw) = split_password(&r.dsn);
    // Tables created after the backup (by a migration) are not in the dump:
    // drop them, so the database is as it was.
    let list = match pg_tool(
        "pg_restore",
        &["--list".to_string(), file.display().to_string()],
        None,
        say,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return failure(format!("reading the backup: {e}")),
    };
    let in_dump = dump_tables(&list);
    let mut conn = match connect(&r.dsn).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let schemas: BTreeSet<&String> = in_dump.iter().map(|(s, _)| s).collect();
    let mut schemas: Vec<String> = schemas.into_iter().cloned().collect();
    if schemas.is_empty() {
        schemas.push("public".into());
    }
    let now: Vec<(String, String)> = match sqlx::query(
        "SELECT schemaname::text, tablename::text FROM pg_tables WHERE schemaname = ANY($1)",
    )
    .bind(&schemas)
    .fetch_all(&mut conn)
    .await
    {
        Ok(rows) => rows
            .iter()
            .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
            .collect(),
        Err(e) => return failure(format!("listing tables: {}", describe(&e))),
    };
    let extra: Vec<&(String, String)> = now.iter().filter(|t| !in_dump.contains(t)).collect();
    for (schema, table) in &extra {
        say.info(format!(
            "dropping {schema}.{table}: created after the backup"
        ));
        let sql = format!(
            "DROP TABLE IF EXISTS \"{}\".\"{}\" CASCADE",
            schema.replace('"', "\"\""),
            table.replace('"', "\"\"")
        );
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
        {
            return failure(format!("dropping {schema}.{table}: {}", describe(&e)));
        }
    }
    let _ = conn.close().await;
    let args = vec![
        "--clean".to_string(),
        "--if-exists".to_string(),
        "--no-owner".to_string(),
        "--single-transaction".to_string(),
        format!("--dbname={dsn}"),
        file.display().to_string(),
    ];
    if let Err(e) = pg_tool("pg_restore", &args, pw.as_deref(), say).await {
        return failure(format!("restore failed: {e}"));
    }
    let version = match connect(&r.dsn).await {
        Ok(mut c) => {
            let v = schema_version(&mut c).await.ok();
            let _ = c.close().await;
            v
        }
        Err(_) => None,
    };
    let v = version.map_or(String::new(), |v| format!("; schema version {v}"));
    say.info(format!("✓ restored {}{v}", file.display()));
    success(format!(
        "restored {} (sha256 {sha}) from step {}{v}",
        file.display(),
        r.from
    ))
}
