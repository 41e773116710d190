//! `flightdeck` alone (and `flightdeck tui` without a runbook): the home
//! screen. Its lists are re-read when the journal changes (LISTEN/NOTIFY
//! on PostgreSQL) or every 2 s (SQLite); Enter leaves the screen to open a
//! release (`tui --release`) or start one (the start form), then comes back.

use super::load;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::home_read::HomeReader;
use super::{CmdResult, EXIT_OK, Failure};
use crate::app::home::{HomeChoice, HomeMsg, HomeState, update};
use crate::app::msg::Msg;
use crate::backend::store::changes::{self, Change};
use crate::backend::store::{Backend, Store};
use crate::cli::ReleaseArgs;
use crate::clock::now_ms;
use crate::runbook::home::HomeSnapshot;
use crate::settings::Settings;
use crate::terminal::TerminalGuard;

const FRAME: Duration = Duration::from_millis(33);
/// SQLite has no NOTIFY: re-read this often.
const SQLITE_POLL: Duration = Duration::from_secs(2);
/// On PostgreSQL a re-read also happens this often (ages, leases expiring).
const PG_POLL: Duration = Duration::from_secs(10);

pub async fn run(settings: &Settings) -> CmdResult {
    let mut notice: Option<String> = None;
    loop {
        let Some(choice) = screen(settings, notice.take()).await? else {
            return Ok(EXIT_OK);
        };
        let result = match choice {
            HomeChoice::Open(id) => {
                super::tui::run(settings, ReleaseArgs::opening(None, Some(id))).await
            }
            HomeChoice::Sign(id) => {
                let args = ReleaseArgs {
                    watch: true,
                    ..ReleaseArgs::opening(None, Some(id))
                };
                super::tui::run(settings, args).await
            }
            // The form asks for the inputs (and shows the environment's
            // policy) before anything starts.
            HomeChoice::Start(path) => {
                let args = ReleaseArgs::opening(Some(path), None);
                match super::start_form::ask(settings, args).await {
                    Ok(Some(filled)) => super::tui::run(settings, filled).await,
                    Ok(None) => Ok(EXIT_OK),
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            crate::terminal::restore();
            notice = Some(e.message);
        }
    }
}

/// Re-read the snapshot whenever the journal may have changed.
async fn reader(
    store: Store,
    settings: Settings,
    live: bool,
    tx: mpsc::UnboundedSender<HomeSnapshot>,
) {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut reader = HomeReader::default();
    let (ch_tx, mut ch_rx) = mpsc::unbounded_channel::<Change>();
    let listener =
        live.then(|| tokio::spawn(changes::listen_all(settings.journal.clone(), ch_tx.clone())));
    drop(ch_tx);
    let poll = if live { PG_POLL } else { SQLITE_POLL };
    loop {
        let snap = reader.read(&store, &settings, &cwd).await;
        if tx.send(snap).is_err() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some(_) = ch_rx.recv(), if live => {
                // Coalesce a burst of writes into one re-read.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while ch_rx.try_recv().is_ok() {}
            }
            _ = tx.closed() => break,
        }
    }
    if let Some(l) = listener {
        l.abort();
    }
}

/// Show home until the person quits (None) or chooses something.
async fn screen(
    settings: &Settings,
    notice: Option<String>,
) -> Result<Option<HomeChoice>, Failure> {
    let store = load::open_store(settings).await?;
    let live = store.backend() == Backend::Postgres;
    let mut state = HomeState::new(&settings.person, now_ms());
    state.notice = notice;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(reader(store.clone(), settings.clone(), live, tx));
    let mut guard =
        TerminalGuard::enter().map_err(|e| Failure::terminal("cannot open the terminal", e))?;
    let input = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => Some(HomeMsg::Key(k)),
            Ok(TermEvent::Resize(..)) => Some(HomeMsg::Tick(now_ms())),
            _ => None,
        }
    });
    let signals = crate::signals::shutdown_stream().map(|m: Msg| {
        let _ = m;
        HomeMsg::Shutdown
    });
    let mut input = futures::stream::select(Box::pin(input), signals);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    let mut result = Ok(());
    while !state.quit && state.choice.is_none() {
        if state.dirty && last_draw.elapsed() >= FRAME {
            if let Err(e) = guard.terminal.draw(|f| crate::ui::home::render(&state, f)) {
                result = Err(e);
                break;
            }
            state.dirty = false;
            last_draw = Instant::now();
        }
        let frame_due = tokio::time::sleep(FRAME.saturating_sub(last_draw.elapsed()));
        let msg = tokio::select! {
            biased;
            k = input.next() => k.unwrap_or(HomeMsg::Shutdown),
            s = rx.recv() => match s {
                Some(s) => HomeMsg::Snapshot(s),
                None => continue,
            },
            _ = tick.tick() => HomeMsg::Tick(now_ms()),
            _ = frame_due, if state.dirty => continue,
        };
        update(&mut state, msg);
    }
    drop(guard);
    drop(rx);
    task.abort();
    let _ = task.await;
    store.close().await;
    result.map_err(|e| Failure::terminal("terminal", e))?;
    Ok(state.choice)
}
