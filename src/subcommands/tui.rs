//! `flightdeck tui`: the interactive release.

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;

use super::{CmdResult, EXIT_OK, Failure, session, wiring};
use crate::app::msg::Msg;
use crate::app::update::on_resume;
use crate::cli::ReleaseArgs;
use crate::settings::Settings;
use crate::terminal::TerminalGuard;

pub async fn run(settings: &Settings, mut args: ReleaseArgs) -> CmdResult {
    // A new release whose inputs are missing or invalid: the start form
    // asks for them instead of an error.
    if super::start_form::wanted(settings, &args).await? {
        match super::start_form::ask(settings, args).await? {
            Some(filled) => args = filled,
            None => return Ok(super::EXIT_OK),
        }
    }
    // A resumed release asks for its secret inputs first (when neither
    // --set nor FLIGHTDECK_SECRET_<NAME> gave them).
    let mut ask = super::secret_prompt::ask;
    let opened = session::open_with(settings, &args, false, Vec::new(), Some(&mut ask)).await?;
    run_opened(settings, opened).await
}

pub async fn run_opened(settings: &Settings, opened: session::Opened) -> CmdResult {
    let session::Opened {
        mut state,
        store,
        resumed,
    } = opened;
    tracing::info!(release = %state.release.id, resumed, "release opened");
    state.plan.since = super::approver::since_last(&store, &state).await;
    let mut initial = Vec::new();
    if resumed {
        initial.extend(on_resume(&mut state));
    }
    let backends = wiring::spawn(&store, settings, &state);
    let colors = crate::ui::ColorMode::from_env();
    let mut guard =
        TerminalGuard::enter().map_err(|e| Failure::terminal("cannot open the terminal", e))?;
    let input = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => Some(Msg::Key(k)),
            Ok(TermEvent::Resize(..)) => Some(Msg::Resize),
            Ok(TermEvent::Mouse(m)) if wanted(&m) => {
                let screen = crossterm::terminal::size().unwrap_or((80, 24));
                Some(Msg::Mouse { event: m, screen })
            }
            _ => None,
        }
    });
    let mut input = futures::stream::select(Box::pin(input), crate::signals::shutdown_stream());
    let mut backends = backends;
    let channels = std::mem::replace(&mut backends.channels, dummy_channels());
    let result = crate::event_loop::run(
        &mut state,
        initial,
        &mut input,
        channels,
        crate::app::update::update,
        |s| {
            guard
                .terminal
                .draw(|f| crate::ui::render_with(colors, s, f))
                .map(|_| ())
        },
        |_| {},
    )
    .await;
    drop(guard);
    backends.join().await;
    store.close().await;
    result.map_err(|e| Failure::terminal("terminal", e))?;
    super::out::say(format!(
        "release {} is {}{}",
        state.release.id,
        state.release.status.as_str(),
        if state.release.status.is_final() {
            String::new()
        } else {
            " (reopen it with the same command, or flightdeck tui --resume)".into()
        }
    ));
    Ok(EXIT_OK)
}

/// Clicks and wheel turns; mouse motion (a flood while it moves) is not
/// passed on.
pub fn wanted(m: &crossterm::event::MouseEvent) -> bool {
    use crossterm::event::{MouseButton, MouseEventKind};
    matches!(
        m.kind,
        MouseEventKind::ScrollUp
            | MouseEventKind::ScrollDown
            | MouseEventKind::Down(MouseButton::Left)
    )
}

/// Placeholder channels left behind when the real ones move into the loop.
pub fn dummy_channels() -> crate::event_loop::Channels {
    let (journal, _) = tokio::sync::mpsc::unbounded_channel();
    let (runner, _) = tokio::sync::mpsc::unbounded_channel();
    let (_, events) = tokio::sync::mpsc::unbounded_channel();
    crate::event_loop::Channels {
        journal,
        runner,
        refresh: None,
        events,
    }
}
