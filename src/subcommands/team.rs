//! Team mode plumbing: claiming the lease when a release opens, and the
//! tasks that keep it (renewal, take-over), share the release live (NOTIFY
//! on PostgreSQL, a 1 s re-read on SQLite), fence the driver's journal
//! writes with its token, publish the running step's output tail, and
//! record sign-offs under the gate rules in the store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::Failure;
use super::signoff::{Recording, SignoffError};
use crate::app::state::Mode;
use crate::app::state::{AppState, Level};
use crate::backend::store::changes::{self, Change};
use crate::backend::store::lease::{self, Acquired, Claimant, Lease};
use crate::backend::store::team::LiveOutput;
use crate::backend::store::{self, Backend, Store, StoreError, StoredRelease};
use crate::backend::team::fence::{self, Fence};
use crate::backend::team::lease_clock::LeaseClock;
use crate::clock::now_ms;
use crate::protocol::command::{Command, JournalEntry};
use crate::protocol::event::BackendEvent;
use crate::protocol::output::OutputBuffer;
use crate::protocol::output::Stream;
use crate::protocol::team::{LeaseView, Snapshot, TeamCommand, TeamEvent};
use crate::runbook::progress::StepStatus;
use crate::runbook::{Runbook, gates};
use crate::settings::Settings;

/// How often a SQLite watcher re-reads the release (no NOTIFY there).
const SQLITE_POLL: Duration = Duration::from_millis(1000);
/// How often the driver publishes a running step's output tail.
const OUTPUT_EVERY: Duration = Duration::from_millis(300);
/// Lines of live output kept per step.
const LIVE_LINES: usize = 200;

static CLAIMANT: OnceLock<Claimant> = OnceLock::new();

/// This process as a lease claimant (one session per process).
pub fn claimant(settings: &Settings) -> Claimant {
    CLAIMANT
        .get_or_init(|| Claimant {
            person: settings.person.clone(),
            host: settings.host.clone(),
            session: format!("{:016x}", rand::random::<u64>()),
            pid: i64::from(std::process::id()),
        })
        .clone()
}

pub fn lease_view(l: &Lease) -> LeaseView {
    LeaseView {
        holder: l.holder.clone(),
        host: l.host.clone(),
        token: l.token,
        released: l.released,
        expires_local: now_ms() + l.remaining_ms(),
    }
}

fn lease_words(l: &Lease) -> String {
    if l.free() {
        format!(
            "{}@{}'s lease expired {}s ago",
            l.holder,
            l.host,
            (-l.remaining_ms()).max(0) / 1000
        )
    } else {
        format!(
            "{}@{} drives it (lease renewed, expires in {}s)",
            l.holder,
            l.host,
            (l.remaining_ms().max(0) + 999) / 1000
        )
    }
}

/// Take the lease of the opened release, or become a watcher. Headless
/// runs refuse to watch: they exit with a message naming the driver.
pub async fn claim(
    store: &Store,
    settings: &Settings,
    state: &mut AppState,
    headless: bool,
    watch_only: bool,
) -> Result<(), Failure> {
    state.team.live = store.backend() == Backend::Postgres;
    if state.release.status.is_final() {
        return Ok(());
    }
    let me = claimant(settings);
    let id = state.release.id.clone();
    if watch_only {
        // An approver opens a release to sign it: whoever drives keeps
        // driving, and a release nobody drives stays free.
        let lease = store.lease(&id).await?;
        return watch(store, settings, state, &id, lease).await;
    }
    match store
        .acquire_lease(&id, &me, lease::LEASE_TTL_MS, false)
        .await?
    {
        Acquired::Driving(l) => {
            state.team.mode = Mode::Driver;
            fence::of(&id).store(l.token);
            state.team.lease = Some(lease_view(&l));
        }
        Acquired::Busy(l) | Acquired::Expired(l) => {
            fence::of(&id).store(0);
            if headless {
                let hint = if l.free() {
                    format!("take it over in the TUI: flightdeck tui --release {id}, then press T")
                } else {
                    format!("watch it with: flightdeck tui --release {id}")
                };
                return Err(Failure::failed(format!(
                    "release {id} is not yours to drive: {}",
                    lease_words(&l)
                ))
                .suggest(hint));
            }
            return watch(store, settings, state, &id, Some(l)).await;
        }
    }
    Ok(())
}

