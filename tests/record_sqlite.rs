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
