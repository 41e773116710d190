//! Running a step's command: in its own process group (so signals reach
//! grandchildren), output read line by line, cancel and timeout as SIGTERM
//! to the group then SIGKILL after the spec's grace. The group dies with
//! flightdeck, however flightdeck dies (see `lifeline`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

use super::lifeline::Lifeline;
use crate::protocol::output::Stream;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;
use crate::runbook::{CommandSpec, Program};

/// Longest line kept; the rest of a longer line is discarded while reading.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// A background command counts as started once it is still alive after this.
pub const BACKGROUND_STARTUP: Duration = Duration::from_millis(300);
const CUT_MARKER: &str = " … [line cut at 64 KiB]";
const POLL: Duration = Duration::from_millis(25);
/// How long to keep reading pipes after the processes are gone (something
/// outside the group may still hold them open).
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

type Line = (Stream, String);

/// Asks a running step to stop. Dropping it does not cancel.
#[derive(Debug)]
pub struct CancelHandle(watch::Sender<bool>);

/// The running side of a [`CancelHandle`].
#[derive(Debug, Clone)]
pub struct CancelSignal(watch::Receiver<bool>);

pub fn cancel_pair() -> (CancelHandle, CancelSignal) {
    let (tx, rx) = watch::channel(false);
    (CancelHandle(tx), CancelSignal(rx))
}

