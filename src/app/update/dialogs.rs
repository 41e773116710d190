//! Keys while a dialog is open.

use super::*;

pub(super) fn dialog_key(state: &mut AppState, key: KeyEvent, out: &mut Vec<Command>) {
    let Some(dialog) = state.dialog.as_mut() else {
        return;
    };
    if key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
    {
        state.dialog = None;
        return;
    }
    match dialog {
        Dialog::Help => state.dialog = None,
        Dialog::Skip { step, reason } => {
            if key.code == KeyCode::Enter {
                let (i, reason) = (*step, reason.trim().to_string());
                if reason.is_empty() {
                    return;
                }
                state.dialog = None;
                if let Err(e) = state.release.skip(&state.runbook, i, &reason, state.now) {
                    state.notify(Level::Warn, e.0);
                    return;
                }
                let attempt = state.release.steps[i].attempts;
                state.outputs[i].push(Stream::Info, format!("skipped: {reason}"));
                record_end(state, i, attempt, "skipped", None, Some(reason), out);
            } else {
                edit(reason, key);
            }
        }
        Dialog::Tick { step, note } => {
            if key.code == KeyCode::Enter {
                let (i, note) = (*step, note.trim().to_string());
                let needs_note =
                    matches!(&state.step(i).action, StepAction::Manual(m) if m.note_required);
                if needs_note && note.is_empty() {
                    return;
                }
                state.dialog = None;
                let who = state.identity.person.clone();
                let detail = if note.is_empty() {
                    format!("ticked by {who}")
                } else {
                    format!("ticked by {who}: {note}")
                };
                decide(
                    state,
                    i,
                    Outcome::Success {
                        exit_code: None,
                        note: Some(detail),
                    },
                    out,
                );
            } else {
                edit(note, key);
            }
        }
        Dialog::SignOff {
            step,
            role,
            comment,
            error,
            ..
        } => match key.code {
            KeyCode::Enter => submit_signoff(state, out),
            KeyCode::Tab | KeyCode::Down | KeyCode::Up => {
                if let StepAction::Gate(g) = &state.runbook.steps().nth(*step).expect("gate").action
                {
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
                state.dialog = None;
                confirmed(state, what, out);
            } else if expect.is_some() {
                edit(typed, key);
            } else if key.code == KeyCode::Char('n') {
                state.dialog = None;
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
                state.dialog = None;
                if choice == ResumeChoice::Wait {
                    // Waiting changes nothing: no journal entry.
                    super::processes::end_lingering(state, i, false, out);
                    return;
                }
                let entry = JournalEntry::ResumeChoice {
                    release_id: state.release.id.clone(),
                    step_id: state.step(i).id.clone(),
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
            state.outputs[i].push(
                Stream::Info,
                format!("cancel requested by {}", state.identity.person),
            );
            out.push(Command::CancelStep { step: i });
        }
        Confirmable::Abort => end_release(state, ReleaseStatus::Aborted, out),
        Confirmable::TakeOver => crate::app::team::take_over(state, out),
        Confirmable::Rollback(i) => crate::app::rollout::confirmed_rollback(state, i, out),
        Confirmable::Quit => {
            for (i, s) in state.release.steps.iter().enumerate() {
                if matches!(s.status, StepStatus::Running { .. }) {
                    out.push(Command::CancelStep { step: i });
                }
            }
            state.quitting = true;
        }
    }
}

pub(super) fn edit(text: &mut String, key: KeyEvent) {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        // What people type here is journaled and shown to others: no
        // control or bidi characters, even pasted ones.
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL)
                && !crate::sanitize::is_refused(c)
                && text.chars().count() < 500 =>
        {
            text.push(c)
        }
        _ => {}
    }
}
