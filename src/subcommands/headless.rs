//! `flightdeck run --headless`: the same engine, JSON lines on stdout.

use std::io::Write;

use super::{CmdResult, EXIT_FAILED, EXIT_OK, EXIT_WAITING, Failure, session, wiring};
use crate::app::headless::Headless;
use crate::app::msg::Msg;
use crate::app::state::HeadlessEvent;
use crate::cli::ReleaseArgs;
use crate::runbook::progress::ReleaseStatus;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    args: ReleaseArgs,
    headless: bool,
    acks: Vec<String>,
    retries: Vec<String>,
) -> CmdResult {
    if !headless {
        return Err(Failure::invalid(
            "`run` needs --headless (use `flightdeck tui` for the interactive screen)",
        ));
    }
    let opened = session::open(settings, &args, true, acks).await?;
    let session::Opened {
        mut state,
        store,
        resumed,
    } = opened;
    if let Some(bad) = retries
        .iter()
        .find(|id| !state.runbook.steps().any(|s| &s.id == *id))
    {
        store.close().await;
        return Err(Failure::invalid(format!(
            "--retry {bad}: the runbook has no step {bad:?}"
        )));
    }
    let mut driver = Headless::new(retries);
    let mut out = std::io::stdout().lock();
    let mut emit = |e: HeadlessEvent| {
        if let Ok(line) = serde_json::to_string(&e) {
            // JSON escapes controls but not bidi overrides; these can only
            // be inside strings, where the sanitizer's mark keeps it JSON.
            let _ = writeln!(out, "{}", super::out::text(&line));
            let _ = out.flush();
        }
    };
    let mut initial = Vec::new();
    if !resumed {
        emit(HeadlessEvent::ReleaseStarted {
            release: state.release.id.clone(),
            runbook: state.runbook.name.clone(),
            environment: state.release.environment.clone(),
        });
    } else {
        initial.extend(driver.resume(&mut state));
    }
    let mut backends = wiring::spawn(&store, settings, &state);
    let channels = std::mem::replace(&mut backends.channels, super::tui::dummy_channels());
    // Kick off: after the first Tick the driver starts the release.
    initial.extend(driver.update(&mut state, Msg::Tick(crate::clock::now_ms())));
    let result = crate::event_loop::run(
        &mut state,
        initial,
        crate::signals::shutdown_stream(),
        channels,
        |state, msg| driver.update(state, msg),
        |_| Ok(()),
        &mut emit,
    )
    .await;
    backends.join().await;
    store.close().await;
    result.map_err(|e| Failure::failed(e.to_string()))?;
    Ok(match state.release.status {
        ReleaseStatus::Succeeded => EXIT_OK,
        ReleaseStatus::Failed | ReleaseStatus::Aborted => EXIT_FAILED,
        ReleaseStatus::Running if state.journal_error.is_some() => EXIT_FAILED,
        ReleaseStatus::Running => {
            if let Some(n) = &state.view.notice {
                super::out::warn(&n.text);
            }
            super::out::warn(format!(
                "release {} is waiting for a person; continue with: flightdeck run --headless --release {}",
                state.release.id, state.release.id
            ));
            EXIT_WAITING
        }
    })
}