impl CancelHandle {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl CancelSignal {
    /// A signal that never fires.
    pub fn never() -> Self {
        cancel_pair().1
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancelled; pends forever if the handle is dropped first.
    pub async fn cancelled(&mut self) {
        if self.0.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// How a command ended, and the process left running for a `background` one.
#[derive(Debug)]
pub struct Ran {
    pub outcome: Outcome,
    pub background: Option<Background>,
}

enum Ended {
    Exited(io::Result<ExitStatus>),
    Cancelled,
    TimedOut(Duration),
    Up,
}

/// Run `spec` with `extra_env` under it (the spec's own env wins), sending
/// each output line to `sink` as it arrives.
pub async fn run_command(
    spec: &CommandSpec,
    extra_env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    cancel: CancelSignal,
    sink: impl FnMut(Stream, String),
) -> Ran {
    run_command_reporting(spec, extra_env, timeout, cancel, sink, |_| {}).await
}

/// [`run_command`], telling `spawned` the pid (= pgid) of the group leader
/// as soon as it exists, so it can be journaled while the step runs.
pub async fn run_command_reporting(
    spec: &CommandSpec,
    extra_env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    mut cancel: CancelSignal,
    mut sink: impl FnMut(Stream, String),
    spawned: impl FnOnce(i32),
) -> Ran {
    let fail = |reason: String, exit_code| Ran {
        outcome: Outcome::Failure { reason, exit_code },
        background: None,
    };
    let cmd = match build(spec, extra_env) {
        Ok(cmd) => cmd,
        Err(e) => return fail(e.to_string(), None),
    };
    let mut child = match super::lifeline::spawn_tied(cmd).await {
        Ok(child) => child,
        Err(e) => return fail(format!("could not start {}: {e}", program_name(spec)), None),
    };
    let Some(pid) = child.id() else {
        return fail("the process vanished as it started".into(), None);
    };
    let mut group = Group::new(pid as i32, spec.grace);
    match Lifeline::tie(pid as i32) {
        Ok(l) => group.lifeline = Some(l),
        // PDEATHSIG still covers the leader; say what is not covered.
        Err(e) => sink(
            Stream::Info,
            format!("could not start the watchdog of process group {pid}: {e}"),
        ),
    }
    sink(Stream::Info, format!("started pid {pid}"));
    spawned(pid as i32);

    let (line_tx, mut lines) = mpsc::channel::<Line>(1024);
    let readers: Vec<JoinHandle<()>> = [
        spawn_reader(child.stdout.take(), Stream::Stdout, line_tx.clone()),
        spawn_reader(child.stderr.take(), Stream::Stderr, line_tx),
    ]
    .into_iter()
    .flatten()
    .collect();

    let deadline = timeout.map(|t| (Instant::now() + t, t));
    let ended = pump(&mut lines, &mut sink, async {
        tokio::select! {
            status = child.wait() => Ended::Exited(status),
            _ = cancel.cancelled() => Ended::Cancelled,
            _ = sleep_until_opt(deadline.map(|d| d.0)) => Ended::TimedOut(deadline.map_or(Duration::ZERO, |d| d.1)),
            _ = sleep(BACKGROUND_STARTUP), if spec.background => Ended::Up,
        }
    })
    .await;

    let (status, stopped_because) = match ended {
        // It may have ended just as the startup window closed.
        Ended::Up if matches!(child.try_wait(), Ok(Some(_))) => (child.wait().await, None),
        Ended::Up => {
            while let Ok((s, l)) = lines.try_recv() {
                sink(s, l);
            }
            sink(
                Stream::Info,
                format!("running in the background (pid {pid})"),
            );
            return Ran {
                outcome: Outcome::Success {
                    exit_code: None,
                    note: Some(format!("running in the background (pid {pid})")),
                },
                background: Some(Background::new(child, group, lines, readers)),
            };
        }
        Ended::Exited(status) => (status, None),
        Ended::Cancelled => {
            let why = "cancelled".to_string();
            (
                stop_leader(&mut child, &mut group, &why, &mut lines, &mut sink).await,
                Some(why),
            )
        }
        Ended::TimedOut(t) => {
            let why = format!("timed out after {}", format_duration(t));
            (
                stop_leader(&mut child, &mut group, &why, &mut lines, &mut sink).await,
                Some(why),
            )
        }
    };

    stop_leftovers(&mut group, &mut lines, &mut sink).await;
    drain(&mut lines, &readers, &mut sink).await;

    let status = match status {
        Ok(status) => status,
        Err(e) => return fail(format!("could not wait for the process: {e}"), None),
    };
    let outcome = match (stopped_because, status.code()) {
        (Some(reason), exit_code) => Outcome::Failure { reason, exit_code },
        (None, exit_code) if spec.background => Outcome::Failure {
            reason: format!(
                "ended ({}) within {}: a background command must keep running",
                exit_code.map_or_else(|| describe_signal(&status), |c| format!("exit code {c}")),
                format_duration(BACKGROUND_STARTUP)
            ),
            exit_code,
        },
        (None, Some(0)) => Outcome::Success {
            exit_code: Some(0),
            note: None,
        },
        (None, Some(code)) => Outcome::Failure {
            reason: format!("exited with code {code}"),
            exit_code: Some(code),
        },
        (None, None) => Outcome::Failure {
            reason: describe_signal(&status),
            exit_code: None,
        },
    };
    Ran {
        outcome,
        background: None,
    }
}

/// Why a step's command cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("the command is empty")]
    EmptyCommand,
}

fn build(
    spec: &CommandSpec,
    extra_env: &BTreeMap<String, String>,
) -> Result<Command, ProcessError> {
    let mut cmd = match &spec.program {
        Program::Shell(script) => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(script);
            cmd
        }
        Program::Argv(argv) => {
            let (program, args) = argv.split_first().ok_or(ProcessError::EmptyCommand)?;
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
    };
    cmd.envs(extra_env)
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        // Only reaches the leader; `Group`'s drop takes care of the rest.
        .kill_on_drop(true);
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    Ok(cmd)
}

fn program_name(spec: &CommandSpec) -> String {
    match &spec.program {
        Program::Shell(_) => "sh".into(),
        Program::Argv(argv) => format!("`{}`", argv.first().map_or("", String::as_str)),
    }
}

fn describe_signal(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(sig) => format!("killed by signal {sig}{}", signal_name(sig)),
        None => format!("ended without an exit code ({status})"),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGQUIT => " (SIGQUIT)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGPIPE => " (SIGPIPE)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Drive `fut` while passing output lines to `sink`, so a step that prints
/// while it is being stopped is still heard.
async fn pump<T>(
    lines: &mut mpsc::Receiver<Line>,
    sink: &mut impl FnMut(Stream, String),
    fut: impl Future<Output = T>,
) -> T {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            v = &mut fut => return v,
            Some((s, l)) = lines.recv() => sink(s, l),
        }
    }
}

/// SIGTERM to the group; SIGKILL if the leader is still there after grace.
async fn stop_leader(
    child: &mut Child,
    group: &mut Group,
    why: &str,
    lines: &mut mpsc::Receiver<Line>,
    sink: &mut impl FnMut(Stream, String),
) -> io::Result<ExitStatus> {
    sink(
        Stream::Info,
        format!("{why}: sent SIGTERM to the process group"),
    );
    group.term();
    match pump(lines, sink, timeout_at(group.kill_at(), child.wait())).await {
        Ok(status) => status,
        Err(_) => {
            group.kill();
            sink(
                Stream::Info,
                format!(
                    "still running {} after SIGTERM: sent SIGKILL",
                    format_duration(group.grace)
                ),
            );
            pump(lines, sink, child.wait()).await
        }
    }
}

/// A step's processes end with it: whatever the command left running in its
/// group is stopped (a `background` command is how to keep one).
async fn stop_leftovers(
    group: &mut Group,
    lines: &mut mpsc::Receiver<Line>,
    sink: &mut impl FnMut(Stream, String),
) {
    if group.has_members() {
        if !group.term_sent() {
            sink(
                Stream::Info,
                "the command left processes running: sent SIGTERM to its process group".into(),
            );
        }
        group.term();
        let kill_at = group.kill_at();
        if !pump(lines, sink, wait_gone(group.pgid, kill_at)).await {
            group.kill();
            sink(
                Stream::Info,
                "processes still running after grace: sent SIGKILL".into(),
            );
            pump(
                lines,
                sink,
                wait_gone(group.pgid, Instant::now() + DRAIN_LIMIT),
            )
            .await;
        }
    }
    group.done = true;
}

/// Take the rest of the output until both pipes close, for a bounded time.
async fn drain(
    lines: &mut mpsc::Receiver<Line>,
    readers: &[JoinHandle<()>],
    sink: &mut impl FnMut(Stream, String),
) {
    let limit = sleep(DRAIN_LIMIT);
    tokio::pin!(limit);
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some((s, l)) => sink(s, l),
                None => return,
            },
            _ = &mut limit => break,
        }
    }
    for r in readers {
        r.abort();
    }
    while let Ok((s, l)) = lines.try_recv() {
        sink(s, l);
    }
}

