//! The journal on SQLite, in a temp dir: the shared flow, plus what only a
//! file can show (parent dirs, WAL, a path needing escapes).

#[path = "support/journal_flow.rs"]
mod flow;

use flightdeck::backend::store::{AuditKey, Backend, Store};
use sqlx::{AnyConnection, Connection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_flow_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    // A path with a space and a '#': the URL sqlx gets must escape them.
    let path = dir.path().join("data dir#1/nested/journal.db");
    let db = flow::Db {
        target: path.display().to_string(),
        raw_url: format!(
            "sqlite://{}",
            path.display()
                .to_string()
                .replace(' ', "%20")
                .replace('#', "%23")
        ),
        backend: Backend::Sqlite,
    };
    flow::core_flow(&db, &dir.path().join("config")).await;
}

#[tokio::test]
async fn sqlite_file_is_wal_and_url_targets_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let key = AuditKey::load_or_create(&dir.path().join("audit.key")).unwrap();
    let store = Store::open(&format!("sqlite://{}", path.display()), key)
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists());
    store.close().await;

    sqlx::any::install_default_drivers();
    let mut raw = AnyConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut raw)
            .await
            .unwrap();
    for t in [
        "audit_log",
        "release_leases",
        "releases",
        "resume_choices",
        "signoffs",
        "step_runs",
    ] {
        assert!(
            tables.iter().any(|n| n == t),
            "missing table {t}: {tables:?}"
        );
    }
}
