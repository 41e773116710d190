//! `flightdeck watch` end to end: a release driven by `run --headless` on
//! the test control plane stops at a manual step; `watch` in tmux shows it
//! beside the Deployment its kube step touched, in the list and opened,
//! and leaves the journal byte for byte as it was.

#[path = "support/kube.rs"]
mod support;
#[path = "support/tmux.rs"]
mod tmux;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{TestNs, kubeconfig};
use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_flightdeck");

const RUNBOOK: &str = "name: e2e-shop
environments:
  prod: {}
stages:
  - id: s
    title: S
    steps:
      - id: wait-web
        title: Web rolled out
        kube.wait: { deployment: web }
      - id: look
        title: Look at it
        manual: { items: [Dashboards are green] }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_the_release_touching_a_deployment_and_writes_nothing() {
    let ns = TestNs::new("watche2e").await;
    ns.deployment("web", "registry/web:1", 1, json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("rb.yaml"), RUNBOOK).unwrap();
    let env = [
        ("KUBECONFIG", kubeconfig()),
        ("FLIGHTDECK_CONFIG_DIR", d.join("cfg").display().to_string()),
        ("FLIGHTDECK_DATA_DIR", d.join("data").display().to_string()),
        (
            "FLIGHTDECK_STATE_DIR",
            d.join("state").display().to_string(),
        ),
        ("FLIGHTDECK_JOURNAL", d.join("j.db").display().to_string()),
    ];
    let run = Command::new(BIN)
        .args(["run", "--headless", "rb.yaml", "--namespace", &ns.name])
        .current_dir(d)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(3),
        "waits at the manual step: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let before = std::fs::read(d.join("j.db")).unwrap();

    let t = Tmux::start("watch-journal", 1);
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    t.send(
        0,
        &[
            &format!(
                "cd '{}' && env {} {BIN} watch -n {}",
                d.display(),
                vars.join(" "),
                ns.name
            ),
            "Enter",
        ],
    );
    let list = t.wait_for(0, "1 release running", Duration::from_secs(60));
    let screen = t.wait_for(0, " 2/2 ", Duration::from_secs(30));
    assert!(screen.contains("RELEASE"), "{list}\n{screen}");
    t.send(0, &["Enter"]);
    let opened = t.wait_for(0, "waiting for a person", Duration::from_secs(30));
    assert!(opened.contains("e2e-shop/prod · step 2/2 look"), "{opened}");
    t.send(0, &["q"]);
    t.wait_for(0, "frames", Duration::from_secs(20));
    let after = std::fs::read(d.join("j.db")).unwrap();
    assert!(before == after, "watch wrote to the journal");
}
