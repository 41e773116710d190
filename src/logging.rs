//! tracing -> a log file in the data dir, and the TUI's log pane.

use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log to `data_dir/flightdeck.log` and, for the TUI, to tui-logger.
/// Never to the terminal: it belongs to the TUI or to JSON output.
pub fn init(data_dir: &Path, tui: bool) {
    let _ = std::fs::create_dir_all(data_dir);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("flightdeck.log"))
        .ok();
    let file_layer = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(std::sync::Mutex::new(f))
    });
    let tui_layer = tui.then(|| {
        let _ = tui_logger::init_logger(tui_logger::LevelFilter::Info);
        tui_logger::set_default_level(tui_logger::LevelFilter::Info);
        tui_logger::TuiTracingSubscriberLayer
    });
    let filter = tracing_subscriber::filter::LevelFilter::INFO;
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(tui_layer)
        .try_init();
}