/// Become a watcher of release `id` (its lease as read, if any): load the
/// release as the journal holds it and say who drives.
async fn watch(
    store: &Store,
    settings: &Settings,
    state: &mut AppState,
    id: &str,
    lease: Option<Lease>,
) -> Result<(), Failure> {
    state.team.mode = Mode::Watcher;
    state.team.lease = lease.as_ref().map(lease_view);
    let snap = load_snapshot(
        store,
        state_runbook(state),
        &state.release.runbook_hash,
        id,
        &super::identity::allowed_signers(settings),
    )
    .await?;
    if let Some(snap) = snap {
        let mut ignored = Vec::new();
        crate::app::update::on_team_event(state, TeamEvent::Snapshot(Box::new(snap)), &mut ignored);
    }
    let verb = match &lease {
        Some(l) if l.free() => format!(
            "{}; press {} to take over",
            lease_words(l),
            crate::app::team::TAKE_OVER_KEY
        ),
        Some(l) => lease_words(l),
        None => "nobody drives it".to_string(),
    };
    state.notify(Level::Info, format!("watching release {id}: {verb}"));
    Ok(())
}

fn state_runbook(state: &AppState) -> &Runbook {
    &state.runbook
}

/// The release as the journal holds it, for a watcher (or a new driver).
pub async fn load_snapshot(
    store: &Store,
    rb: &Runbook,
    runbook_hash: &str,
    id: &str,
    allowed_signers: &std::path::Path,
) -> Result<Option<Snapshot>, StoreError> {
    let Some(mut stored) = store.load_release(id).await? else {
        return Ok(None);
    };
    stored.signoffs = admissible_of(store, allowed_signers, rb, &stored).await;
    let live = store.live_outputs(id).await?;
    let driver_live = store.lease(id).await?.is_some_and(|l| !l.free());
    Ok(Some(snapshot(
        rb,
        runbook_hash,
        &stored,
        &live,
        driver_live,
    )))
}

/// Rebuild the release from the journal. With a live driver, a step
/// started and not finished is running (not interrupted), and shows the
/// driver's published output tail.
pub fn snapshot(
    rb: &Runbook,
    runbook_hash: &str,
    stored: &StoredRelease,
    live: &[LiveOutput],
    driver_live: bool,
) -> Snapshot {
    let mut release = store::rebuild(rb, stored);
    release.runbook_hash = runbook_hash.to_string();
    let mut outputs: Vec<OutputBuffer> = store::step_outputs(rb, stored)
        .into_iter()
        .map(buffer)
        .collect();
    for (i, run) in release.steps.iter_mut().enumerate() {
        if driver_live && run.status == StepStatus::Interrupted {
            run.status = StepStatus::Running {
                attempt: run.attempts,
            };
            if let Some(l) = live
                .iter()
                .find(|l| l.step_id == run.step_id && l.attempt == run.attempts)
            {
                outputs[i] = buffer(l.lines.clone());
            }
        }
    }
    Snapshot { release, outputs }
}

/// Stored lines back into a buffer (`! ` marks stderr, `» ` flightdeck's own).
fn buffer(lines: Vec<String>) -> OutputBuffer {
    let mut b = OutputBuffer::default();
    for line in lines {
        if let Some(rest) = line.strip_prefix("! ") {
            b.push(Stream::Stderr, rest.to_string());
        } else if let Some(rest) = line.strip_prefix("» ") {
            b.push(Stream::Info, rest.to_string());
        } else {
            b.push(Stream::Stdout, line);
        }
    }
    b
}

// ---------------------------------------------------------------- tasks

struct Shared {
    /// The lease token while driving, 0 while watching: its only holder.
    token: Arc<Fence>,
    /// Writes are fenced (a lease is in play; not for an ended release).
    fenced: bool,
    /// Attempt of each step the runner was last told to run.
    attempts: Mutex<HashMap<usize, u32>>,
}

#[derive(Clone)]
struct Ctx {
    store: Store,
    me: Claimant,
    release_id: String,
    runbook: Arc<Runbook>,
    runbook_hash: String,
    /// The content hash sign-offs must carry; moves with `content_changed`.
    approval_hash: Arc<Mutex<String>>,
    members: Arc<BTreeMap<String, Vec<String>>>,
    secrets: Arc<crate::runbook::secrets::SecretSet>,
    ssh_key: Option<std::path::PathBuf>,
    allowed_signers: std::path::PathBuf,
    environment: String,
    url: Option<String>,
    shared: Arc<Shared>,
    ev: UnboundedSender<BackendEvent>,
}