async fn wait_gone(pgid: i32, until: Instant) -> bool {
    loop {
        if !group_has_members(pgid) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        sleep(POLL).await;
    }
}

/// Signals a process group; stops it on drop unless marked done.
#[derive(Debug)]
struct Group {
    pgid: i32,
    grace: Duration,
    kill_at: Option<Instant>,
    done: bool,
    /// Kills the group if flightdeck dies first.
    lifeline: Option<Lifeline>,
}

impl Group {
    fn new(pgid: i32, grace: Duration) -> Self {
        Group {
            pgid,
            grace,
            kill_at: None,
            done: false,
            lifeline: None,
        }
    }

    fn signal(&self, sig: i32) {
        // Never kill(0) or kill(-1): those reach far more than this group.
        if self.pgid > 1 {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-self.pgid, sig) };
        }
    }

    fn term(&mut self) {
        if self.kill_at.is_none() {
            self.signal(libc::SIGTERM);
            self.kill_at = Some(Instant::now() + self.grace);
        }
    }

    fn term_sent(&self) -> bool {
        self.kill_at.is_some()
    }

    fn kill_at(&self) -> Instant {
        self.kill_at.unwrap_or_else(|| Instant::now() + self.grace)
    }

    fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    fn has_members(&self) -> bool {
        group_has_members(self.pgid)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Dropped mid-run (runtime shutting down): no time for grace.
        if !self.done {
            self.kill();
        }
        // Gone (or just killed): the watchdog has nothing left to do.
        if let Some(l) = self.lifeline.as_mut() {
            l.release();
        }
    }
}

