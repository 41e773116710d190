//! `flightdeck demo`: the bundled demo runbook in the TUI, and the small
//! HTTP service it starts.

use std::time::Duration;

use super::{CmdResult, EXIT_OK, Failure, session, tui};
use crate::cli::ReleaseArgs;
use crate::runbook::duration::parse_duration;
use crate::settings::Settings;

/// The demo runbook, compiled in so `flightdeck demo` needs no files.
pub const DEMO_RUNBOOK: &str = include_str!("../../config/runbooks/demo.yaml");

pub async fn run(settings: &Settings, port: u16) -> CmdResult {
    // Written out so the journal (and `flightdeck approve`) can find it.
    let dir = settings.data_dir.join("runbooks");
    crate::private::create_dir(&dir)
        .map_err(|e| Failure::failed(format!("{}: {e}", dir.display())))?;
    let path = dir.join("demo.yaml");
    crate::private::write(&path, DEMO_RUNBOOK)
        .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
    let args = ReleaseArgs {
        watch: false,
        runbook: Some(path),
        environment: Some("staging".into()),
        inputs: vec![format!("port={port}")],
        resume: false,
        release: None,
        new: false,
        break_glass: None,
        kube: Default::default(),
    };
    let opened = session::open(settings, &args, false, Vec::new()).await?;
    tui::run_opened(settings, opened).await
}

pub async fn service(
    listen: &str,
    version: &str,
    ready_after: &str,
    stop_after: Option<&str>,
    extras: crate::demo_service::DemoExtras,
) -> CmdResult {
    let ready_after = parse_duration(ready_after).map_err(|e| Failure::invalid(e.to_string()))?;
    let stop_after: Option<Duration> = stop_after
        .map(parse_duration)
        .transpose()
        .map_err(|e| Failure::invalid(e.to_string()))?;
    crate::demo_service::run_cli_with(listen, version, ready_after, stop_after, extras)
        .await
        .map_err(|e| Failure::failed(format!("demo service: {e}")))?;
    Ok(EXIT_OK)
}
