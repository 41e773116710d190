//! Architect Dashboard API "Staging Deployment Guide" as
//! config/runbooks/architect.yaml, headless against the test services:
//! to success with the four leads signing off as four other people, and
//! stopped by the Security lead's rejection, or by a failing smoke area.

#[path = "support/app_front.rs"]
mod app_front;
#[path = "support/guides.rs"]
mod support;

use serde_json::{Value, json};
use support::*;

const RUNBOOK: &str = "config/runbooks/architect.yaml";
const ACKS: &[&str] = &[
    "pre-checklist",
    "smoke-checklist",
    "sustained-load",
    "validate-functionality",
    "validate-performance",
    "validate-security",
    "validate-monitoring",
    "validate-data",
    "post-checklist",
];
const LEADS: &[(&str, &str)] = &[
    ("engineering-lead", "erin"),
    ("devops-lead", "dave"),
    ("security-lead", "sam"),
    ("product-lead", "pat"),
];

/// The API: the guide's /health (components), the rest from demo-service
/// (smoke routes, /metrics, the Prometheus API with healthy values).
async fn world(product: &str, demo_args: &[&str]) -> (Guide, Vec<String>) {
    let mut g = Guide::new(product, "tests/fixtures/guides/architect/k8s.yaml").await;
    let mut args = vec![
        "--metric",
        "http_requests_total=0.0004",
        "--metric",
        "http_request_duration_seconds=0.12",
        "--metric",
        "pg_up=1",
        "--metric",
        "redis_up=1",
    ];
    args.extend_from_slice(demo_args);
    let demo = g.demo(&args);
    let api = app_front::start(
        Some(demo.clone()),
        vec![(
            "/health",
            200,
            json!({
                "status": "healthy",
                "timestamp": "2024-02-17T12:00:00Z",
                "components": {
                    "database": "healthy",
                    "cache": "healthy",
                    "external_services": "healthy"
                }
            }),
        )],
    )
    .await;
    let dsn = g.dsn.clone();
    let redis = g.redis_url.clone();
    g.set_env("DATABASE_URL", &dsn);
    g.set_env("REDIS_URL", &redis);
    g.set_env("JWT_SECRET", "guide-test-jwt");
    g.set_env("ENCRYPTION_KEY", "guide-test-key");
    let sets = vec![
        "version=3.2.0".to_string(),
        format!("base_url={api}"),
        format!("prom_url={demo}"),
        "migrations=tests/fixtures/guides/architect/migrations".to_string(),
        "schema_version=2".to_string(),
        format!("backup_dir={}", g.backups().display()),
    ];
    (g, sets)
}

