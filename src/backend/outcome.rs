//! How a backend says what a step did: its outcome, and its lines (redacted).

use crate::protocol::output::Stream;
use crate::runbook::data::Redactor;
use crate::runbook::progress::Outcome;

/// Lines of a step, redacted before they leave.
pub struct Say<'a> {
    red: &'a Redactor,
    sink: &'a mut (dyn FnMut(Stream, String) + Send),
}

impl<'a> Say<'a> {
    pub fn new(red: &'a Redactor, sink: &'a mut (dyn FnMut(Stream, String) + Send)) -> Self {
        Say { red, sink }
    }
    pub fn info(&mut self, line: impl AsRef<str>) {
        (self.sink)(Stream::Info, self.red.apply(line.as_ref()));
    }
    pub fn out(&mut self, line: impl AsRef<str>) {
        (self.sink)(Stream::Stdout, self.red.apply(line.as_ref()));
    }
    pub fn err(&mut self, line: impl AsRef<str>) {
        (self.sink)(Stream::Stderr, self.red.apply(line.as_ref()));
    }
}

/// A failed outcome; `reason` is any text or typed error, said in words.
pub fn failure(reason: impl std::fmt::Display) -> Outcome {
    Outcome::Failure {
        reason: reason.to_string(),
        exit_code: None,
    }
}

pub fn success(note: impl Into<String>) -> Outcome {
    Outcome::Success {
        exit_code: None,
        note: Some(note.into()),
    }
}