/// What wiring needs: the runner's channels (through the team router and
/// output tap) and the spawned team tasks.
pub struct Spawned {
    pub runner_rx: UnboundedReceiver<Command>,
    pub runner_ev: UnboundedSender<BackendEvent>,
    pub tasks: Vec<JoinHandle<()>>,
    /// On PostgreSQL NOTIFY delivers sign-offs: the timed re-read is not needed.
    pub live: bool,
}

/// Start the team tasks around the journal writer and the runner.
pub fn spawn(
    store: &Store,
    settings: &Settings,
    state: &AppState,
    ev: UnboundedSender<BackendEvent>,
    journal_rx: UnboundedReceiver<(u64, JournalEntry)>,
    commands_rx: UnboundedReceiver<Command>,
) -> Spawned {
    let live = store.backend() == Backend::Postgres;
    let shared = Arc::new(Shared {
        token: fence::of(&state.release.id),
        fenced: state.team.mode != Mode::Solo,
        attempts: Mutex::new(HashMap::new()),
    });
    let ctx = Ctx {
        store: store.clone(),
        me: claimant(settings),
        release_id: state.release.id.clone(),
        runbook: Arc::new(state.runbook.clone()),
        runbook_hash: state.release.runbook_hash.clone(),
        approval_hash: Arc::new(Mutex::new(state.approval_hash.clone())),
        members: Arc::new(gates::members(&state.runbook.roles, &settings.roles)),
        secrets: Arc::new(state.values.secrets.clone()),
        ssh_key: settings.ssh_key.clone(),
        allowed_signers: super::identity::allowed_signers(settings),
        environment: state.release.environment.clone(),
        url: live.then(|| settings.journal.clone()),
        shared,
        ev: ev.clone(),
    };
    let (runner_tx, runner_rx) = unbounded_channel();
    let (team_tx, team_rx) = unbounded_channel();
    let (tap_tx, tap_rx) = unbounded_channel();
    let tasks = vec![
        tokio::spawn(journal_loop(ctx.clone(), journal_rx)),
        tokio::spawn(router(ctx.clone(), commands_rx, runner_tx, team_tx)),
        tokio::spawn(tap_loop(ctx.clone(), tap_rx)),
        tokio::spawn(team_loop(ctx, team_rx)),
    ];
    Spawned {
        runner_rx,
        runner_ev: tap_tx,
        tasks,
        live,
    }
}

/// Journal writes in order: sign-offs through the gate rules in the store,
/// everything else fenced by the driver's lease token.
async fn journal_loop(ctx: Ctx, mut rx: UnboundedReceiver<(u64, JournalEntry)>) {
    let (actor, host) = (ctx.me.person.clone(), ctx.me.host.clone());
    while let Some((op, entry)) = rx.recv().await {
        let reply = match &entry {
            JournalEntry::Signoff {
                release_id,
                signoff,
            } => record_signoff(&ctx, op, release_id, signoff).await,
            _ => {
                let fence = if ctx.shared.fenced {
                    match ctx.shared.token.load() {
                        0 => {
                            let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::WriteRefused {
                                op,
                                why: "you are watching this release; only its driver writes steps"
                                    .into(),
                            }));
                            continue;
                        }
                        t => Some(t),
                    }
                } else {
                    None
                };
                match ctx.store.apply_as(&entry, &actor, &host, fence).await {
                    Ok(()) => {
                        if let JournalEntry::ContentChanged { new_hash, .. } = &entry
                            && let Ok(mut h) = ctx.approval_hash.lock()
                        {
                            *h = new_hash.clone();
                        }
                        BackendEvent::Journaled { op, error: None }
                    }
                    Err(StoreError::Fenced(why)) => {
                        let why = why.to_string();
                        tracing::warn!(op, "fenced journal write: {why}");
                        ctx.shared.token.store(0);
                        let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::WriteRefused {
                            op,
                            why: format!("write refused with your old lease token: {why}"),
                        }));
                        BackendEvent::Team(TeamEvent::LeaseLost { why })
                    }
                    Err(e) => {
                        tracing::error!(op, "journal write failed: {e}");
                        BackendEvent::Journaled {
                            op,
                            error: Some(e.to_string()),
                        }
                    }
                }
            }
        };
        let _ = ctx.ev.send(reply);
    }
}