fn succeeded(events: &[Value], steps: &[&str]) {
    for s in steps {
        assert_eq!(
            finished(events, s)["status"],
            "succeeded",
            "{s}: {events:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn architect_staging_deployment_signed_off_by_four_leads() {
    let (mut g, sets) = world("architect", &[]).await;
    let hook = Webhook::start().await;
    g.set_env("RELEASE_WEBHOOK_URL", &hook.url);
    let (code, events) = g.run_headless(RUNBOOK, "staging", &sets, ACKS).await;
    assert_eq!(code, 3, "waits for the sign-off: {events:#?}");
    let release = release_id(&events);
    // The leads are told the release waits, with the command each types.
    let bodies = hook.bodies();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["started", "waiting"], "{bodies:#?}");
    let approve: Vec<String> = LEADS
        .iter()
        .map(|(role, _)| format!("flightdeck approve {release} --gate sign-off --role {role}"))
        .collect();
    assert_eq!(bodies[1]["approve"], serde_json::json!(approve));
    assert_eq!(bodies[1]["step"], "sign-off");
    succeeded(
        &events,
        &[
            "env-configured",
            "cluster-access",
            "build-image",
            "push-image",
            "database-reachable",
            "cache-reachable",
            "backup",
            "migrate",
            "migration-status",
            "rollout",
            "health-endpoint",
            "smoke-tests",
            "load-test",
            "error-rate",
            "latency-p95",
            "database-up",
            "cache-up",
        ],
    );
    // The backup ran before the migration.
    let pos = |step: &str| {
        events
            .iter()
            .position(|e| e["event"] == "step_started" && e["step"] == step)
            .unwrap()
    };
    assert!(pos("backup") < pos("migrate"));
    assert!(g.backups().join(format!("{release}-backup.dump")).exists());
    let smoke = finished(&events, "smoke-tests")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(smoke.starts_with("7/7 smoke requests passed"), "{smoke}");
    let load = finished(&events, "load-test")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(load.starts_with("500 requests: p50 "), "{load}");
    assert_eq!(
        g.ns.image("architect-api").await,
        "staging-registry.example.com/architect-api:3.2.0"
    );
    // docker (the stub) built, tagged and pushed the release.
    let calls: Vec<String> = g
        .stub_calls()
        .iter()
        .map(|c| c["argv"][0].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(calls, ["build", "tag", "push"], "{calls:?}");

    // Three leads are not enough; one person cannot sign twice.
    for (role, who) in &LEADS[..3] {
        g.approve(&release, "sign-off", role, who).await;
    }
    let (code, _) = g
        .run_headless_with(RUNBOOK, "staging", &sets, ACKS, &["--release", &release])
        .await;
    assert_eq!(code, 3);
    let twice = g
        .output(
            "erin",
            &[
                "approve",
                &release,
                "--gate",
                "sign-off",
                "--role",
                "product-lead",
            ],
        )
        .await;
    assert!(!twice.status.success());
    let (role, who) = LEADS[3];
    g.approve(&release, "sign-off", role, who).await;
    let (code, events) = g
        .run_headless_with(RUNBOOK, "staging", &sets, ACKS, &["--release", &release])
        .await;
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(release_status(&events).as_deref(), Some("succeeded"));
    let report = g.report_json(&release).await;
    let signers: Vec<(String, String)> = report["signoffs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["role"].as_str().unwrap_or_default().to_string(),
                        s["person"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for (role, who) in LEADS {
        assert!(
            signers.contains(&(role.to_string(), who.to_string())),
            "{role} {who} in {report:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn architect_release_stops_when_the_security_lead_rejects() {
    let (g, sets) = world("architectrej", &[]).await;
    let (code, events) = g.run_headless(RUNBOOK, "staging", &sets, ACKS).await;
    assert_eq!(code, 3, "{events:#?}");
    let release = release_id(&events);
    g.approve(&release, "sign-off", "engineering-lead", "erin")
        .await;
    g.approve(&release, "sign-off", "devops-lead", "dave").await;
    g.reject(
        &release,
        "sign-off",
        "security-lead",
        "sam",
        "CORS allows any origin on /api/errors",
    )
    .await;
    let (code, events) = g
        .run_headless_with(RUNBOOK, "staging", &sets, ACKS, &["--release", &release])
        .await;
    assert_eq!(code, 1, "{events:#?}");
    assert!(!started(&events, "post-checklist"));
    let out = g.output("alice", &["show", &release]).await;
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(shown.contains("failed"), "{shown}");
    assert!(shown.contains("CORS allows any origin"), "{shown}");
    // A release stopped at the sign-off cannot be signed any more.
    let late = g
        .output(
            "pat",
            &[
                "approve",
                &release,
                "--gate",
                "sign-off",
                "--role",
                "product-lead",
            ],
        )
        .await;
    assert!(!late.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn architect_a_failing_smoke_area_stops_before_the_load_test() {
    let (g, sets) = world("architectsmoke", &["--fail-path", "/api/notifications"]).await;
    let (code, events) = g.run_headless(RUNBOOK, "staging", &sets, ACKS).await;
    assert_eq!(code, 1, "{events:#?}");
    let smoke = finished(&events, "smoke-tests");
    assert_eq!(smoke["status"], "failed");
    let detail = smoke["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("notifications"), "{detail}");
    assert!(!started(&events, "load-test"));
    assert!(!started(&events, "sign-off"));
    assert_eq!(release_status(&events).as_deref(), Some("failed"));
}
