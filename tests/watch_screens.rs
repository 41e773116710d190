//! `flightdeck watch` at the update level (open, scroll, filter, follow
//! logs, back) and its screens (TestBackend, fixed size and clock, insta).

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::watch::{WatchMsg, WatchState, update};
use flightdeck::protocol::kube::{ConnState, KubeEvent, LogLine};
use flightdeck::protocol::watch::{WatchCommand, WatchEvent};
use flightdeck::runbook::rollout::{
    Condition, ContainerSnap, DeploymentSnap, PodSnap, ReplicaSetSnap, RolloutSnapshot,
};
use flightdeck::runbook::watch::{DeploymentRow, deployment_row, sort_rows};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_700_000_000_000;

fn key(c: KeyCode) -> WatchMsg {
    WatchMsg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ch(c: char) -> WatchMsg {
    key(KeyCode::Char(c))
}

fn pod(i: usize, ready: bool, waiting: Option<&str>, restarts: i32) -> PodSnap {
    let name = format!("web-7f9c-{i:03}");
    PodSnap {
        uid: name.clone(),
        name,
        replica_set: Some("web-7f9c".into()),
        phase: "Running".into(),
        ready,
        restarts,
        created_ms: Some(NOW - 90_000),
        node: "fake-node".into(),
        reason: waiting.unwrap_or("Running").into(),
        containers: vec![ContainerSnap {
            name: "app".into(),
            image: "web:2".into(),
            ready,
            restarts,
            waiting_reason: waiting.map(str::to_string),
            last_exit: waiting.map(|_| 1),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn snapshot(name: &str, replicas: i32, available: i32, pods: Vec<PodSnap>) -> RolloutSnapshot {
    let mut s = RolloutSnapshot {
        deployment: Some(DeploymentSnap {
            name: name.into(),
            namespace: "shop".into(),
            generation: 3,
            observed_generation: 3,
            replicas,
            updated: replicas,
            ready: available,
            available,
            total: replicas,
            progress_deadline_s: 600,
            strategy: "RollingUpdate".into(),
            revision: Some(3),
            images: vec![("app".into(), "web:2".into())],
            conditions: vec![Condition {
                kind: "Progressing".into(),
                status: "True".into(),
                reason: "ReplicaSetUpdated".into(),
                last_update_ms: Some(NOW - 30_000),
                ..Default::default()
            }],
            ..Default::default()
        }),
        replica_sets: vec![ReplicaSetSnap {
            name: format!("{name}-7f9c"),
            revision: 3,
            replicas,
            ready: available,
            is_new: true,
            images: vec![("app".into(), "web:2".into())],
            ..Default::default()
        }],
        pods,
        events: vec![],
    };
    s.normalize();
    s
}

/// 30 pods: one crash-looping, two not ready, one restarted, the rest fine.
fn web() -> RolloutSnapshot {
    let pods = (0..30)
        .map(|i| match i {
            7 => pod(i, false, Some("CrashLoopBackOff"), 6),
            3 | 20 => pod(i, false, None, 0),
            12 => pod(i, true, None, 2),
            _ => pod(i, true, None, 0),
        })
        .collect();
    snapshot("web", 30, 27, pods)
}

fn rows() -> Vec<DeploymentRow> {
    let mut rows: Vec<DeploymentRow> = [
        snapshot("cart", 2, 2, vec![]),
        web(),
        snapshot("search", 5, 3, vec![]),
    ]
    .iter()
    .filter_map(|s| deployment_row(s, NOW))
    .collect();
    sort_rows(&mut rows);
    rows
}

fn listed() -> WatchState {
    let mut s = WatchState::new("context test · namespace shop".into(), false, NOW);
    update(&mut s, WatchMsg::Resize(40));
    update(
        &mut s,
        WatchMsg::Backend(WatchEvent::ListConn(ConnState::Live)),
    );
    update(&mut s, WatchMsg::Backend(WatchEvent::Rows(rows())));
    s
}

/// The list, then Enter on the first (failing) row with its snapshot in.
fn opened() -> (WatchState, u64) {
    let mut s = listed();
    let cmds = update(&mut s, key(KeyCode::Enter));
    let WatchCommand::Open {
        open, deployment, ..
    } = &cmds[0]
    else {
        panic!("Enter opens: {cmds:?}")
    };
    assert_eq!(
        deployment, "web",
        "problems first: the crash loop is on top"
    );
    let open = *open;
    for ev in [
        KubeEvent::Connection(ConnState::Live),
        KubeEvent::Snapshot(Arc::new(web())),
    ] {
        update(
            &mut s,
            WatchMsg::Backend(WatchEvent::Kube { open, event: ev }),
        );
    }
    (s, open)
}

fn draw(state: &WatchState) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| flightdeck::ui::watch::render(state, f)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_list_puts_problems_first_in_kubectls_words() {
    let s = listed();
    let verdicts: Vec<&str> = s.rows.iter().map(|r| r.verdict.as_str()).collect();
    assert_eq!(verdicts, ["failed", "progressing 3/5", "complete"]);
    assert!(s.rows[0].why.starts_with("CrashLoopBackOff"));
    insta::assert_snapshot!("watch_list", draw(&s));
}

#[test]
fn ticks_redraw_only_for_a_countdown_and_count_it_down() {
    let mut s = listed();
    s.dirty = false;
    update(&mut s, WatchMsg::Tick(NOW + 1_000));
    assert!(s.dirty, "search counts down to its deadline");
    assert!(draw(&s).contains("9m 29s to deadline"));
    let mut calm = WatchState::new("x".into(), false, NOW);
    let done: Vec<DeploymentRow> = rows()
        .into_iter()
        .filter(|r| r.deadline_at_ms.is_none())
        .collect();
    update(&mut calm, WatchMsg::Backend(WatchEvent::Rows(done)));
    calm.dirty = false;
    update(&mut calm, WatchMsg::Tick(NOW + 1_000));
    assert!(!calm.dirty, "nothing on screen changes with time");
}

#[test]
fn open_scroll_filter_follow_logs_and_back() {
    let (mut s, open) = opened();
    let o = s.open.as_ref().unwrap();
    let names: Vec<&str> = o.pods.shown[..4]
        .iter()
        .map(|&i| o.pods.rows[i].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "web-7f9c-007",
            "web-7f9c-003",
            "web-7f9c-020",
            "web-7f9c-012"
        ],
        "doomed, not ready, restarted first"
    );
    insta::assert_snapshot!("watch_pod_table", draw(&s));

    // Scroll: G to the end, g back, PgDn a page.
    update(&mut s, ch('G'));
    assert_eq!(s.open.as_ref().unwrap().pods.selected, 29);
    assert!(s.open.as_ref().unwrap().pods.top > 0, "the table scrolled");
    update(&mut s, ch('g'));
    assert_eq!(s.open.as_ref().unwrap().pods.selected, 0);
    update(&mut s, key(KeyCode::PageDown));
    assert_eq!(s.open.as_ref().unwrap().pods.selected, s.page());

    // Filter: / then text; Enter keeps it.
    update(&mut s, ch('/'));
    for c in "crash".chars() {
        update(&mut s, ch(c));
    }
    update(&mut s, key(KeyCode::Enter));
    let t = &s.open.as_ref().unwrap().pods;
    assert_eq!(t.shown.len(), 1);
    assert_eq!(t.current().unwrap().name, "web-7f9c-007");

    // Follow its logs; p for the previous container's.
    let cmds = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        cmds,
        [WatchCommand::Logs {
            open,
            namespace: "shop".into(),
            pod: "web-7f9c-007".into(),
            containers: vec!["app".into()],
            previous: false,
        }]
    );
    let cmds = update(&mut s, ch('p'));
    assert!(matches!(
        &cmds[0],
        WatchCommand::Logs { previous: true, .. }
    ));
    update(
        &mut s,
        WatchMsg::Backend(WatchEvent::Kube {
            open,
            event: KubeEvent::PodLogs {
                lines: vec![LogLine {
                    source: "web-7f9c-007".into(),
                    new: true,
                    text: "panic: \u{1b}]2;owned\u{7} nil pointer".into(),
                }],
                dropped: 0,
            },
        }),
    );
    let screen = draw(&s);
    assert!(screen.contains("1 lines"), "{screen}");
    assert!(screen.contains("panic:"), "counter and content agree");
    assert!(!screen.contains('\u{1b}'), "pod text is sanitized");

    // Events of an older open are ignored.
    update(
        &mut s,
        WatchMsg::Backend(WatchEvent::Kube {
            open: open + 99,
            event: KubeEvent::Snapshot(Arc::new(RolloutSnapshot::default())),
        }),
    );
    assert_eq!(s.open.as_ref().unwrap().pods.rows.len(), 30);

    // Esc clears the filter first, then goes back; read-only all along.
    assert!(update(&mut s, key(KeyCode::Esc)).is_empty());
    assert_eq!(s.open.as_ref().unwrap().pods.shown.len(), 30);
    assert_eq!(update(&mut s, key(KeyCode::Esc)), [WatchCommand::Close]);
    assert!(s.open.is_none());
    update(&mut s, ch('q'));
    assert!(s.quit);
}

#[test]
fn a_lost_api_server_shows_reconnecting() {
    let (mut s, open) = opened();
    update(
        &mut s,
        WatchMsg::Backend(WatchEvent::Kube {
            open,
            event: KubeEvent::Connection(ConnState::Reconnecting {
                error: "connection refused".into(),
            }),
        }),
    );
    update(
        &mut s,
        WatchMsg::Backend(WatchEvent::ListConn(ConnState::Reconnecting {
            error: "connection refused".into(),
        })),
    );
    let screen = draw(&s);
    assert!(
        screen.contains("reconnecting (connection refused)"),
        "{screen}"
    );
    assert_eq!(
        s.open.as_ref().unwrap().pods.rows.len(),
        30,
        "last snapshot kept"
    );
}

#[test]
fn derived_facts_are_computed_once_when_the_snapshot_arrives() {
    let (s, _) = opened();
    let v = &s.open.as_ref().unwrap().view;
    assert_eq!(
        v.derived.of,
        Arc::as_ptr(&v.snapshot) as usize,
        "the view draws what arrival computed"
    );
    assert!(matches!(
        v.derived.verdict,
        flightdeck::runbook::rollout::Verdict::Failed(_)
    ));
    assert_eq!((v.derived.new_pods, v.derived.ready_pods), (30, 27));
    // A waiting rollout's countdown moves with the clock alone.
    let search = snapshot("search", 5, 3, vec![]);
    let d = flightdeck::runbook::rollout::Derived::of(&search, 1, NOW);
    assert_eq!(d.deadline_at, Some(NOW - 30_000 + 600_000));
    let later = d.why_at(NOW + 60_000).unwrap();
    assert_eq!(later.deadline_left_ms, Some(600_000 - 90_000));
    assert_eq!(
        later,
        flightdeck::runbook::rollout::why_stuck(&search, NOW + 60_000).unwrap(),
        "the same line as recomputing it"
    );
}

#[test]
fn the_log_buffer_is_bounded_by_bytes_and_counts_what_it_dropped() {
    use flightdeck::app::state::{LogView, MAX_LOG_BYTES};
    let mut logs = LogView::default();
    let long = "x".repeat(8 * 1024);
    for _ in 0..1_000 {
        logs.push(LogLine {
            source: "p".into(),
            new: true,
            text: long.clone(),
        });
    }
    assert!(logs.bytes <= MAX_LOG_BYTES, "{} bytes kept", logs.bytes);
    assert_eq!(logs.bytes, logs.lines.len() * long.len());
    assert_eq!(logs.total, 1_000);
    assert_eq!(logs.evicted as usize + logs.lines.len(), 1_000);
}

#[test]
fn no_color_draws_the_watch_without_colour() {
    use flightdeck::ui::ColorMode;
    use ratatui::style::Color;
    let (opened, _) = opened();
    for state in [&listed(), &opened] {
        let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
        t.draw(|f| {
            flightdeck::ui::watch::render(state, f);
            flightdeck::ui::paint(ColorMode::NoColor, f);
        })
        .unwrap();
        let buf = t.backend().buffer();
        assert!(
            buf.content
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "a cell keeps its colour under NO_COLOR"
        );
        assert_eq!(
            (0..buf.area.height)
                .map(|y| (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    + "\n")
                .collect::<String>(),
            draw(state),
            "the same text as with colour"
        );
    }
}