async fn record_signoff(
    ctx: &Ctx,
    op: u64,
    release_id: &str,
    s: &crate::runbook::gates::Signoff,
) -> BackendEvent {
    let refused = |why: String| BackendEvent::Team(TeamEvent::WriteRefused { op, why });
    let spec = match super::signoff::gate_of(&ctx.runbook, &s.gate) {
        Ok(spec) => spec,
        Err(e) => return refused(e.reason()),
    };
    let current = ctx
        .approval_hash
        .lock()
        .map(|h| h.clone())
        .unwrap_or_default();
    let recording = Recording {
        store: &ctx.store,
        release_id,
        spec,
        members: &ctx.members,
        hash: &current,
        mode: ctx.runbook.identity_mode(&ctx.environment, &s.gate),
        ssh_key: ctx.ssh_key.as_deref(),
        allowed_signers: &ctx.allowed_signers,
    };
    // Signed or database identity names the person; the screen's claimed
    // name must be that person, or nothing is recorded.
    let mut bound = s.clone();
    let signature = match recording.bind(&mut bound).await {
        Ok(sig) => sig,
        Err(e) => return refused(e.reason()),
    };
    if bound.person != s.person {
        return refused(format!(
            "gate {} uses {} identity, which names you {}, not {}: sign with `flightdeck approve`",
            s.gate,
            recording.mode.as_str(),
            bound.person,
            s.person
        ));
    }
    match recording.record(s, signature.as_deref()).await {
        Ok(_) => BackendEvent::Journaled { op, error: None },
        Err(SignoffError::Store(e)) => BackendEvent::Journaled {
            op,
            error: Some(e.to_string()),
        },
        Err(e) => refused(e.reason()),
    }
}

/// Commands from the event loop: team ones to the team task, the rest to
/// the runner (noting each step's attempt for the output tap).
async fn router(
    ctx: Ctx,
    mut rx: UnboundedReceiver<Command>,
    runner: UnboundedSender<Command>,
    team: UnboundedSender<TeamCommand>,
) {
    while let Some(c) = rx.recv().await {
        match c {
            Command::Team(t) => {
                let _ = team.send(t);
            }
            Command::RunStep { step, attempt, .. } => {
                if let Ok(mut a) = ctx.shared.attempts.lock() {
                    a.insert(step, attempt);
                }
                let _ = runner.send(c);
            }
            Command::Notify {
                hook,
                event,
                mut payload,
            } => {
                with_chain_head(&ctx.store, &mut payload).await;
                let _ = runner.send(Command::Notify {
                    hook,
                    event,
                    payload,
                });
            }
            other => {
                let _ = runner.send(other);
            }
        }
    }
}

