//! Kube steps in the app, without a cluster: the environment's context pin,
//! the rollout pane (verdict, why-stuck countdown, reconnecting, sanitized
//! pod logs), log scope and search, manual and automatic rollback stopping
//! the release.

#[path = "support/app_state.rs"]
mod app_state;
use app_state::StateBuilder;

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::app::msg::Msg;
use flightdeck::app::state::LogScope;
use flightdeck::app::state::{AppState, Dialog};
use flightdeck::app::update::update;
use flightdeck::protocol::command::Command;
use flightdeck::protocol::event::BackendEvent;
use flightdeck::protocol::kube::{ClusterInfo, ConnState, KubeEvent, LogLine};
use flightdeck::runbook::progress::{Outcome, ReleaseStatus, StepStatus};
use flightdeck::runbook::rollout::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000_000;

fn state(env: &str, context: &str) -> AppState {
    let mut s = StateBuilder::file("config/runbooks/blue-green.yaml")
        .release_id("r-kube")
        .env(env)
        .now(NOW)
        .build();
    s.kube.cluster = Some(ClusterInfo {
        kubeconfig: None,
        context: context.into(),
        namespace: "shop".into(),
    });
    s
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Acknowledge every journal write in `cmds` (and those that follow).
fn settle(s: &mut AppState, cmds: Vec<Command>) -> Vec<Command> {
    let mut rest = Vec::new();
    let mut queue = cmds;
    while let Some(c) = queue.pop() {
        match c {
            Command::Journal { op, .. } => queue.extend(update(
                s,
                Msg::Backend(BackendEvent::Journaled { op, error: None }),
            )),
            other => rest.push(other),
        }
    }
    rest
}

/// Steps before `i` done, `i` running (as the runner would have it).
fn running(s: &mut AppState, i: usize) -> u32 {
    for j in 0..i {
        s.release.steps[j].status = StepStatus::Succeeded;
    }
    s.view.selected = i;
    s.release.begin(&s.runbook, i, NOW).unwrap()
}

fn kube(s: &mut AppState, step: usize, event: KubeEvent) {
    update(s, Msg::Backend(BackendEvent::Kube { step, event }));
}

fn screen(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(240, 50)).unwrap();
    t.draw(|f| flightdeck::ui::render(s, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn stuck_snapshot() -> RolloutSnapshot {
    let mut s = RolloutSnapshot {
        deployment: Some(DeploymentSnap {
            name: "shop-green".into(),
            namespace: "shop".into(),
            generation: 3,
            observed_generation: 3,
            replicas: 2,
            updated: 1,
            ready: 2,
            available: 2,
            total: 3,
            conditions: vec![Condition {
                kind: "Progressing".into(),
                status: "True".into(),
                reason: "ReplicaSetUpdated".into(),
                last_update_ms: Some(NOW - 28_000),
                ..Default::default()
            }],
            progress_deadline_s: 600,
            strategy: "RollingUpdate (surge 1, unavailable 0)".into(),
            revision: Some(2),
            probes: vec![("web".into(), "GET /ready on :8080".into())],
            ..Default::default()
        }),
        replica_sets: vec![
            ReplicaSetSnap {
                name: "shop-green-new".into(),
                revision: 2,
                images: vec![("web".into(), "registry.local/shop:v2".into())],
                replicas: 1,
                pod_template_hash: "new".into(),
                is_new: true,
                ..Default::default()
            },
            ReplicaSetSnap {
                name: "shop-green-old".into(),
                revision: 1,
                images: vec![("web".into(), "registry.local/shop:v1".into())],
                replicas: 2,
                ready: 2,
                pod_template_hash: "old".into(),
                ..Default::default()
            },
        ],
        pods: vec![PodSnap {
            name: "shop-green-new-abcde".into(),
            uid: "u1".into(),
            pod_template_hash: "new".into(),
            replica_set: Some("shop-green-new".into()),
            phase: "Running".into(),
            reason: "Running".into(),
            node: "fake-node".into(),
            created_ms: Some(NOW - 20_000),
            containers: vec![ContainerSnap {
                name: "web".into(),
                image: "registry.local/shop:v2".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        events: vec![EventSnap {
            uid: "e1".into(),
            object_kind: "Pod".into(),
            object_name: "shop-green-new-abcde".into(),
            field_path: "spec.containers{web}".into(),
            reason: "Unhealthy".into(),
            message: "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
            warning: true,
            count: 3,
            last_ms: NOW - 1_000,
        }],
    };
    s.normalize();
    s
}

#[test]
fn kube_steps_refuse_to_run_on_another_context_and_say_which_is_expected() {
    let mut s = state("production", "flightdeck-test");
    let screen_text = screen(&s);
    assert!(
        screen_text.contains("expects kube context \"prod\""),
        "{screen_text}"
    );
    let cmds = update(&mut s, code(KeyCode::Enter));
    let rest = settle(&mut s, cmds);
    assert!(
        rest.iter().all(|c| !matches!(c, Command::RunStep { .. })),
        "{rest:?}"
    );
    let StepStatus::Failed { reason } = &s.release.steps[0].status else {
        panic!("{:?}", s.release.steps[0].status)
    };
    assert!(
        reason.contains("expects kube context \"prod\"")
            && reason.contains("current context is \"flightdeck-test\"")
            && reason.contains("--context prod"),
        "{reason}"
    );
}

#[test]
fn the_right_context_runs_with_the_cluster_and_permissions_filled_in() {
    let mut s = state("test", "flightdeck-test");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let rest = settle(&mut s, cmds);
    let Some(Command::RunStep { action, .. }) = rest.first() else {
        panic!("{rest:?}")
    };
    let flightdeck::runbook::StepAction::Check(flightdeck::runbook::CheckSpec::Kube(
        flightdeck::runbook::kube::KubeCheck::Access { cluster, needs, .. },
    )) = action
    else {
        panic!("{action:?}")
    };
    assert_eq!(cluster.context.as_deref(), Some("flightdeck-test"));
    assert_eq!(cluster.namespace, "shop");
    let said: Vec<String> = needs.iter().map(|p| p.to_string()).collect();
    for want in [
        "patch deployments.apps in shop",
        "patch services in shop",
        "watch pods in shop",
        "get pods/log in shop",
        "list replicasets.apps in shop",
    ] {
        assert!(said.iter().any(|p| p == want), "{want} not in {said:?}");
    }
}

#[test]
fn the_pane_shows_the_rollout_live_with_why_stuck_and_the_countdown() {
    let mut s = state("test", "flightdeck-test");
    running(&mut s, 2);
    s.now = NOW;
    kube(
        &mut s,
        2,
        KubeEvent::Watching {
            namespace: "shop".into(),
            deployment: "shop-green".into(),
            phase: "rollout".into(),
        },
    );
    kube(&mut s, 2, KubeEvent::Connection(ConnState::Live));
    kube(&mut s, 2, KubeEvent::Snapshot(Arc::new(stuck_snapshot())));
    kube(
        &mut s,
        2,
        KubeEvent::PodLogs {
            lines: vec![
                LogLine {
                    source: "shop-green-new-abcde".into(),
                    new: true,
                    text: "level=info msg=\"starting\"".into(),
                },
                LogLine {
                    source: "shop-green-new-abcde".into(),
                    new: true,
                    text: "evil\x1b]0;pwned\x07\x1b[31mred\u{202e}esrever\x00".into(),
                },
                LogLine {
                    source: "shop-green-old-fghij".into(),
                    new: false,
                    text: "old pod line".into(),
                },
            ],
            dropped: 7,
        },
    );
    let text = screen(&s);
    assert!(text.contains("Rollout · deployment shop-green"), "{text}");
    assert!(text.contains("● live"), "{text}");
    assert!(
        text.contains("1 out of 2 new replicas have been updated"),
        "{text}"
    );
    assert!(text.contains("9m 32s to the progress deadline"), "{text}");
    assert!(text.contains("readiness probe of container web"), "{text}");
    assert!(
        text.contains("desired 2 · updated 1 · ready 2 · available 2"),
        "{text}"
    );
    assert!(text.contains("shop-green-new rev 2"), "{text}");
    assert!(text.contains("shop-green-new-abcde"), "{text}");
    assert!(
        text.contains("Pod logs · new pods · 10 lines · 7 dropped"),
        "{text}"
    );
    assert!(text.contains("evil␛␛red�esrever␀"), "{text}");
    assert!(
        !text.contains("old pod line"),
        "old pods are not in the default scope"
    );
    for bad in ['\x1b', '\x07', '\u{202e}', '\0'] {
        assert!(!text.contains(bad));
    }
    // The countdown moves with the clock.
    s.now = NOW + 2_000;
    assert!(screen(&s).contains("9m 30s to the progress deadline"));
    // A broken watch shows, then its recovery.
    kube(
        &mut s,
        2,
        KubeEvent::Connection(ConnState::Reconnecting {
            error: "connection refused".into(),
        }),
    );
    assert!(screen(&s).contains("⟳ reconnecting (connection refused)"));
    kube(&mut s, 2, KubeEvent::Connection(ConnState::Live));
    assert!(screen(&s).contains("● live"));
    // Scope and search.
    update(&mut s, key('o'));
    assert_eq!(s.kube.rollouts[&2].logs.scope, LogScope::Old);
    assert!(screen(&s).contains("old pod line"));
    update(&mut s, key('o'));
    update(&mut s, key('/'));
    for c in "EVIL".chars() {
        update(&mut s, key(c));
    }
    // While typing, keys go to the search box, not the keymap.
    update(&mut s, key('q'));
    assert!(!s.plumbing.quitting);
    update(&mut s, code(KeyCode::Backspace));
    update(&mut s, code(KeyCode::Enter));
    let logs = &s.kube.rollouts[&2].logs;
    assert_eq!(logs.filter, "EVIL");
    assert_eq!(logs.visible().count(), 1);
    assert!(screen(&s).contains("/EVIL"));
}

#[test]
fn an_automatic_rollback_stops_the_release_as_failed_with_the_reason() {
    let mut s = state("test", "flightdeck-test");
    let attempt = running(&mut s, 2);
    kube(
        &mut s,
        2,
        KubeEvent::RollbackStarted {
            trigger: "crash_loops".into(),
            reason: "CrashLoopBackOff: container web of new pod x (last exit code 1, 4 restarts)"
                .into(),
        },
    );
    assert!(s.view.notice_text().contains("rolling back (crash_loops)"));
    let cmds = update(
        &mut s,
        Msg::Backend(BackendEvent::StepFinished {
            step: 2,
            attempt,
            outcome: Outcome::Failure {
                reason: "rolled back automatically (rollback_on.crash_loops: ...); undo done"
                    .into(),
                exit_code: None,
            },
        }),
    );
    settle(&mut s, cmds);
    assert_eq!(s.release.status, ReleaseStatus::Failed);
    assert!(screen(&s).contains("ROLLED BACK"));
}

#[test]
fn manual_rollback_asks_for_the_environment_name_in_production() {
    let mut s = state("production", "prod");
    running(&mut s, 2);
    update(&mut s, key('u'));
    let Some(Dialog::Confirm {
        expect, message, ..
    }) = &s.view.dialog
    else {
        panic!("{:?}", s.view.dialog)
    };
    assert_eq!(expect.as_deref(), Some("production"));
    assert!(
        message.contains("kube.undo of deployment shop-green"),
        "{message}"
    );
    // Enter alone does nothing until the name is typed.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    for c in "production".chars() {
        update(&mut s, key(c));
    }
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::CancelStep { step: 2 }))
    );
    let Some(Command::KubeRollback {
        step,
        action,
        reason,
    }) = cmds
        .iter()
        .find(|c| matches!(c, Command::KubeRollback { .. }))
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(*step, 2);
    assert_eq!(reason, "rolled back by alice");
    let flightdeck::runbook::StepAction::Kube(k) = action else {
        panic!()
    };
    assert_eq!(k.kind_name(), "kube.undo");
    assert_eq!(k.cluster.context.as_deref(), Some("prod"));
    assert_eq!(k.cluster.namespace, "shop");
    // A step whose undo is given uses it: switching the Service back.
    let mut s = state("test", "flightdeck-test");
    running(&mut s, 3);
    update(&mut s, key('u'));
    let cmds = update(&mut s, key('y'));
    let Some(Command::KubeRollback { action, .. }) = cmds
        .iter()
        .find(|c| matches!(c, Command::KubeRollback { .. }))
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(action.kind_name(), "kube.patch");
}

#[test]
fn kube_step_keys_are_validated_with_positions() {
    let text = r#"
name: bad
stages:
  - id: s
    steps:
      - id: a
        kube.rollout:
          deployment: web
      - id: b
        kube.scale:
          deployment: web
          replicas: lots
      - id: c
        kube.patch:
          api_version: v1
          kind: ConfigMap
          name: m
          type: json
          patch: { data: { a: b } }
          rollback_on: { crash_loops: 3 }
      - id: d
        kube.wait:
          deployment: web
          rollback_on: { crash_loop: 3 }
"#;
    let err = flightdeck::runbook::parse_str(text, Path::new("bad.yaml")).unwrap_err();
    let msg = err.to_string();
    for want in [
        "give images (container: image) or manifests",
        "replicas: expected a whole number",
        "a JSON patch is a list of operations",
        "only steps that watch a rollout roll back",
        "rollback_on.crash_loop: unknown field",
    ] {
        assert!(msg.contains(want), "{want:?} not in:\n{msg}");
    }
}
