//! `flightdeck plan` offline: the demo runbook prints every step with its
//! values; JSON carries the same; a secret input never shows; bad input
//! is refused with file and field (exit 2).

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

fn plan(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FLIGHTDECK_CONFIG_DIR", dir.path().join("config"))
        .env("FLIGHTDECK_DATA_DIR", dir.path().join("data"))
        .env_remove("KUBECONFIG")
        .arg("plan")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_demo_plan_prints_every_step_offline() {
    let out = plan(&["config/runbooks/demo.yaml", "--set", "version=v9.9.9"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rb = flightdeck::runbook::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/runbooks/demo.yaml"
    )))
    .unwrap();
    for step in rb.runbook.steps() {
        assert!(
            text.contains(&format!("[{}]", step.id)),
            "{} in:\n{text}",
            step.id
        );
    }
    assert!(
        text.contains("Build v9.9.9 [build-image] command"),
        "{text}"
    );
    assert!(text.contains("needs 1 × release-approver"), "{text}");
    assert!(text.contains("[push-image] command ⚠ risky"), "{text}");
    let json = plan(&["config/runbooks/demo.yaml", "--format", "json"]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["steps"].as_array().unwrap().len(),
        rb.runbook.step_count()
    );
    assert_eq!(v["content_hash"].as_str().unwrap().len(), 64);
}

#[test]
fn a_secret_input_never_shows_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("s.yaml");
    std::fs::write(
        &rb,
        "name: s\ninputs:\n  token: { secret: true }\n  count: { type: integer, default: '1' }\nstages:\n  - id: a\n    title: A\n    steps:\n      - id: call\n        command: { argv: [curl, -H, 'Authorization: Bearer ${inputs.token}', https://example.com] }\n",
    )
    .unwrap();
    let out = plan(&[rb.to_str().unwrap(), "--set", "token=hunter2-secret-value"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("token=***"), "{text}");
    assert!(text.contains("note: secret inputs are sealed"), "{text}");
    let bad = plan(&[
        rb.to_str().unwrap(),
        "--set",
        "token=x",
        "--set",
        "count=many",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("s.yaml") && err.contains("must be an integer"),
        "{err}"
    );
    assert!(
        err.contains("Suggestion: `inputs:` in") && err.contains("--set NAME=VALUE"),
        "a bad --set says where to look: {err}"
    );
    // A secret input's bad value is refused without repeating it.
    std::fs::write(
        &rb,
        "name: s\ninputs:\n  token: { secret: true, pattern: '[a-z]+' }\nstages:\n  - id: a\n    title: A\n    steps:\n      - { id: c, command: 'true' }\n",
    )
    .unwrap();
    let bad = plan(&[rb.to_str().unwrap(), "--set", "token=HUNTER2"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("does not match the pattern"), "{err}");
    assert!(!err.contains("HUNTER2"), "{err}");
}

#[test]
fn a_bad_settings_file_is_named_with_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("flightdeck.toml"),
        "[identity]\nperson = \"ann\"\nsh_key = \"~/.ssh/id\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FLIGHTDECK_CONFIG_DIR", &config)
        .env("FLIGHTDECK_DATA_DIR", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .args(["plan", "config/runbooks/demo.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let at = format!(
        "{}:3:1: identity.sh_key: unknown field `sh_key`",
        config.join("flightdeck.toml").display()
    );
    assert!(err.contains(&at), "{err}");
    assert!(
        err.contains("Suggestion: fix `identity.sh_key` in"),
        "{err}"
    );
}
