//! The subcommands. Each returns the process exit code.

mod approve;
mod content;
mod demo;
pub mod generated;
mod headless;
mod identity;
mod journal;
mod lingering;
pub mod out;
mod secret_prompt;
mod session;
mod team;
mod team_approve;
mod team_sign;
mod tui;
mod validate;
mod watch;
mod wiring;

use crate::cli::{Cli, Cmd};
use crate::settings::Settings;

/// Exit codes of `run --headless` (and of errors elsewhere).
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_INVALID: i32 = 2;
pub const EXIT_WAITING: i32 = 3;

pub fn main(cli: Cli) -> i32 {
    // Error reports and panics in the terminal's own colours under NO_COLOR.
    let hook = color_eyre::config::HookBuilder::default();
    let hook = match crate::ui::ColorMode::from_env() {
        crate::ui::ColorMode::NoColor => hook.theme(color_eyre::config::Theme::new()),
        crate::ui::ColorMode::Color => hook,
    };
    let _ = hook.install();
    let Cli { journal, command } = cli;
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
            out::warn(format!("flightdeck: {e}"));
            e.code
        });
    }
    let settings = match Settings::load(journal.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            out::warn(format!("flightdeck: {e}"));
            return EXIT_INVALID;
        }
    };
    let tui = matches!(command, Cmd::Tui(_) | Cmd::Demo { .. } | Cmd::Watch(_));
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
            } => team_approve::waiting_for_me(&settings).await,
            Cmd::Releases { limit, .. } => journal::releases(&settings, limit).await,
            Cmd::Show { release } => journal::show(&settings, &release).await,
            Cmd::Report { release, format } => journal::report(&settings, &release, format).await,
            Cmd::Verify => journal::verify(&settings).await,
            Cmd::Approve(a) => {
                approve::run(&settings, a, crate::runbook::gates::Decision::Approve).await
            }
            Cmd::Reject(a) => {
                approve::run(&settings, a, crate::runbook::gates::Decision::Reject).await
            }
            Cmd::Watch(args) => watch::run(args).await,
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
                    .map_err(Failure::invalid);
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
            out::warn(format!("flightdeck: {e}"));
            e.code
        }
    }
}

/// An error that ends a command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Failure {
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: EXIT_INVALID,
        }
    }
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: EXIT_FAILED,
        }
    }
}

impl From<crate::backend::store::StoreError> for Failure {
    fn from(e: crate::backend::store::StoreError) -> Failure {
        Failure::failed(format!("journal: {e}"))
    }
}

pub type CmdResult = Result<i32, Failure>;
