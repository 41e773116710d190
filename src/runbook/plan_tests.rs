//! The plan of a runbook, built offline from its text.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::runbook::content::ContentManifest;
use crate::runbook::interpolate::Scope;

const RUNBOOK: &str = r#"
name: shop
environments:
  staging: {}
  production: { confirm: true }
roles:
  release-approver: [bob, carol]
inputs:
  image: { default: "registry.local/shop:v2" }
  token: { secret: true, default: "s3cr3t-token-value" }
stages:
  - id: pre
    title: Pre-flight
    steps:
      - id: build
        title: Build ${inputs.image}
        command: { run: "make push IMAGE=${inputs.image} TOKEN=${inputs.token}" }
      - id: prod-only
        when: { env: [production] }
        command: { run: "echo prod" }
  - id: ship
    title: Ship
    steps:
      - id: approval
        gate: { roles: { release-approver: 2, security: 1 }, soak: 1m }
      - id: migrate
        migrate: { dsn: "${env.DATABASE_URL}", dir: db/migrations, irreversible: true }
      - id: roll
        kube.rollout:
          deployment: shop-green
          images: { web: "${inputs.image}" }
      - id: switch
        risky: true
        kube.patch:
          api_version: v1
          kind: Service
          name: shop
          patch: { spec: { selector: { color: green } } }
"#;

fn plan_for(env: &str, with_db: bool) -> (Plan, ContentManifest) {
    let loaded = crate::runbook::parse_str(RUNBOOK, Path::new("shop.yaml")).unwrap();
    let inputs = crate::runbook::inputs::resolve(&loaded.runbook, &BTreeMap::new()).unwrap();
    let mut scope = Scope {
        inputs: inputs.clone(),
        ..Default::default()
    };
    if with_db {
        scope.env.insert(
            "DATABASE_URL".into(),
            "postgres://app:pw-123456@db/shop".into(),
        );
    }
    let mut secrets = crate::runbook::secrets::SecretSet::new();
    secrets.add("s3cr3t-token-value");
    secrets.add_url("postgres://app:pw-123456@db/shop");
    let manifest = ContentManifest::new(RUNBOOK.as_bytes(), &[], env, None, &inputs);
    let plan = build(&PlanInput {
        runbook: &loaded.runbook,
        environment: env,
        release: None,
        scope: &scope,
        secrets: &secrets,
        content: Some(&manifest),
    });
    (plan, manifest)
}

fn step<'a>(p: &'a Plan, id: &str) -> &'a PlanStep {
    p.steps.iter().find(|s| s.id == id).unwrap()
}

#[test]
fn every_value_is_resolved_and_secrets_are_masked() {
    let (plan, _) = plan_for("staging", true);
    let build = step(&plan, "build");
    assert_eq!(build.title, "Build registry.local/shop:v2");
    assert_eq!(
        build.details[0],
        "command.run: make push IMAGE='registry.local/shop:v2' TOKEN='***'"
    );
    assert_eq!(plan.inputs["token"], "***");
    let text = crate::runbook::plan_text::text(&plan);
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!text.contains("pw-123456"), "{text}");
    assert!(
        text.contains("container web -> registry.local/shop:v2"),
        "{text}"
    );
}

#[test]
fn the_plan_hash_is_the_approval_hash() {
    let (plan, manifest) = plan_for("staging", true);
    assert_eq!(plan.content_hash.as_deref(), Some(manifest.hash().as_str()));
    let (prod, _) = plan_for("production", true);
    assert_ne!(prod.content_hash, plan.content_hash);
}

#[test]
fn risk_gates_and_the_point_of_no_return_are_marked() {
    let (plan, _) = plan_for("staging", true);
    assert_eq!(step(&plan, "switch").risk, Risk::Risky);
    assert_eq!(step(&plan, "roll").risk, Risk::None);
    assert_eq!(step(&plan, "migrate").risk, Risk::Irreversible);
    assert_eq!(plan.point_of_no_return.as_deref(), Some("migrate"));
    // Production asks for its name before every change: rollouts are risky there.
    let (prod, _) = plan_for("production", true);
    assert_eq!(step(&prod, "roll").risk, Risk::Risky);
    let gate = step(&plan, "approval").gate.clone().unwrap();
    assert_eq!(gate.roles[0].role, "release-approver");
    assert_eq!(gate.roles[0].count, 2);
    assert_eq!(
        gate.roles[0].people,
        Some(vec!["bob".to_string(), "carol".to_string()])
    );
    assert_eq!(gate.roles[1].people, None);
    assert!(
        gate.rules
            .iter()
            .any(|r| r.contains("not the person who started"))
    );
    assert!(
        gate.rules
            .iter()
            .any(|r| r == "soak 1m00s after the counts are met"),
        "{:?}",
        gate.rules
    );
}

#[test]
fn steps_not_for_the_environment_and_unknown_values_say_so() {
    let (plan, _) = plan_for("staging", false);
    assert_eq!(
        step(&plan, "prod-only").skipped.as_deref(),
        Some(crate::runbook::when::NOT_FOR_ENV)
    );
    let m = step(&plan, "migrate");
    assert!(
        m.unresolved
            .as_deref()
            .unwrap()
            .contains("env.DATABASE_URL")
    );
    assert!(matches!(m.cluster, ClusterSlot::Unavailable { .. }));
    // The cluster side is asked only for what resolved and runs here.
    let targets: Vec<usize> = plan.targets().into_iter().map(|(i, _)| i).collect();
    assert_eq!(targets, vec![4, 5]);
}

#[test]
fn cluster_answers_fill_their_slot_masked() {
    let (mut plan, _) = plan_for("staging", true);
    let mut secrets = crate::runbook::secrets::SecretSet::new();
    secrets.add("s3cr3t-token-value");
    plan.fill(
        4,
        ClusterSlot::Read {
            change: ClusterChange::Images {
                deployment: "shop-green".into(),
                revision: Some("3".into()),
                containers: vec![ImageChange {
                    container: "web".into(),
                    live: Some("registry.local/shop:s3cr3t-token-value".into()),
                    new: "registry.local/shop:v2".into(),
                }],
            },
        },
        &|s: &str| secrets.mask(s),
    );
    plan.not_read("cluster unreachable: connection refused");
    let text = crate::runbook::plan_text::text(&plan);
    assert!(
        text.contains("deployment shop-green: revision 3 now"),
        "{text}"
    );
    assert!(
        text.contains("~ web: registry.local/shop:*** → registry.local/shop:v2"),
        "{text}"
    );
    assert!(
        text.contains("cannot read what changes: cluster unreachable: connection refused"),
        "{text}"
    );
    // A pending irreversible migration found in the database moves the point of no return.
    let (mut plan, _) = plan_for("staging", true);
    plan.steps[3].risk = Risk::None;
    plan.point_of_no_return = None;
    plan.fill(
        3,
        ClusterSlot::Read {
            change: ClusterChange::Migrations {
                version: 1,
                pending: vec![PendingMigration {
                    version: 2,
                    description: "drop legacy".into(),
                    irreversible: true,
                }],
            },
        },
        &|s: &str| secrets.mask(s),
    );
    assert_eq!(plan.point_of_no_return.as_deref(), Some("migrate"));
}