/// A JSON hook payload carries the audit chain's head as this process
/// last read it: a copy of the head outside the database (TRUST.md rule 4).
async fn with_chain_head(store: &Store, payload: &mut serde_json::Value) {
    let Some(obj) = payload.as_object_mut().filter(|o| o.contains_key("event")) else {
        return; // Slack's format takes text only
    };
    match store.chain_head().await {
        Ok(Some((seq, mac))) => {
            store.saw_head(seq, &mac);
            obj.insert(
                "chain_head".into(),
                serde_json::json!({ "seq": seq, "mac": mac }),
            );
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("reading the audit head for a hook: {e}"),
    }
}

/// The runner's events pass through here on their way to the loop; while
/// driving, each running step's output tail is published for watchers.
async fn tap_loop(ctx: Ctx, mut rx: UnboundedReceiver<BackendEvent>) {
    struct Tail {
        attempt: u32,
        lines: VecDeque<String>,
        dirty: bool,
    }
    let mut tails: HashMap<usize, Tail> = HashMap::new();
    let mut flush = tokio::time::interval(OUTPUT_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                if let BackendEvent::StepOutput { step, lines, .. } = &ev
                    && ctx.shared.fenced
                {
                    let attempt = ctx
                        .shared
                        .attempts
                        .lock()
                        .ok()
                        .and_then(|a| a.get(step).copied())
                        .unwrap_or(1);
                    let tail = tails.entry(*step).or_insert(Tail {
                        attempt,
                        lines: VecDeque::new(),
                        dirty: false,
                    });
                    if tail.attempt != attempt {
                        tail.attempt = attempt;
                        tail.lines.clear();
                    }
                    for (stream, raw) in lines {
                        let line = ctx.secrets.mask(&crate::sanitize::sanitize_line(raw));
                        let line = match stream {
                            Stream::Stdout => line,
                            Stream::Stderr => format!("! {line}"),
                            Stream::Info => format!("» {line}"),
                        };
                        if tail.lines.len() == LIVE_LINES {
                            tail.lines.pop_front();
                        }
                        tail.lines.push_back(line);
                    }
                    tail.dirty = true;
                }
                if ctx.ev.send(ev).is_err() {
                    break;
                }
            }
            _ = flush.tick() => {
                let token = ctx.shared.token.load();
                if token == 0 {
                    continue;
                }
                for (step, tail) in tails.iter_mut().filter(|(_, t)| t.dirty) {
                    tail.dirty = false;
                    let Some(st) = ctx.runbook.step(*step) else { continue };
                    let lines: Vec<String> = tail.lines.iter().cloned().collect();
                    if let Err(e) = ctx
                        .store
                        .publish_output(&ctx.release_id, &st.id, tail.attempt, &lines, token)
                        .await
                    {
                        tracing::warn!("publishing output of {} failed: {e}", st.id);
                    }
                }
            }
        }
    }
}

/// Keep the lease (renew every 3 s), serve take-overs, and follow the
/// others: NOTIFY on PostgreSQL, a 1 s re-read on SQLite (watchers only;
/// a SQLite driver re-reads sign-offs through `RefreshSignoffs`).
async fn team_loop(ctx: Ctx, mut cmds: UnboundedReceiver<TeamCommand>) {
    let (ch_tx, mut ch_rx) = unbounded_channel::<Change>();
    let listener = ctx
        .url
        .clone()
        .map(|url| tokio::spawn(changes::listen(url, ctx.release_id.clone(), ch_tx.clone())));
    drop(ch_tx);
    let mut renew = tokio::time::interval(Duration::from_millis(lease::RENEW_EVERY_MS));
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    renew.tick().await;
    let mut poll = tokio::time::interval(SQLITE_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let polling = ctx.url.is_none() && ctx.shared.fenced;
    let ttl = Duration::from_millis(lease::LEASE_TTL_MS as u64);
    let driving = ctx.shared.fenced && ctx.shared.token.load() != 0;
    let mut clock = LeaseClock::new(driving, tokio::time::Instant::now(), ttl);
    // One renewal in flight at a time, awaited beside the deadline: a
    // journal that does not answer must not hold the deadline up.
    let mut renewing: Option<Renewal> = None;
    loop {
        let deadline = clock.deadline();
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(TeamCommand::TakeOver) => {
                    take_over(&ctx).await;
                    let token = ctx.shared.token.load();
                    if token != 0 && clock.deadline().is_none() && !clock.lapsed() {
                        clock = LeaseClock::new(true, tokio::time::Instant::now(), ttl);
                    }
                }
                None => break,
            },
            _ = renew.tick(), if ctx.shared.fenced && renewing.is_none() => {
                renewing = start_renewal(&ctx);
            }
            (sent_at, result) = async { renewing.as_mut().expect("guarded").await }, if renewing.is_some() => {
                renewing = None;
                renewed(&ctx, &mut clock, sent_at, result).await;
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                let why = clock.lapse();
                tracing::warn!("{why}");
                let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::LeaseLapsed { why }));
            }
            change = ch_rx.recv(), if listener.is_some() => {
                let Some(change) = change else { continue };
                let mut kinds = vec![change];
                while let Ok(more) = ch_rx.try_recv() {
                    kinds.push(more);
                }
                on_changes(&ctx, &kinds).await;
            }
            _ = poll.tick(), if polling => {
                if ctx.shared.token.load() == 0 {
                    refresh_watcher(&ctx).await;
                }
            }
        }
        if ctx.shared.token.load() == 0 {
            clock.stop();
        }
    }
    let token = ctx.shared.token.swap(0);
    if token != 0
        && let Err(e) = ctx
            .store
            .release_lease(&ctx.release_id, &ctx.me, token)
            .await
    {
        tracing::warn!("giving the lease back failed: {e}");
    }
    if let Some(l) = listener {
        l.abort();
    }
}

