//! Keys while a dialog is open.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::journal::*;
use super::signoff::*;
use super::steps::*;
use super::{rollout, team};
use crate::app::state::*;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::output::Stream;
use crate::runbook::StepAction;
use crate::runbook::progress::{Outcome, ReleaseStatus, StepStatus};

pub(super) fn dialog_key(state: &mut AppState, key: KeyEvent, out: &mut Vec<Command>) {
    let now = state.now;
    let Some(dialog) = state.view.dialog.as_mut() else {
        return;
    };
    if key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
    {
        state.view.dialog = None;
        return;
    }
    match dialog {
        Dialog::Help => state.view.dialog = None,
        Dialog::Skip { step, reason } => {
            if key.code == KeyCode::Enter {
                let (i, reason) = (*step, reason.trim().to_string());
                if reason.is_empty() {
                    return;
                }
                state.view.dialog = None;
                if let Err(e) = state.release.skip(&state.runbook, i, &reason, state.now) {
                    state.notify(Level::Warn, e.0);
                    return;
                }
                let attempt = state.attempts(i);
                state.say(i, Stream::Info, format!("skipped: {reason}"));
                record_end(state, i, attempt, "skipped", None, Some(reason), out);
            } else {
                edit(reason, key);
            }
        }
        Dialog::Tick {
            step,
            note,
            ticked,
            cursor,
        } => {
            let n = ticked.len();
            match key.code {
                KeyCode::Up => *cursor = cursor.saturating_sub(1),
                KeyCode::Down | KeyCode::Tab => *cursor = (*cursor + 1).min(n),
                KeyCode::Char(' ') if *cursor < n => {
                    let c = *cursor;
                    ticked[c] = match ticked[c] {
                        Some(_) => None,
                        None => Some(now),
                    };
                    if ticked[c].is_some() {
                        *cursor = (c + 1).min(n);
                    }
                }
                KeyCode::Char('s') if *cursor < n => {
                    // Not every item holds: skip the step, with a reason.
                    let i = *step;
                    state.view.dialog = Some(Dialog::Skip {
                        step: i,
                        reason: String::new(),
                    });
                }
                KeyCode::Enter => {
                    let missing = ticked.iter().filter(|t| t.is_none()).count();
                    if missing > 0 {
                        state.notify(
                            Level::Warn,
                            format!(
                                "{missing} item(s) not ticked: tick each with space, or press s to skip the step with a reason"
                            ),
                        );
                        return;
                    }
                    let (i, note, ticked) = (*step, note.trim().to_string(), ticked.clone());
                    let needs_note =
                        matches!(state.action(i), Some(StepAction::Manual(m)) if m.note_required);
                    if needs_note && note.is_empty() {
                        state.notify(Level::Warn, "this checklist needs a note");
                        return;
                    }
                    state.view.dialog = None;
                    let who = state.identity.person.clone();
                    let times: Vec<i64> = ticked.iter().map(|t| t.unwrap_or(now)).collect();
                    journal_ticks(
                        state,
                        i,
                        &times,
                        (!note.is_empty()).then(|| note.clone()),
                        out,
                    );
                    let detail = if note.is_empty() {
                        format!("ticked by {who}")
                    } else {
                        format!("ticked by {who}: {note}")
                    };
                    decide(state, i, Outcome::passed(detail), out);
                }
                _ if *cursor == n => {
                    edit(note, key);
                }
                _ => {}
            }
        }
        Dialog::Signoff {
            step,
            role,
            comment,
            error,
            ..
        } => match key.code {
            KeyCode::Enter => submit_signoff(state, out),
            KeyCode::Tab | KeyCode::Down | KeyCode::Up => {
                if let Some(StepAction::Gate(g)) = state.runbook.step(*step).map(|s| &s.action) {
                    let n = g.roles.len().max(1);
                    *role = if key.code == KeyCode::Up {
                        (*role + n - 1) % n
                    } else {
                        (*role + 1) % n
                    };
                }
                *error = None;
            }
            _ => {
                edit(comment, key);
            }
        },
        Dialog::Confirm {
            what,
            expect,
            typed,
            ..
        } => {
            let what = *what;
            let ok = match expect {
                Some(name) => key.code == KeyCode::Enter && typed == name,
                None => matches!(key.code, KeyCode::Char('y') | KeyCode::Enter),
            };
            if ok {
                state.view.dialog = None;
                confirmed(state, what, out);
            } else if expect.is_some() {
                edit(typed, key);
            } else if key.code == KeyCode::Char('n') {
                state.view.dialog = None;
            }
        }
        Dialog::Interrupted {
            step,
            choices,
            selected,
        } => match key.code {
            KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                *selected = (*selected + 1).min(choices.len() - 1)
            }
            KeyCode::Enter => {
                let (i, choice) = (*step, choices[*selected]);
                state.view.dialog = None;
                if choice == ResumeChoice::Wait {
                    // Waiting changes nothing: no journal entry.
                    super::processes::end_lingering(state, i, false, out);
                    return;
                }
                let entry = JournalEntry::ResumeChoice {
                    release_id: state.release.id.clone(),
                    step_id: state.step_id(i),
                    choice: choice.as_str().into(),
                    person: state.identity.person.clone(),
                    at: state.now,
                };
                journal(state, entry, After::Resumed { step: i, choice }, out);
            }
            _ => {}
        },
    }
}

pub(super) fn confirmed(state: &mut AppState, what: Confirmable, out: &mut Vec<Command>) {
    match what {
        Confirmable::RunStep(i) => start_step(state, i, out),
        Confirmable::CancelStep(i) => {
            state.say(
                i,
                Stream::Info,
                format!("cancel requested by {}", state.identity.person),
            );
            out.push(Command::CancelStep { step: i });
        }
        Confirmable::Abort => end_release(state, ReleaseStatus::Aborted, out),
        Confirmable::TakeOver => team::take_over(state, out),
        Confirmable::Rollback(i) => rollout::confirmed_rollback(state, i, out),
        Confirmable::Quit => {
            for (i, s) in state.release.steps.iter().enumerate() {
                if matches!(s.status, StepStatus::Running { .. }) {
                    out.push(Command::CancelStep { step: i });
                }
            }
            state.plumbing.quitting = true;
        }
    }
}

pub(super) fn edit(text: &mut String, key: KeyEvent) {
    crate::app::typing::edit(text, key);
}
