//! Nothing a step started outlives flightdeck (issue 11, "no orphans").
//!
//! Two independent ties, because each alone has a hole:
//! - the group leader gets `PR_SET_PDEATHSIG(SIGKILL)`. Linux fires it when
//!   the THREAD that forked the child exits, not the process; tokio's worker
//!   and blocking threads may come and go, so every step is spawned from one
//!   dedicated thread that lives as long as the process ([`spawn_tied`]).
//! - PDEATHSIG reaches the leader only, not what it started in the
//!   background (`sleep 300 & sleep 300`). So each group also gets a tiny
//!   watchdog ([`Lifeline`]): a `sh` in its own process group reading a pipe
//!   whose only writer is flightdeck. When flightdeck dies for any reason
//!   (SIGKILL included) the kernel closes the writer, `read` sees EOF and the
//!   watchdog kills the whole group. When the step ends normally flightdeck
//!   writes a newline first and the watchdog leaves quietly, so a pgid that
//!   might be reused later is never signalled.
//!
//! A process that leaves its group (setsid, double fork into a new group) is
//! out of reach of both; runbook commands that daemonize that way are not
//! supported.

use std::io::{self, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::mpsc;

use tokio::process::{Child, Command};

type Job = Box<dyn FnOnce() + Send>;

/// The long-lived thread every step process is forked from.
fn spawner() -> &'static mpsc::Sender<Job> {
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("flightdeck-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            });
        if let Err(e) = started {
            tracing::error!("could not start the spawner thread: {e}");
        }
        tx
    })
}

/// Spawn `cmd` so that its process dies with flightdeck (see the module doc).
/// Must be called inside a tokio runtime.
pub async fn spawn_tied(mut cmd: Command) -> io::Result<Child> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe calls (prctl, getppid) and builds errors without
    // allocating.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // flightdeck died between fork and prctl: do not run orphaned.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawner()
        .send(Box::new(move || {
            // tokio's child reaping needs its runtime's context.
            let _in_runtime = handle.enter();
            let _ = tx.send(cmd.spawn());
        }))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    rx.await
        .map_err(|_| io::Error::other("the spawner thread dropped the request"))?
}

/// A pipe whose ends close on exec, so no other child inherits the writer
/// (which would keep the watchdog from ever seeing EOF).
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just opened both; nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Waits for a line on stdin; EOF without one means flightdeck died: kill
/// the group. Signals that stop flightdeck (HUP, INT, TERM) must not stop it.
/// (No `--` before the negative pgid: dash's `kill` refuses it.)
const WATCHDOG: &str = r#"trap '' HUP INT TERM; if read -r line; then exit 0; fi; kill -9 "-$1""#;

/// The watchdog of one process group; dropping it without
/// [`Lifeline::release`] kills the group (as flightdeck's death would).
#[derive(Debug)]
pub struct Lifeline {
    pipe: Option<std::fs::File>,
}

impl Lifeline {
    /// Start the watchdog of process group `pgid`.
    pub fn tie(pgid: i32) -> io::Result<Lifeline> {
        if pgid <= 1 {
            return Err(io::Error::other(format!("not a process group: {pgid}")));
        }
        let (read, write) = cloexec_pipe()?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("flightdeck-watchdog")
            .arg(pgid.to_string())
            .stdin(Stdio::from(read))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: a signal to the step's group or the terminal's
            // foreground group does not reach it.
            .process_group(0)
            .kill_on_drop(false);
        // Dropped at once: tokio reaps it in the background when it exits.
        cmd.spawn()?;
        Ok(Lifeline {
            pipe: Some(std::fs::File::from(write)),
        })
    }

    /// The group is gone (or handed over): let the watchdog exit quietly.
    pub fn release(&mut self) {
        if let Some(mut w) = self.pipe.take() {
            let _ = w.write_all(b"\n");
        }
    }
}