type Renewal = std::pin::Pin<
    Box<dyn std::future::Future<Output = (tokio::time::Instant, Result<Lease, StoreError>)> + Send>,
>;

fn start_renewal(ctx: &Ctx) -> Option<Renewal> {
    let token = ctx.shared.token.load();
    if token == 0 {
        return None;
    }
    let ctx = ctx.clone();
    Some(Box::pin(async move {
        let sent_at = tokio::time::Instant::now();
        let result = ctx
            .store
            .renew_lease(&ctx.release_id, &ctx.me, token, lease::LEASE_TTL_MS)
            .await;
        (sent_at, result)
    }))
}

async fn renewed(
    ctx: &Ctx,
    clock: &mut LeaseClock,
    sent_at: tokio::time::Instant,
    result: Result<Lease, StoreError>,
) {
    if ctx.shared.token.load() == 0 {
        return;
    }
    match result {
        Ok(l) => {
            if clock.renewed(sent_at, l.remaining_ms()) {
                tracing::info!("the lease is renewed again");
                let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::LeaseRegained));
            }
            let _ = ctx
                .ev
                .send(BackendEvent::Team(TeamEvent::Lease(Some(lease_view(&l)))));
        }
        Err(StoreError::Fenced(why)) => lost(ctx, why.to_string()).await,
        Err(e) => {
            tracing::warn!("renewing the lease failed: {e}");
            clock.failed(e.to_string());
        }
    }
}

async fn lost(ctx: &Ctx, why: String) {
    ctx.shared.token.store(0);
    let _ = ctx
        .ev
        .send(BackendEvent::Team(TeamEvent::LeaseLost { why }));
    refresh_watcher(ctx).await;
}

async fn on_changes(ctx: &Ctx, changes: &[Change]) {
    let token = ctx.shared.token.load();
    if token == 0 {
        refresh_watcher(ctx).await;
        return;
    }
    let kind_is = |k: &str| {
        changes.iter().any(|c| match c {
            Change::Resync => true,
            Change::Write { kind, .. } => kind == k,
        })
    };
    if kind_is("lease")
        && let Ok(Some(l)) = ctx.store.lease(&ctx.release_id).await
        && l.token != token
    {
        lost(
            ctx,
            format!(
                "{}@{} took over (lease token {}; yours was {token})",
                l.holder, l.host, l.token
            ),
        )
        .await;
        return;
    }
    if kind_is("signoff") {
        match ctx.store.load_release(&ctx.release_id).await {
            Ok(Some(stored)) => {
                let signoffs =
                    admissible_of(&ctx.store, &ctx.allowed_signers, &ctx.runbook, &stored).await;
                let _ = ctx.ev.send(BackendEvent::Signoffs(signoffs));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("re-reading sign-offs failed: {e}"),
        }
    }
}

/// Reload the release and the lease and hand them to the loop.
async fn refresh_watcher(ctx: &Ctx) {
    match load_snapshot(
        &ctx.store,
        &ctx.runbook,
        &ctx.runbook_hash,
        &ctx.release_id,
        &ctx.allowed_signers,
    )
    .await
    {
        Ok(Some(snap)) => {
            let _ = ctx
                .ev
                .send(BackendEvent::Team(TeamEvent::Snapshot(Box::new(snap))));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("reloading the release failed: {e}"),
    }
    if let Ok(l) = ctx.store.lease(&ctx.release_id).await {
        let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::Lease(
            l.as_ref().map(lease_view),
        )));
    }
}

