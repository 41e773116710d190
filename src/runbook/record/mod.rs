//! The record of a release (TRUST.md rule 1): audit entries parsed into
//! typed facts and folded, by one pure function, into the release's state.
//! Tables in the store are indexes; this is what decides.

mod entry;
mod fold;
#[cfg(test)]
mod tests;

pub use entry::{Entry, Fact, Flaw, Malformed, Opened, RunState, Stamp, Ticks};
pub use fold::{
    Attempt, BreakGlass, ChecklistTicks, ContentChange, Foreign, Header, LeaseChange,
    RecordedSignoff, ReleaseRecord, ResumeChoice, apply, fold, fold_all,
};
