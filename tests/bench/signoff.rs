//! Team-mode latencies: `cargo bench --bench signoff`.
//!
//! 1. Sign-off write latency (`Store::record_signoff`: rules checked and the
//!    row + audit entry + NOTIFY committed in one transaction), on SQLite
//!    (a temp file, synchronous = FULL) and on PostgreSQL when
//!    FLIGHTDECK_TEST_DATABASE_URL is set. Goals: p99 <= 20 ms SQLite,
//!    <= 50 ms local PostgreSQL.
//! 2. NOTIFY-to-screen: from the commit of a sign-off by one client to
//!    another client having heard the NOTIFY, reloaded the release, applied
//!    it to its `AppState` and drawn the frame (TestBackend).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::app::keymap::Keymap;
use flightdeck::app::msg::Msg;
use flightdeck::app::setup::Setup;
use flightdeck::app::state::Mode;
use flightdeck::app::state::{AppState, Identity};
use flightdeck::app::update::update;
use flightdeck::backend::store::changes::{self, Change};
use flightdeck::backend::store::team::GateRule;
use flightdeck::backend::store::{self, AuditKey, Store};
use flightdeck::protocol::command::JournalEntry;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::output::OutputBuffer;
use flightdeck::protocol::team::{Snapshot, TeamEvent};
use flightdeck::runbook::gates::{Decision, Signoff};
use flightdeck::runbook::progress::Release;
use flightdeck::runbook::{self, GateSpec};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sqlx::Connection;

const WRITES: usize = 300;
const NOTIFY_ROUNDS: usize = 50;

const RUNBOOK: &str = r#"
name: bench-team
environments:
  staging: {}
stages:
  - id: s
    steps:
      - id: approval
        gate:
          roles: { approver: 100 }
      - id: ship
        command: 'echo ship'
"#;

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(what: &str, mut xs: Vec<Duration>, goal_ms: Option<f64>) {
    xs.sort();
    let p99 = percentile(&xs, 99);
    let verdict = match goal_ms {
        Some(g) if ms(p99) <= g => format!("  (goal p99 <= {g} ms: met)"),
        Some(g) => format!("  (goal p99 <= {g} ms: MISSED)"),
        None => String::new(),
    };
    println!(
        "{what:<44} n={:<4} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms{verdict}",
        xs.len(),
        ms(percentile(&xs, 50)),
        ms(percentile(&xs, 90)),
        ms(p99),
        ms(*xs.last().unwrap()),
    );
}

async fn prepared(target: &str, key: AuditKey) -> (Store, runbook::Loaded, Release) {
    let store = Store::open(target, key).await.expect("journal opens");
    let loaded = runbook::parse_str(RUNBOOK, Path::new("bench-team.yaml")).unwrap();
    let release = Release::new(
        format!("rbench-{:08x}", rand::random::<u32>()),
        &loaded.runbook,
        loaded.content_hash.clone(),
        "staging".into(),
        BTreeMap::new(),
        "alice".into(),
        0,
    );
    store
        .apply(
            &JournalEntry::ReleaseStarted {
                release: Box::new(release.clone()),
                runbook_path: "bench-team.yaml".into(),
            },
            "alice",
            "bench",
        )
        .await
        .unwrap();
    (store, loaded, release)
}

fn hash(release: &Release) -> String {
    flightdeck::runbook::gates::approval_hash(
        &release.runbook_hash,
        &release.environment,
        &release.inputs,
    )
}

fn signoff(gate: &str, person: String, hash: &str) -> Signoff {
    Signoff {
        gate: gate.into(),
        person,
        host: "bench".into(),
        role: "approver".into(),
        decision: Decision::Approve,
        comment: String::new(),
        approved_hash: hash.into(),
        at: 1,
    }
}

/// `WRITES` sign-offs, spread over gates of 100 so none fills up.
async fn write_latency(store: &Store, release: &Release) -> Vec<Duration> {
    let spec = GateSpec {
        roles: vec![("approver".into(), 100)],
        soak: None,
        expires: None,
        identity: None,
    };
    let members = BTreeMap::new();
    let h = hash(release);
    let rule = GateRule {
        spec: &spec,
        members: &members,
        current_hash: &h,
    };
    let mut xs = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let s = signoff(&format!("gate{}", i / 100), format!("p{i}"), &h);
        let t = Instant::now();
        store
            .record_signoff(&release.id, &s, None, rule)
            .await
            .unwrap()
            .expect("the rules allow it");
        xs.push(t.elapsed());
    }
    xs
}