async fn take_over(ctx: &Ctx) {
    let fail = |why: String| {
        let _ = ctx
            .ev
            .send(BackendEvent::Team(TeamEvent::TakeOverFailed(why)));
    };
    match ctx
        .store
        .acquire_lease(&ctx.release_id, &ctx.me, lease::LEASE_TTL_MS, true)
        .await
    {
        Ok(Acquired::Driving(l)) => {
            ctx.shared.token.store(l.token);
            match ctx.store.load_release(&ctx.release_id).await {
                Ok(Some(mut stored)) => {
                    stored.signoffs =
                        admissible_of(&ctx.store, &ctx.allowed_signers, &ctx.runbook, &stored)
                            .await;
                    // We drive now: what the old driver left started is interrupted.
                    let snap = snapshot(&ctx.runbook, &ctx.runbook_hash, &stored, &[], false);
                    let _ = ctx.ev.send(BackendEvent::Team(TeamEvent::TookOver {
                        token: l.token,
                        lease: lease_view(&l),
                        snapshot: Box::new(snap),
                    }));
                }
                Ok(None) => fail(format!("release {} vanished", ctx.release_id)),
                Err(e) => fail(e.to_string()),
            }
        }
        Ok(Acquired::Busy(l)) | Ok(Acquired::Expired(l)) => fail(lease_words(&l)),
        Err(e) => fail(e.to_string()),
    }
}

// ---------------------------------------------------------------- policy

/// May a release with these (journaled) inputs start now in its
/// environment? `Ok(Some(detail))` when it may only because of
/// `--break-glass` (journal the detail once the release exists).
pub async fn check_policy(
    store: &Store,
    loaded: &crate::runbook::Loaded,
    release: &crate::runbook::progress::Release,
    break_glass: Option<&str>,
) -> Result<Option<serde_json::Value>, Failure> {
    use crate::runbook::policy;
    let rb = &loaded.runbook;
    let Some(env) = rb.environment(&release.environment) else {
        return Ok(None);
    };
    let history = match &env.policy.requires {
        Some(req) => {
            store
                .succeeded_inputs(&loaded.content_hash, &req.passed)
                .await?
        }
        None => Vec::new(),
    };
    // Secret inputs are compared with the seals earlier releases kept,
    // and never named in a message or the break-glass record.
    let mut shown = release.inputs.clone();
    for k in crate::app::secrets::seal_inputs(rb, &release.inputs, &[]).keys() {
        shown.insert(k.clone(), "(secret)".into());
    }
    let violations = policy::check_start_hiding(
        &env.policy,
        release.started_at,
        &release.inputs,
        &shown,
        &history,
    );
    if violations.is_empty() {
        return Ok(None);
    }
    let words: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    let env_name = &release.environment;
    if let Some(hard) = violations.iter().find(|v| !v.breakable()) {
        return Err(Failure::failed(format!(
            "{}: a release may not start in {env_name}: {hard} (release the same inputs there first)",
            rb.name
        )));
    }
    if let Some(reason) = break_glass {
        crate::sanitize::refuse_controls("--break-glass", reason)?;
    }
    match break_glass.map(str::trim) {
        Some(reason) if !reason.is_empty() => Ok(Some(serde_json::json!({
            "environment": env_name,
            "reason": reason,
            "violations": words,
        }))),
        Some(_) => Err(Failure::invalid("--break-glass needs a reason")
            .suggest("say why: --break-glass \"REASON\" (journaled in the audit log)")),
        None => Err(Failure::failed(format!(
            "{}: a release may not start in {env_name} now: {}.",
            rb.name,
            words.join("; ")
        ))
        .suggest("to start anyway, give --break-glass \"REASON\" (journaled in the audit log)")),
    }
}

/// Journal a break-glass start in the audit log.
pub async fn record_break_glass(
    store: &Store,
    settings: &Settings,
    release_id: &str,
    detail: Option<serde_json::Value>,
) -> Result<(), Failure> {
    if let Some(detail) = detail {
        store
            .record_event(
                release_id,
                "break_glass",
                &detail,
                &settings.person,
                &settings.host,
            )
            .await?;
        super::out::warn(format!(
            "flightdeck: BREAK-GLASS start of {release_id} journaled: {}",
            detail["reason"].as_str().unwrap_or_default()
        ));
    }
    Ok(())
}

/// The release's sign-offs that may count (`identity::admissible`).
async fn admissible_of(
    store: &Store,
    allowed: &std::path::Path,
    rb: &Runbook,
    stored: &crate::backend::store::StoredRelease,
) -> Vec<crate::runbook::gates::Signoff> {
    super::identity::admissible(
        store,
        allowed,
        rb,
        &stored.environment,
        &stored.id,
        stored.signoffs.clone(),
    )
    .await
}
