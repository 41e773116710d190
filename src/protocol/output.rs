//! A step's output: bounded, sanitized, with a count of what was dropped.

use std::collections::VecDeque;

/// Which stream a line of a step came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// flightdeck's own lines about the step (check results, signals sent).
    Info,
}

/// Lines kept per step on screen; older lines scroll out (and are counted).
pub const MAX_LINES: usize = 5000;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutputBuffer {
    pub lines: VecDeque<(Stream, String)>,
    /// Lines the runner dropped because the step flooded.
    pub dropped: u64,
    /// Older lines pushed out of this buffer (still counted in `total`).
    pub evicted: u64,
    pub total: u64,
}

impl OutputBuffer {
    pub fn push(&mut self, stream: Stream, line: String) {
        self.total += 1;
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
            self.evicted += 1;
        }
        self.lines.push_back((stream, line));
    }

    pub fn add_dropped(&mut self, n: u64) {
        self.dropped += n;
        self.total += n;
    }

    /// The last `n` lines as plain text, for the journal.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines
            .iter()
            .skip(skip)
            .map(|(s, l)| match s {
                Stream::Stderr => format!("! {l}"),
                Stream::Info => format!("» {l}"),
                Stream::Stdout => l.clone(),
            })
            .collect()
    }
}