fn watcher_state(loaded: &runbook::Loaded, release: &Release) -> AppState {
    let mut state = AppState::new(Setup {
        runbook: loaded.runbook.clone(),
        runbook_path: "bench-team.yaml".into(),
        release: release.clone(),
        identity: Identity {
            person: "bob".into(),
            host: "bench".into(),
        },
        process_env: BTreeMap::new(),
        flightdeck_bin: "flightdeck".into(),
        keymap: Keymap::defaults(),
        acks: BTreeSet::new(),
        outputs: Vec::new(),
        now: 0,
    });
    state.team.mode = Mode::Watcher;
    state
}

async fn notify_to_screen(url: &str, key: AuditKey) -> Vec<Duration> {
    let (writer, loaded, release) = prepared(url, key.clone()).await;
    let reader = Store::open(url, key).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(changes::listen(url.to_string(), release.id.clone(), tx));
    assert_eq!(rx.recv().await, Some(Change::Resync), "listening");
    let mut state = watcher_state(&loaded, &release);
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let spec = GateSpec {
        roles: vec![("approver".into(), 100)],
        soak: None,
        expires: None,
        identity: None,
    };
    let members = BTreeMap::new();
    let h = hash(&release);
    let rule = GateRule {
        spec: &spec,
        members: &members,
        current_hash: &h,
    };
    let mut xs = Vec::new();
    for i in 0..NOTIFY_ROUNDS {
        let s = signoff("approval", format!("n{i}"), &h);
        writer
            .record_signoff(&release.id, &s, None, rule)
            .await
            .unwrap()
            .unwrap();
        let committed = Instant::now();
        loop {
            match rx.recv().await {
                Some(Change::Write { kind, .. }) if kind == "signoff" => break,
                Some(_) => continue,
                None => panic!("listener ended"),
            }
        }
        let stored = reader.load_release(&release.id).await.unwrap().unwrap();
        let snap = Snapshot {
            release: store::rebuild(&loaded.runbook, &stored),
            outputs: store::step_outputs(&loaded.runbook, &stored)
                .into_iter()
                .map(|_| OutputBuffer::default())
                .collect(),
        };
        update(
            &mut state,
            Msg::Backend(BackendEvent::Team(TeamEvent::Snapshot(Box::new(snap)))),
        );
        term.draw(|f| flightdeck::ui::render(&state, f)).unwrap();
        assert_eq!(state.release.signoffs.len(), i + 1);
        xs.push(committed.elapsed());
    }
    listener.abort();
    writer.close().await;
    reader.close().await;
    xs
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let profile = if cfg!(debug_assertions) {
        "debug assertions ON (not an optimized build)"
    } else {
        "optimized"
    };
    println!("flightdeck team bench · {profile}");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditKey::from_bytes([9; 32]);
        let path = dir.path().join("bench.db").display().to_string();
        let (store, _, release) = prepared(&path, key.clone()).await;
        report(
            "sign-off write, SQLite (synchronous=FULL)",
            write_latency(&store, &release).await,
            Some(20.0),
        );
        store.close().await;

        let Some(server) = std::env::var("FLIGHTDECK_TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
        else {
            println!(
                "PostgreSQL: SKIPPED (set FLIGHTDECK_TEST_DATABASE_URL, e.g. eval \"$(bash tests/support/start-postgres.sh)\")"
            );
            return;
        };
        sqlx::any::install_default_drivers();
        let name = format!("fd_bench_{}", rand::random::<u32>());
        let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => server.clone(),
        };
        let (store, _, release) = prepared(&url, key.clone()).await;
        report(
            "sign-off write, PostgreSQL (local)",
            write_latency(&store, &release).await,
            Some(50.0),
        );
        store.close().await;
        report(
            "NOTIFY -> reload -> AppState -> frame, PostgreSQL",
            notify_to_screen(&url, key).await,
            Some(1000.0),
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    });
}
