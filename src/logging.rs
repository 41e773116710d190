//! tracing -> a log file in the data dir, and the TUI's log pane.

use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log to `data_dir/flightdeck.log` and, for the TUI, to tui-logger.
/// Never to the terminal: it belongs to the TUI or to JSON output.
pub fn init(data_dir: &Path, tui: bool) {
    // Private: the log names people, hosts and what ran (see `private`).
    let _ = crate::private::create_dir(data_dir);
    let file = crate::private::open_append(&data_dir.join("flightdeck.log")).ok();
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
