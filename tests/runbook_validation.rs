//! Runbook loading: valid files pass, broken ones fail with every problem
//! named by file, line, column and field.

use std::path::Path;

use flightdeck::runbook::{self, CheckSpec, Program, StepAction};

#[test]
fn every_shipped_runbook_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir("config/runbooks").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            runbook::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no runbooks found");
}

#[test]
fn demo_runbook_reads_as_written() {
    let l = runbook::load(Path::new("config/runbooks/demo.yaml")).unwrap();
    let rb = &l.runbook;
    assert_eq!(rb.name, "demo");
    assert_eq!(rb.environments.len(), 2);
    assert!(rb.environment("production").unwrap().confirm);
    let flaky = rb.steps().find(|s| s.id == "flaky").unwrap();
    assert_eq!(flaky.retries, 1);
    assert!(
        matches!(&flaky.action, StepAction::Check(CheckSpec::Http(h)) if h.url.ends_with("/flaky"))
    );
    let start = rb.steps().find(|s| s.id == "start-service").unwrap();
    assert!(
        matches!(&start.action, StepAction::Command(c) if c.background && matches!(c.program, Program::Argv(_)))
    );
    assert_eq!(l.content_hash.len(), 64);
}

#[test]
fn broken_runbook_reports_every_problem_with_positions() {
    let err = runbook::load(Path::new("tests/fixtures/runbooks/broken.yaml")).unwrap_err();
    let text = err.to_string();
    let expect = [
        ("2:1", "descripton: unknown field"),
        ("inputs.version.type", "unknown type"),
        ("command.run", "undefined reference ${inputs.missing}"),
        ("timeout", "not a duration"),
        ("id", "duplicate step id \"build\""),
        ("expect_status", "expected a whole number"),
        ("kind", "missing: give one of manual, command, check, gate"),
        ("roles.approver", "number of people needed"),
    ];
    for (a, b) in expect {
        assert!(
            text.lines().any(|l| l.contains(a) && l.contains(b)),
            "missing {a:?} / {b:?} in:\n{text}"
        );
    }
    // Every line names the file and a line:column.
    for line in text.lines() {
        assert!(
            line.starts_with("tests/fixtures/runbooks/broken.yaml:"),
            "{line}"
        );
        let rest = line.split(':').nth(1).unwrap();
        assert!(rest.parse::<u32>().unwrap() > 0, "{line}");
    }
    assert!(err.problems.len() >= 8);
}

#[test]
fn alias_bombs_are_refused() {
    let err = runbook::load(Path::new("tests/fixtures/runbooks/alias_bomb.yaml")).unwrap_err();
    assert!(!err.problems.is_empty());
}

#[test]
fn deep_nesting_and_big_files_are_refused() {
    let deep = format!("name: x\nstages: {}{}\n", "[".repeat(500), "]".repeat(500));
    assert!(runbook::parse_str(&deep, Path::new("deep.yaml")).is_err());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(
        &big,
        format!("name: big\n# {}\n", "x".repeat(2 * 1024 * 1024)),
    )
    .unwrap();
    let err = runbook::load(&big).unwrap_err();
    assert!(err.to_string().contains("limited to"), "{err}");
}

#[test]
fn bad_types_name_the_field() {
    let text = "name: x\nstages:\n  - id: s\n    steps:\n      - id: a\n        retries: many\n        command: echo\n";
    let err = runbook::parse_str(text, Path::new("t.yaml")).unwrap_err();
    let s = err.to_string();
    assert!(
        s.contains("t.yaml:6:") && s.contains("stages[0].steps[0].retries"),
        "{s}"
    );
}

#[test]
fn inputs_are_checked_against_their_pattern() {
    let l = runbook::load(Path::new("config/runbooks/demo.yaml")).unwrap();
    let mut given = std::collections::BTreeMap::new();
    given.insert("version".to_string(), "1.4".to_string());
    given.insert("colour".to_string(), "red".to_string());
    let errs = runbook::inputs::resolve(&l.runbook, &given).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("does not match")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("unknown input \"colour\"")),
        "{errs:?}"
    );
    given.clear();
    given.insert("version".to_string(), "v2.0.1".to_string());
    let ok = runbook::inputs::resolve(&l.runbook, &given).unwrap();
    assert_eq!(ok["version"], "v2.0.1");
    assert_eq!(ok["port"], "18080");
}
