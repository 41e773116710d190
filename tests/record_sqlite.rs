//! The record's attacks on a SQLite journal file.

#[path = "support/record_attacks.rs"]
mod attacks;

use attacks::Sandbox;

#[test]
fn forged_signoff_row_opens_nothing_on_sqlite() {
    attacks::forged_signoff_row_opens_nothing(&Sandbox::sqlite());
}

#[test]
fn deleted_tail_is_caught_by_the_witness_on_sqlite() {
    attacks::deleted_tail_is_caught_by_the_witness(&Sandbox::sqlite());
}

#[test]
fn every_edited_entry_is_named_on_sqlite() {
    attacks::every_edited_entry_is_named(&Sandbox::sqlite());
}

#[test]
fn a_missing_key_stops_commands_on_sqlite() {
    attacks::a_missing_key_stops_commands(&Sandbox::sqlite());
}

#[test]
fn a_first_run_on_a_new_journal_creates_the_key() {
    let sb = Sandbox::sqlite();
    let out = sb.run("alice", &["releases"]);
    assert_eq!(out.status.code(), Some(0), "{}", attacks::text(&out));
    assert!(sb.key_file().exists());
}

#[path = "support/canned.rs"]
mod canned;

/// Copies of the head leave the database: the release hooks carry it and
/// `report` prints it.
#[test]
fn hooks_and_report_carry_the_chain_head() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = rt.block_on(canned::canned(200, "application/json", "{}".into()));
    let sb = Sandbox::sqlite();
    let rb = sb.file(
        "hooked.yaml",
        &format!(
            "name: hooked\nnotify:\n  - url: \"http://{addr}/hook\"\n    format: json\n    on: [started, succeeded]\nstages:\n  - id: s\n    steps:\n      - id: a\n        command: 'echo a'\n"
        ),
    );
    let out = sb.run("alice", &["run", &rb, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", attacks::text(&out));
    let release = attacks::release_of(&out);
    let bodies = seen.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "no hook was posted");
    for body in &bodies {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
        let head = &v["chain_head"];
        assert!(head["seq"].as_i64().unwrap() >= 1, "{body}");
        assert_eq!(head["mac"].as_str().unwrap().len(), 64, "{body}");
    }
    let report = sb.run("alice", &["report", &release, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let seq = sb.scalar("SELECT MAX(seq) FROM audit_log");
    assert_eq!(v["chain_head"]["seq"].as_i64(), Some(seq));
    let md = sb.run("alice", &["report", &release]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains(&format!("Audit chain head: entry {seq}, MAC ")),
        "{md}"
    );
}
