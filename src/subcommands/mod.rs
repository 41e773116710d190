//! The subcommands. Each returns the process exit code.

mod approver;
mod content;
mod demo;
mod failure;
pub mod generated;
mod headless;
mod home;
pub mod home_read;
mod identity;
mod journal;
mod lingering;
mod load;
pub mod out;
pub mod plan;
mod secret_prompt;
mod session;
mod signoff;
mod start_form;
mod team;
mod tui;
mod validate;
mod watch;
mod wiring;

pub use self::failure::{CmdResult, Failure};
use crate::cli::{Cli, Cmd};
use crate::settings::Settings;

/// Exit codes of `run --headless` (and of errors elsewhere).
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_INVALID: i32 = 2;
pub const EXIT_WAITING: i32 = 3;

pub fn main(cli: Cli) -> i32 {
    failure::install_hooks();
    let Cli { journal, command } = cli;
    // No command, or `tui` naming no runbook and no release: home.
    let command = match command {
        None => Cmd::Home,
        Some(Cmd::Tui(a)) if a.runbook.is_none() && !a.resume && a.release.is_none() => Cmd::Home,
        Some(c) => c,
    };
    // These read no settings and open nothing.
    let done = match &command {
        Cmd::Validate { runbooks } => return validate::run(runbooks),
        Cmd::Completions { shell } => Some(generated::print_completions(*shell)),
        Cmd::Man { out_dir } => Some(generated::print_man(out_dir.as_deref())),
        Cmd::Schema => Some(generated::print_schema()),
        _ => None,
    };
    if let Some(result) = done {
        return result.unwrap_or_else(|e| {
            e.print();
            e.code
        });
    }
    let settings = match Settings::load(journal.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            let f = Failure::from(e);
            f.print();
            return f.code;
        }
    };
    // The in-app log pane (tui-logger) only where a screen shows it:
    // `watch` has none, and its mover thread woke the idle watch ~100x a second.
    let tui = matches!(command, Cmd::Tui(_) | Cmd::Demo { .. } | Cmd::Home);
    crate::logging::init(&settings.data_dir, tui);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out::warn(format!("flightdeck: cannot start the async runtime: {e}"));
            return EXIT_FAILED;
        }
    };
    let result = rt.block_on(async move {
        match command {
            Cmd::Tui(args) => tui::run(&settings, args).await,
            Cmd::Home => home::run(&settings).await,
            Cmd::Run {
                release,
                headless,
                acks,
                retries,
            } => headless::run(&settings, release, headless, acks, retries).await,
            Cmd::Demo { port } => demo::run(&settings, port).await,
            Cmd::Releases {
                waiting_for_me: true,
                ..
            } => signoff::waiting_for_me(&settings).await,
            Cmd::Releases { limit, .. } => journal::releases(&settings, limit).await,
            Cmd::Show { release } => journal::show(&settings, &release).await,
            Cmd::Report { release, format } => journal::report(&settings, &release, format).await,
            Cmd::Verify => journal::verify(&settings).await,
            Cmd::Approve(a) => {
                signoff::run(&settings, a, crate::runbook::gates::Decision::Approve).await
            }
            Cmd::Reject(a) => {
                signoff::run(&settings, a, crate::runbook::gates::Decision::Reject).await
            }
            Cmd::Watch(args) => watch::run(&settings, args).await,
            Cmd::Plan(args) => plan::run(&settings, args).await,
            Cmd::Paths => {
                out::say(format!("config dir:  {}", settings.config_dir.display()));
                out::say(format!("data dir:    {}", settings.data_dir.display()));
                out::say(format!(
                    "journal:     {}",
                    crate::backend::store::redact(&settings.journal)
                ));
                out::say(format!(
                    "audit key:   {}",
                    settings.audit_key_path.display()
                ));
                out::say(format!(
                    "you are:     {}@{}",
                    settings.person, settings.host
                ));
                Ok(EXIT_OK)
            }
            Cmd::DemoService {
                listen,
                version,
                ready_after,
                stop_after,
                metrics,
                fail_paths,
            } => {
                let extras = crate::demo_service::DemoExtras::parse(&metrics, &fail_paths)
                    .map_err(|e| Failure::invalid(e.to_string()));
                match extras {
                    Ok(x) => {
                        demo::service(&listen, &version, &ready_after, stop_after.as_deref(), x)
                            .await
                    }
                    Err(e) => Err(e),
                }
            }
            Cmd::Validate { .. } | Cmd::Completions { .. } | Cmd::Man { .. } | Cmd::Schema => {
                unreachable!("handled above")
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::terminal::restore();
            e.print();
            e.code
        }
    }
}