/// Is any live process left in the group? kill(2) also counts zombies, and
/// a container's init may never reap them, so /proc has the last word.
pub fn group_has_members(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks existence.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    }
    live_member_in_proc(pgid).unwrap_or(true)
}

fn live_member_in_proc(pgid: i32) -> Option<bool> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces or ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return Some(true);
        }
    }
    Some(false)
}

/// A `background` command still running after its step succeeded. Stop it
/// with [`Background::stop`]; dropping it kills its group at once.
#[derive(Debug)]
pub struct Background {
    child: Child,
    group: Group,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    fn new(
        child: Child,
        group: Group,
        mut lines: mpsc::Receiver<Line>,
        mut tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        let pid = group.pgid;
        // Keep the pipes drained so the service never blocks on a full pipe.
        tasks.push(tokio::spawn(async move {
            while let Some((_, line)) = lines.recv().await {
                tracing::trace!(pid, "background output: {line}");
            }
        }));
        Background {
            child,
            group,
            tasks,
        }
    }

    pub fn pid(&self) -> i32 {
        self.group.pgid
    }

    /// SIGTERM to the group, SIGKILL after grace; returns once it is gone.
    pub async fn stop(mut self) {
        self.group.term();
        if timeout_at(self.group.kill_at(), self.child.wait())
            .await
            .is_err()
        {
            self.group.kill();
            let _ = self.child.wait().await;
        }
        if !wait_gone(self.group.pgid, self.group.kill_at()).await {
            self.group.kill();
            wait_gone(self.group.pgid, Instant::now() + DRAIN_LIMIT).await;
        }
        self.group.done = true;
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn spawn_reader<R>(
    pipe: Option<R>,
    stream: Stream,
    tx: mpsc::Sender<Line>,
) -> Option<JoinHandle<()>>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let pipe = pipe?;
    Some(tokio::spawn(async move {
        let mut reader = LineReader::new(pipe);
        while let Ok(Some(line)) = reader.next_line().await {
            if tx.send((stream, line)).await.is_err() {
                break;
            }
        }
    }))
}

/// Reads lines of any bytes, converted lossily, each at most
/// [`MAX_LINE_BYTES`]: a newline-less flood cannot grow memory.
pub struct LineReader<R> {
    inner: BufReader<R>,
    /// Inside a line already cut: discard up to its newline.
    skipping: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader {
            inner: BufReader::new(inner),
            skipping: false,
        }
    }

    /// The next line without its line ending, `None` at end of input.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        loop {
            let avail = self.inner.fill_buf().await?;
            if avail.is_empty() {
                self.skipping = false;
                return Ok((!buf.is_empty()).then(|| finish_line(&buf, false)));
            }
            let newline = avail.iter().position(|&b| b == b'\n');
            let end = newline.unwrap_or(avail.len());
            let used = newline.map_or(end, |i| i + 1);
            if self.skipping {
                self.inner.consume(used);
                self.skipping = newline.is_none();
                continue;
            }
            let room = MAX_LINE_BYTES - buf.len();
            if end > room {
                // Hand out what fits now, so the flood stays visible.
                buf.extend_from_slice(&avail[..room]);
                self.inner.consume(room);
                self.skipping = true;
                return Ok(Some(finish_line(&buf, true)));
            }
            buf.extend_from_slice(&avail[..end]);
            self.inner.consume(used);
            if newline.is_some() {
                return Ok(Some(finish_line(&buf, false)));
            }
        }
    }
}

fn finish_line(bytes: &[u8], cut: bool) -> String {
    let bytes = if cut {
        bytes
    } else {
        bytes.strip_suffix(b"\r").unwrap_or(bytes)
    };
    let mut line = String::from_utf8_lossy(bytes).into_owned();
    if cut {
        line.push_str(CUT_MARKER);
    }
    line
}

/// Cut a line longer than [`MAX_LINE_BYTES`] (at a character boundary).
pub fn cut_line(mut line: String) -> String {
    if line.len() > MAX_LINE_BYTES {
        let mut at = MAX_LINE_BYTES;
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.truncate(at);
        line.push_str(CUT_MARKER);
    }
    line
}
