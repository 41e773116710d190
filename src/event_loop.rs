//! The one task that owns `AppState`: it feeds messages to `update`, hands
//! commands to the backends and draws when something changed.

use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::msg::Msg;
use crate::app::state::{AppState, HeadlessEvent};
use crate::app::update::ready_to_exit;
use crate::clock::now_ms;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::event::BackendEvent;

/// At most ~30 frames a second; bursts of events are coalesced.
const FRAME: Duration = Duration::from_millis(33);
const TICK: Duration = Duration::from_millis(250);
/// Backend events handled before the loop looks at keys again.
const BURST: usize = 256;

pub struct Channels {
    pub journal: UnboundedSender<(u64, JournalEntry)>,
    pub runner: UnboundedSender<Command>,
    /// Sign-off refreshes; `None` when nobody serves them.
    pub refresh: Option<UnboundedSender<String>>,
    pub events: UnboundedReceiver<BackendEvent>,
}

/// Run until the state asks to quit and the backends have caught up.
/// `step` is `update`, or a driver on top of it (`app::headless`); `draw`
/// is called with the state whenever it changed (at most ~30 fps); `emit`
/// receives headless events.
pub async fn run<I, S, D, E>(
    state: &mut AppState,
    initial: Vec<Command>,
    mut input: I,
    mut ch: Channels,
    mut step: S,
    mut draw: D,
    mut emit: E,
) -> std::io::Result<()>
where
    I: Stream<Item = Msg> + Unpin,
    S: FnMut(&mut AppState, Msg) -> Vec<Command>,
    D: FnMut(&AppState) -> std::io::Result<()>,
    E: FnMut(HeadlessEvent),
{
    dispatch(&ch, initial);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    let mut input_open = true;
    loop {
        for e in state.plumbing.events.drain(..) {
            emit(e);
        }
        if ready_to_exit(state) {
            break;
        }
        if state.plumbing.dirty && last_draw.elapsed() >= FRAME {
            draw(state)?;
            state.plumbing.dirty = false;
            last_draw = Instant::now();
        }
        let frame_due = tokio::time::sleep(FRAME.saturating_sub(last_draw.elapsed()));
        tokio::select! {
            biased;
            key = input.next(), if input_open => match key {
                Some(msg) => handle(state, &ch, &mut step, msg),
                None => input_open = false,
            },
            ev = ch.events.recv() => {
                let Some(ev) = ev else { break };
                handle(state, &ch, &mut step, Msg::Backend(ev));
                // Drain a burst without drawing in between, but never so many
                // that keys wait.
                for _ in 0..BURST {
                    match ch.events.try_recv() {
                        Ok(ev) => handle(state, &ch, &mut step, Msg::Backend(ev)),
                        Err(_) => break,
                    }
                }
            }
            _ = tick.tick() => handle(state, &ch, &mut step, Msg::Tick(now_ms())),
            _ = frame_due, if state.plumbing.dirty => {}
        }
    }
    if state.plumbing.dirty {
        draw(state)?;
    }
    // Dropping our senders lets the store finish what is queued.
    ch.events.close();
    Ok(())
}

fn handle(
    state: &mut AppState,
    ch: &Channels,
    step: &mut impl FnMut(&mut AppState, Msg) -> Vec<Command>,
    msg: Msg,
) {
    if let Msg::Tick(now) = msg {
        state.now = now;
    } else {
        // Every message sees the current time, so durations are right.
        state.now = now_ms().max(state.now);
    }
    let commands = step(state, msg);
    dispatch(ch, commands);
}

fn dispatch(ch: &Channels, commands: Vec<Command>) {
    for c in commands {
        match c {
            Command::Journal { op, entry } => {
                let _ = ch.journal.send((op, entry));
            }
            Command::RefreshSignoffs { release_id } => {
                if let Some(r) = &ch.refresh {
                    let _ = r.send(release_id);
                }
            }
            Command::Quit => {}
            other => {
                let _ = ch.runner.send(other);
            }
        }
    }
}
