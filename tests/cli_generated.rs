//! Completions and man pages come from the clap definition: each names
//! every visible subcommand, and the binary prints them.

use clap::CommandFactory;
use flightdeck::cli::{Cli, CompletionShell};
use flightdeck::subcommands::generated::{completions, man_pages};

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn every_shell_completes_every_subcommand() {
    let names = subcommands();
    assert!(names.len() >= 10, "{names:?}");
    for shell in [
        CompletionShell::Bash,
        CompletionShell::Zsh,
        CompletionShell::Fish,
    ] {
        let script = String::from_utf8(completions(shell)).unwrap();
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell:?} completion lacks {name}"
            );
        }
    }
    let fish = String::from_utf8(completions(CompletionShell::Fish)).unwrap();
    assert!(fish.contains("complete -c flightdeck"), "{fish}");
}

#[test]
fn the_man_page_names_every_subcommand_and_each_has_its_own() {
    let pages = man_pages().unwrap();
    let (name, top) = &pages[0];
    assert_eq!(name, "flightdeck.1");
    let top = String::from_utf8(top.clone()).unwrap();
    assert!(
        top.starts_with(".ie") || top.contains(".TH flightdeck 1"),
        "{top}"
    );
    assert!(top.contains(".SH SUBCOMMANDS"), "{top}");
    for sub in subcommands() {
        assert!(top.contains(&sub), "flightdeck.1 lacks {sub}");
        let file = format!("flightdeck-{sub}.1");
        let page = pages
            .iter()
            .find(|(n, _)| *n == file)
            .unwrap_or_else(|| panic!("no {file}"));
        let page = String::from_utf8(page.1.clone()).unwrap();
        assert!(page.contains(&format!("flightdeck-{sub}")), "{file}");
    }
    assert!(!pages.iter().any(|(n, _)| n.contains("demo-service")));
}

#[test]
fn the_binary_prints_completions_and_writes_man_pages() {
    let bin = env!("CARGO_BIN_EXE_flightdeck");
    let out = std::process::Command::new(bin)
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("#compdef flightdeck"));

    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin)
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for sub in subcommands() {
        assert!(
            dir.path().join(format!("flightdeck-{sub}.1")).is_file(),
            "{sub}"
        );
    }
    let top = std::fs::read_to_string(dir.path().join("flightdeck.1")).unwrap();
    assert!(top.contains("approve"), "{top}");

    let out = std::process::Command::new(bin)
        .args(["completions", "powershell"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
