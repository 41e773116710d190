//! tracing -> a log file in the data dir, and the TUI's log pane.

use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use crate::runbook::secrets::SecretSet;

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
            .with_writer(MaskingFile(Mutex::new(f)))
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

/// The open release's secrets, for the log file's last line of defence:
/// text is masked where it enters the app, and once more on its way to disk.
static SECRETS: RwLock<Option<SecretSet>> = RwLock::new(None);

/// Mask `set` in everything logged from now on.
pub fn mask_secrets(set: &SecretSet) {
    if let Ok(mut g) = SECRETS.write() {
        *g = Some(set.clone());
    }
}

struct MaskingFile(Mutex<std::fs::File>);

struct MaskingWriter<'a>(&'a Mutex<std::fs::File>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskingFile {
    type Writer = MaskingWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        MaskingWriter(&self.0)
    }
}

impl Write for MaskingWriter<'_> {
    /// One formatted event per call (the fmt layer writes whole lines).
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let masked = match SECRETS.read() {
            Ok(g) => match g.as_ref() {
                Some(set) => set.mask(&text),
                None => crate::runbook::secrets::redact_urls(&text),
            },
            Err(_) => crate::runbook::secrets::redact_urls(&text),
        };
        let mut f = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("log file lock poisoned"))?;
        f.write_all(masked.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut f) => f.flush(),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_never_receives_a_known_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let file = MaskingFile(Mutex::new(std::fs::File::create(&path).unwrap()));
        let mut set = SecretSet::new();
        set.add("log-secret-4242");
        mask_secrets(&set);
        let mut w = tracing_subscriber::fmt::MakeWriter::make_writer(&file);
        w.write_all(b"WARN step said log-secret-4242 via postgres://u:pw9@db/x\n")
            .unwrap();
        w.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "WARN step said *** via postgres://u:***@db/x\n");
    }
}
