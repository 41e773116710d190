//! config/runbooks/offgridflow.yaml (OffGridFlow's push-button deploy) run
//! headless by the built binary against the local parts: PostgreSQL (the
//! database and a scratch copy for the migration dry run), Redis and the
//! registry of the test services, the test cluster (api/worker/web from
//! tests/fixtures/guides/offgridflow), the demo service as the API and its
//! Prometheus, and the docker stub.

#[path = "support/guides.rs"]
mod support;

use std::time::Instant;

use serde_json::json;
use support::*;

const RUNBOOK: &str = "config/runbooks/offgridflow.yaml";
const FIXTURE: &str = "tests/fixtures/guides/offgridflow/k8s.yaml";

const METRICS: &[&str] = &[
    "--metric",
    r#"http_requests_total{job="offgridflow-api",code=~"5.."}=0.01"#,
    "--metric",
    "offgridflow_db_query_duration_seconds_bucket=0.03",
    "--metric",
    "offgridflow_cache_hit_ratio=0.93",
];

const ACKS: &[&str] = &["deployment-gates", "observability", "post-deploy"];

async fn offgridflow(demo_args: &[&str]) -> (Guide, Vec<String>, String, Webhook) {
    let mut g = Guide::new("offgridflow", FIXTURE).await;
    // The guide's Slack notifications go to a receiver on loopback.
    let hook = Webhook::start().await;
    g.set_env("SLACK_WEBHOOK_URL", &hook.url);
    let base = g.demo(demo_args);
    let scratch = fresh_db("offgridflow_dryrun").await;
    let (dsn, redis) = (g.dsn.clone(), g.redis_url.clone());
    let (user, password) = (g.registry_user.clone(), g.registry_password.clone());
    for (k, v) in [
        ("DATABASE_URL", dsn.as_str()),
        ("DRY_RUN_DATABASE_URL", scratch.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REGISTRY_USER", user.as_str()),
        ("REGISTRY_PASSWORD", password.as_str()),
        ("JWT_SECRET", "jwt-offgrid-secret-9931"),
        ("ENCRYPTION_KEY", "enc-offgrid-secret-1177"),
        ("STRIPE_SECRET_KEY", "sk_test_offgrid"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_offgrid"),
        ("AWS_ACCESS_KEY_ID", "AKIAOFFGRID"),
        ("AWS_SECRET_ACCESS_KEY", "aws-offgrid-secret"),
        ("AZURE_CLIENT_ID", "azure-client"),
        ("AZURE_CLIENT_SECRET", "azure-offgrid-secret"),
        ("AZURE_TENANT_ID", "azure-tenant"),
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/etc/gcp/offgridflow.json",
        ),
    ] {
        g.set_env(k, v);
    }
    let config = g.dir.path().join("staging.yaml");
    std::fs::write(&config, "environment: staging\nreplicas: 1\n").unwrap();
    let sets = vec![
        "version=v1.3.0".to_string(),
        format!("config_file={}", config.display()),
        "registry=registry.local/offgridflow".into(),
        format!("registry_url={}", g.registry_url),
        "migrations=tests/fixtures/guides/offgridflow/migrations".into(),
        "schema_version=2".into(),
        format!("backup_dir={}", g.backups().display()),
        format!("base_url={base}"),
        format!("prometheus_url={base}"),
        format!("docker={}", stub("docker")),
        "health_every=1s".into(),
        "health_for=3s".into(),
        "metric_interval=500ms".into(),
        "metric_sustain=2s".into(),
    ];
    // The guide's windows (health 2m, error rate sustained 30s) shortened
    // through inputs: the runbook itself runs, not a copy.
    let runbook = RUNBOOK.to_string();
    (g, sets, runbook, hook)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offgridflow_one_command_deploy_runs_to_success_and_reports_the_checklist() {
    let t0 = Instant::now();
    let (g, sets, runbook, hook) = offgridflow(METRICS).await;
    let (code, ev) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(release_status(&ev).as_deref(), Some("succeeded"));
    let release = release_id(&ev);
    // Slack: `{"text"}` only, started then succeeded; the webhook URL (a
    // secret) never shows in the events.
    let head = format!("offgridflow release {release} to staging");
    assert_eq!(
        hook.bodies(),
        vec![
            json!({ "text": format!("{head} started by alice") }),
            json!({ "text": format!("{head} succeeded") }),
        ]
    );
    assert!(ev.iter().all(|e| !e.to_string().contains("s3cr3t-path")));
    // The flow in the guide's order.
    let order: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    let at = |s: &str| {
        order
            .iter()
            .position(|x| *x == s)
            .unwrap_or_else(|| panic!("{s}"))
    };
    assert!(at("kubernetes_cluster_access") < at("backup"));
    assert!(at("backup") < at("migration-dry-run") && at("migration-dry-run") < at("migrate"));
    assert!(at("schema-version") < at("build-images") && at("push-images") < at("rollout-api"));
    assert!(at("pod-readiness") < at("smoke") && at("smoke") < at("error-rate"));
    assert!(at("cache-hit-rate") < at("deployment-report"));
    for s in &order {
        assert_eq!(finished(&ev, s)["status"], "succeeded", "{s}");
    }
    // Images rolled out.
    for (d, c) in [("api", "api"), ("worker", "worker"), ("web", "web")] {
        assert_eq!(
            g.ns.image(&format!("offgridflow-{d}")).await,
            format!("registry.local/offgridflow/{c}:v1.3.0")
        );
    }
    // The readiness wait watched health before passing.
    let readiness = finished(&ev, "pod-readiness");
    assert!(
        readiness["detail"]
            .as_str()
            .unwrap()
            .contains("healthy for"),
        "{readiness}"
    );
    // Built and pushed through the docker input.
    let pushes = g
        .stub_calls()
        .into_iter()
        .filter(|c| c["tool"] == "docker" && c["argv"][0] == "push")
        .count();
    assert_eq!(pushes, 3);
    // The backup file and the deployment checklist.
    assert!(
        g.backups().join(format!("{release}-backup.dump")).exists(),
        "backup file"
    );
    let report_out = output_of(&ev, "deployment-report").join("\n");
    assert!(
        report_out.contains("- name: docker_registry_auth"),
        "{report_out}"
    );
    let yaml = g.report_yaml(&release).await;
    for name in [
        "database_connection",
        "redis_connection",
        "jwt_secret_present",
        "stripe_keys_configured",
        "aws_credentials_valid",
        "azure_credentials_valid",
        "gcp_credentials_valid",
        "docker_registry_auth",
        "kubernetes_cluster_access",
    ] {
        assert!(yaml.contains(&format!("- name: {name}")), "{name}\n{yaml}");
    }
    assert!(yaml.contains("environment: staging"));
    let report = g.report_json(&release).await.to_string();
    for secret in [
        "jwt-offgrid-secret-9931",
        "enc-offgrid-secret-1177",
        &g.registry_password,
    ] {
        assert!(!report.contains(secret), "a secret reached the journal");
    }
    eprintln!("offgridflow success run: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offgridflow_missing_secret_stops_pre_flight_before_anything_changes() {
    let t0 = Instant::now();
    let (mut g, sets, runbook, hook) = offgridflow(METRICS).await;
    g.unset_env("JWT_SECRET");
    let (code, ev) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    assert_eq!(code, 1, "{ev:#?}");
    let f = finished(&ev, "jwt_secret_present");
    assert_eq!(f["status"], "failed");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("JWT_SECRET"), "{detail}");
    assert!(!detail.contains("enc-offgrid-secret-1177"));
    assert_eq!(release_status(&ev).as_deref(), Some("failed"));
    for step in ["backup", "migrate", "build-images", "rollout-api"] {
        assert!(
            !started(&ev, step),
            "{step} ran after the failed pre-flight"
        );
    }
    assert!(g.stub_calls().is_empty(), "nothing was built or pushed");
    // Slack hears of the failure: the failing step and its reason.
    let bodies = hook.bodies();
    let text = bodies.last().unwrap()["text"].as_str().unwrap();
    assert!(
        text.contains(" failed at jwt_secret_present (") && text.contains("JWT_SECRET"),
        "{text}"
    );
    assert_eq!(
        g.ns.image("offgridflow-api").await,
        "registry.local/offgridflow/api:v1.2.3"
    );
    let backups = std::fs::read_dir(g.backups()).unwrap().count();
    assert_eq!(backups, 0);
    eprintln!("offgridflow missing-secret run: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offgridflow_failing_health_rolls_the_api_back_automatically() {
    let t0 = Instant::now();
    let mut args = METRICS.to_vec();
    args.extend(["--fail-path", "/health"]);
    let (g, sets, runbook, hook) = offgridflow(&args).await;
    let (code, ev) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    assert_eq!(code, 1, "{ev:#?}");
    assert_eq!(finished(&ev, "rollout-api")["status"], "succeeded");
    let f = finished(&ev, "pod-readiness");
    assert_eq!(f["status"], "failed");
    let detail = f["detail"].as_str().unwrap();
    assert!(
        detail.contains("rolled back automatically") && detail.contains("health"),
        "{detail}"
    );
    assert_eq!(release_status(&ev).as_deref(), Some("failed"));
    assert!(!started(&ev, "smoke"));
    // Slack hears it was rolled back, at which step and why.
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    let text = bodies[1]["text"].as_str().unwrap();
    assert!(
        text.contains("was rolled back at pod-readiness") && text.contains("health"),
        "{text}"
    );
    assert_eq!(
        g.ns.image("offgridflow-api").await,
        "registry.local/offgridflow/api:v1.2.3"
    );
    g.ns.rolled_out("offgridflow-api").await;
    eprintln!("offgridflow health-rollback run: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offgridflow_error_rate_above_5_percent_rolls_the_api_back_automatically() {
    let t0 = Instant::now();
    // 8 % of the API's requests fail over the last 10 minutes.
    let mut args = vec![
        "--metric",
        r#"http_requests_total{job="offgridflow-api",code=~"5.."}=0.08"#,
    ];
    args.extend_from_slice(&METRICS[2..]);
    let (g, sets, runbook, hook) = offgridflow(&args).await;
    let (code, ev) = g.run_headless(&runbook, "staging", &sets, ACKS).await;
    assert_eq!(code, 1, "{ev:#?}");
    let f = finished(&ev, "pod-readiness");
    assert_eq!(f["status"], "failed");
    let detail = f["detail"].as_str().unwrap();
    assert!(
        detail.contains("rolled back automatically") && detail.contains("rollback_on.metric"),
        "{detail}"
    );
    assert!(detail.contains("0.05"), "{detail}");
    assert_eq!(release_status(&ev).as_deref(), Some("failed"));
    assert!(!started(&ev, "smoke"));
    assert!(!started(&ev, "deployment-report"));
    let bodies = hook.bodies();
    let text = bodies.last().unwrap()["text"].as_str().unwrap();
    assert!(
        text.contains("was rolled back at pod-readiness") && text.contains("0.05"),
        "{text}"
    );
    assert_eq!(
        g.ns.image("offgridflow-api").await,
        "registry.local/offgridflow/api:v1.2.3"
    );
    eprintln!("offgridflow error-rate run: {:?}", t0.elapsed());
}
