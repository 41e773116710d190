//! Backup, migrate (plan, apply, version, point of no return) and restore
//! against the real PostgreSQL of tests/support/start-postgres.sh, with
//! Debian's pg_dump / pg_restore. A restore from the recorded backup gives
//! back the data as it was before the migration.

#[path = "support/pg.rs"]
mod test_pg;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use flightdeck::backend::data::{pg, run_action};
use flightdeck::backend::process::CancelSignal;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::data::*;
use flightdeck::runbook::progress::Outcome;
use flightdeck::runbook::{StepAction, parse_str};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const MIGRATIONS: &str = "tests/fixtures/migrations/data_flow";

async fn run(a: DataAction) -> (Outcome, Vec<(Stream, String)>) {
    let mut lines = Vec::new();
    let mut sink = |s, l| lines.push((s, l));
    let o = tokio::time::timeout(
        Duration::from_secs(120),
        run_action(
            &a,
            &BTreeMap::new(),
            Some(Duration::from_secs(100)),
            CancelSignal::never(),
            &mut sink,
        ),
    )
    .await
    .expect("step hung");
    (o, lines)
}

fn note(o: &Outcome, lines: &[(Stream, String)]) -> String {
    match o {
        Outcome::Success { note, .. } => note.clone().unwrap_or_default(),
        other => panic!(
            "expected success, got {other:?}\n{}",
            lines
                .iter()
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

async fn rows(dsn: &str, sql: &str) -> Vec<String> {
    let mut c = PgConnection::connect(dsn).await.unwrap();
    let out: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut c)
        .await
        .unwrap();
    let _ = c.close().await;
    out
}

async fn seed(dsn: &str) {
    let mut c = PgConnection::connect(dsn).await.unwrap();
    for sql in [
        "CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT NOT NULL, nickname TEXT)",
        "INSERT INTO accounts VALUES (1, 'alice', 'al'), (2, 'bob', 'bobby')",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    let _ = c.close().await;
}

fn migrate(dsn: &str, expect: Option<i64>) -> DataAction {
    DataAction::Migrate(MigrateSpec {
        dsn: dsn.to_string(),
        dir: MIGRATIONS.into(),
        expect_version: expect,
        tool: None,
        irreversible: false,
    })
}

#[tokio::test]
async fn backup_migrate_then_restore_gives_back_the_data() {
    let dsn = test_pg::fresh_database("mig").await;
    seed(&dsn).await;
    let dir = tempfile::tempdir().unwrap();
    // A directory the backup makes, under the umask a new user has.
    // SAFETY: umask only sets this process's file-creation mask.
    unsafe { libc::umask(0o022) };
    let file = dir.path().join("made/r1-backup.dump").display().to_string();

    // Backup: path, size and SHA-256 in the note (and so the journal).
    let (o, lines) = run(DataAction::Backup(BackupSpec {
        dsn: dsn.clone(),
        dir: dir.path().display().to_string(),
        file: file.clone(),
    }))
    .await;
    let n = note(&o, &lines);
    let (sha, size) = pg::file_digest(Path::new(&file)).await.unwrap();
    assert_eq!(n, format!("backup {file} size {size} bytes sha256 {sha}"));
    assert!(size > 0);
    // A dump is the whole database: private, as is the directory made for it.
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(Path::new(&file)), 0o600);
    assert_eq!(mode(&dir.path().join("made/r1-backup.dump.sha256")), 0o600);
    assert_eq!(mode(&dir.path().join("made")), 0o700);

    // Migrate: the plan with its SQL comes before applying.
    let (o, lines) = run(migrate(&dsn, Some(2))).await;
    let n = note(&o, &lines);
    assert!(
        n.starts_with("schema version 0 → 2; applied 2 migration(s) (1, 2)"),
        "{n}"
    );
    assert!(n.contains("point of no return: irreversible 2"), "{n}");
    let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    let plan = text
        .iter()
        .position(|l| *l == "plan: 2 pending migration(s)");
    let sql = text
        .iter()
        .position(|l| l.contains("ALTER TABLE accounts DROP COLUMN nickname"));
    let apply = text.iter().position(|l| *l == "applying with sqlx");
    assert!(
        plan < sql && sql < apply && plan.is_some(),
        "{}",
        text.join("\n")
    );
    assert!(text.contains(&"── 2 drop nickname  [irreversible: no down migration]"));
    assert!(text.contains(&"── 1 add email"));
    assert!(text.contains(&"schema version before: 0"));
    assert!(text.contains(&"schema version after: 2"));
    assert_eq!(
        rows(&dsn, "SELECT email FROM accounts ORDER BY id").await,
        vec!["alice@example.com", "bob@example.com"]
    );

    // Nothing pending now; a wrong expectation fails and says why.
    let (o, _) = run(migrate(&dsn, Some(3))).await;
    match o {
        Outcome::Failure { reason, .. } => {
            assert_eq!(reason, "schema version is 2, expected 3 (was 2)")
        }
        other => panic!("{other:?}"),
    }

    // Restore from the recorded backup: the data as it was before.
    let (o, lines) = run(DataAction::Restore(RestoreSpec {
        dsn: dsn.clone(),
        from: "backup".into(),
        file: file.clone(),
    }))
    .await;
    let n = note(&o, &lines);
    assert!(
        n.starts_with(&format!("restored {file} (sha256 {sha})")),
        "{n}"
    );
    assert_eq!(
        rows(
            &dsn,
            "SELECT name || ':' || nickname FROM accounts ORDER BY id"
        )
        .await,
        vec!["alice:al", "bob:bobby"]
    );
    assert_eq!(
        rows(
            &dsn,
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position"
        )
        .await,
        vec!["id", "name", "nickname"]
    );
    // Tables the migration created are gone, so is its version record.
    assert!(
        rows(
            &dsn,
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
        .await
            == vec!["accounts"]
    );
}

#[tokio::test]
async fn a_changed_backup_is_refused() {
    let dsn = test_pg::fresh_database("bk").await;
    seed(&dsn).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.dump").display().to_string();
    let (o, lines) = run(DataAction::Backup(BackupSpec {
        dsn: dsn.clone(),
        dir: dir.path().display().to_string(),
        file: file.clone(),
    }))
    .await;
    note(&o, &lines);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .map(|mut f| std::io::Write::write_all(&mut f, b"tampered"))
        .unwrap()
        .unwrap();
    let (o, _) = run(DataAction::Restore(RestoreSpec {
        dsn,
        from: "backup".into(),
        file: file.clone(),
    }))
    .await;
    match o {
        Outcome::Failure { reason, .. } => {
            assert!(reason.contains("changed since it was written"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn migrate_failure_names_the_error_and_versions() {
    let dsn = test_pg::fresh_database("bad").await;
    // No accounts table: migration 1 fails.
    let (o, lines) = run(migrate(&dsn, None)).await;
    match o {
        Outcome::Failure { reason, .. } => {
            assert!(
                reason.starts_with("migration failed (schema version 0 → 0)"),
                "{reason}"
            );
            assert!(reason.contains("accounts"), "{reason}");
        }
        other => panic!("{other:?} {lines:?}"),
    }
}

#[test]
fn backup_before_migrate_is_its_undo_and_paths_are_deterministic() {
    let text = r#"
name: data
stages:
  - id: db
    steps:
      - id: pre-backup
        backup: { dsn: "${env.DATABASE_URL}", dir: /var/backups/app/ }
      - id: migrate
        migrate: { dsn: "${env.DATABASE_URL}", dir: migrations, expect_version: 2 }
      - id: restore
        restore: { from: pre-backup }
"#;
    let rb = parse_str(text, Path::new("t.yaml")).unwrap().runbook;
    let steps: Vec<_> = rb.steps().collect();
    let StepAction::Data(DataAction::Backup(b)) = &steps[0].action else {
        panic!()
    };
    assert_eq!(b.file, "/var/backups/app/${release.id}-pre-backup.dump");
    let Some(StepAction::Data(DataAction::Restore(u))) = &steps[1].undo else {
        panic!("migrate has no default undo: {:?}", steps[1].undo)
    };
    assert_eq!(
        (u.from.as_str(), u.file.as_str(), u.dsn.as_str()),
        ("pre-backup", b.file.as_str(), "${env.DATABASE_URL}")
    );
    let StepAction::Data(DataAction::Restore(r)) = &steps[2].action else {
        panic!()
    };
    assert_eq!(r.file, b.file);
    let bad = text.replace("from: pre-backup", "from: nope");
    let err = parse_str(&bad, Path::new("t.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"nope\" is not a backup step"), "{err}");
}

#[test]
fn migration_files_change_the_approval_hash() {
    let files = pg::migration_files(Path::new(MIGRATIONS)).unwrap();
    assert_eq!(files.len(), 3);
    let inputs = BTreeMap::new();
    let h = |files: &[(String, Vec<u8>)]| {
        flightdeck::runbook::gates::approval_hash(
            "rb",
            "prod",
            &approval_inputs(&inputs, &[("migrate".into(), migration_digest(files))]),
        )
    };
    let mut changed = files.clone();
    changed[0].1.extend_from_slice(b"\n-- edited");
    assert_ne!(h(&files), h(&changed));
    assert_eq!(h(&files), h(&files.clone()));
}
