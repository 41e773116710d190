//! config/runbooks/goat.yaml (the GOAT deployment guide) run headless by the
//! built binary against the local parts: PostgreSQL and Redis of the test
//! services, the test cluster (goat-api from tests/fixtures/guides/goat),
//! the demo service as the GOAT API and its Prometheus, and the helm /
//! cosign stubs of tests/fixtures/bin (the helm stub really sets the image).

#[path = "support/guides.rs"]
mod support;

use std::time::Instant;

use support::*;

const RUNBOOK: &str = "config/runbooks/goat.yaml";
const FIXTURE: &str = "tests/fixtures/guides/goat/k8s.yaml";
const OLD_IMAGE: &str = "ghcr.io/your-org/goat:v2.0.0";

/// The sandbox with GOAT's variables, secret files and the API side.
async fn goat(demo_args: &[&str]) -> (Guide, Vec<String>) {
    let mut g = Guide::new("goat", FIXTURE).await;
    let base = g.demo(demo_args);
    let dsn = g.dsn.clone();
    let redis = g.redis_url.clone();
    g.set_env("GOAT_DATABASE_DSN", &dsn);
    g.set_env("GOAT_REDIS_ADDR", &redis);
    g.set_env("GOAT_ENV", "staging");
    g.set_env("GOAT_JWT_SIGNING_KEY", "jwt-very-secret-4711");
    g.set_env("GOAT_WEBHOOK_SIGNING_SECRET", "whsec-very-secret-0815");
    g.set_env("GOAT_RATE_LIMIT_PROFILE", "standard");
    g.set_env("GOAT_SAML_METADATA_URL", "https://idp.example.com/metadata");
    let env_file = g.dir.path().join("goat-staging.env");
    std::fs::write(&env_file, "GOAT_JWT_SIGNING_KEY=jwt-very-secret-4711\n").unwrap();
    let secrets = g.dir.path().join("staging.yaml");
    std::fs::write(
        &secrets,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: goat-env\ntype: Opaque\nstringData:\n  GOAT_WEBHOOK_SIGNING_SECRET: whsec-very-secret-0815\n",
    )
    .unwrap();
    let sets = vec![
        "release_tag=v2.1.0".to_string(),
        format!("namespace={}", g.ns.name),
        format!("secrets_env_file={}", env_file.display()),
        format!("secrets_manifest={}", secrets.display()),
        "migrations=tests/fixtures/guides/goat/migrations".into(),
        "schema_version=2".into(),
        format!("base_url={base}"),
        format!("prometheus_url={base}"),
        format!("helm={}", stub("helm")),
        format!("cosign={}", stub("cosign")),
    ];
    (g, sets)
}

const ACKS: &[&str] = &[
    "rollback-plan",
    "sbom-diff",
    "observability",
    "flip-traffic",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goat_release_runs_to_success_with_a_second_person_at_the_traffic_gate() {
    let t0 = Instant::now();
    let (g, sets) = goat(&[
        "--metric",
        "goat_http_request_duration_seconds_bucket=0.21",
        "--metric",
        "goat_auth_failures_total=0",
    ])
    .await;
    let (code, ev) = g.run_headless(RUNBOOK, "staging", &sets, ACKS).await;
    assert_eq!(code, 3, "stops at the traffic gate: {ev:#?}");
    let release = release_id(&ev);
    assert_eq!(ev.last().unwrap()["step"], "traffic-approval", "{ev:#?}");
    for step in [
        "required-config",
        "saml-federation",
        "goat-env",
        "postgres",
        "redis",
        "cluster",
        "rollback-plan",
        "verify-signature",
        "sbom-diff",
        "apply-secrets",
        "migrate",
        "schema-version",
        "helm-upgrade",
        "rollout-status",
        "smoke",
        "metrics-endpoint",
        "p95-latency",
        "auth-failures",
        "db-connections",
        "observability",
    ] {
        assert_eq!(
            finished(&ev, step)["status"],
            "succeeded",
            "{step}: {ev:#?}"
        );
    }
    // Migrations ran before Helm touched the Deployment.
    let pos = |step: &str| {
        ev.iter()
            .position(|e| e["event"] == "step_finished" && e["step"] == step)
            .unwrap()
    };
    assert!(pos("schema-version") < pos("helm-upgrade"));
    assert_eq!(g.ns.image("goat-api").await, "ghcr.io/your-org/goat:v2.1.0");
    let calls = g.stub_calls();
    assert!(calls.iter().any(|c| {
        c["tool"] == "cosign"
            && c["argv"][0] == "verify"
            && c["argv"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "ghcr.io/your-org/goat:v2.1.0")
    }));
    assert!(
        calls
            .iter()
            .any(|c| c["tool"] == "helm" && c["argv"][0] == "upgrade")
    );

    g.approve(&release, "traffic-approval", "release-manager", "bob")
        .await;
    let (code, ev) = g.resume(&release, ACKS).await;
    assert_eq!(code, 0, "{ev:#?}");
    assert_eq!(release_status(&ev).as_deref(), Some("succeeded"));

    let report = g.report_json(&release).await;
    let text = report.to_string();
    for secret in ["jwt-very-secret-4711", "whsec-very-secret-0815"] {
        assert!(!text.contains(secret), "a secret reached the journal");
    }
    let detail = |step: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == step)
            .and_then(|s| s["detail"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(detail("migrate").contains("→ 2"), "{}", detail("migrate"));
    assert!(
        detail("p95-latency").contains("< 0.5"),
        "{}",
        detail("p95-latency")
    );
    eprintln!("goat success run: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goat_crash_looping_image_is_rolled_back_to_the_previous_revision() {
    let t0 = Instant::now();
    let (g, mut sets) = goat(&[
        "--metric",
        "goat_http_request_duration_seconds_bucket=0.21",
        "--metric",
        "goat_auth_failures_total=0",
    ])
    .await;
    sets.retain(|s| !s.starts_with("release_tag="));
    sets.push("release_tag=v2.1.1".into());
    sets.push("image_repository=ghcr.io/your-org/goat-crashloop".into());
    let (code, ev) = g.run_headless(RUNBOOK, "staging", &sets, ACKS).await;
    assert_eq!(code, 1, "{ev:#?}");
    assert_eq!(finished(&ev, "helm-upgrade")["status"], "succeeded");
    let rollout = finished(&ev, "rollout-status");
    assert_eq!(rollout["status"], "failed");
    let detail = rollout["detail"].as_str().unwrap();
    assert!(detail.contains("rolled back automatically"), "{detail}");
    assert!(
        detail.to_lowercase().contains("crash"),
        "the reason names the crash loop: {detail}"
    );
    assert_eq!(release_status(&ev).as_deref(), Some("failed"));
    // Nothing after the rollout ran: no smoke tests, no traffic.
    assert!(!started(&ev, "smoke") && !started(&ev, "traffic-approval"));
    // The Deployment is back on the previous revision's image, rolled out.
    assert_eq!(g.ns.image("goat-api").await, OLD_IMAGE);
    g.ns.rolled_out("goat-api").await;
    eprintln!("goat rollback run: {:?}", t0.elapsed());
}
