//! The driver's own, monotonic idea of when its lease runs out.
//!
//! The lease's expiry lives on the database clock; a driver that cannot
//! reach the database (or whose renewals keep failing) cannot read it. So it
//! keeps a local deadline on the monotonic clock: the remaining time of the
//! last successful renewal, counted from when that renewal was SENT (the
//! database may have renewed it any time after), less a margin. Once the
//! deadline passes the driver must assume someone may take over: it starts
//! no new step until a renewal succeeds again.

use std::time::Duration;

use tokio::time::Instant;

/// Given up before the database would let someone else take over.
pub const MARGIN: Duration = Duration::from_millis(1000);

#[derive(Debug, Clone)]
pub struct LeaseClock {
    deadline: Option<Instant>,
    lapsed: bool,
    last_error: Option<String>,
}

impl LeaseClock {
    /// A driver that just acquired a lease of `ttl` (sent at `since`); or,
    /// with `driving` false, a watcher (no deadline).
    pub fn new(driving: bool, since: Instant, ttl: Duration) -> Self {
        LeaseClock {
            deadline: driving.then(|| since + ttl.saturating_sub(MARGIN)),
            lapsed: false,
            last_error: None,
        }
    }

    /// When the lease must be assumed lost; `None` once lapsed or when not
    /// driving.
    pub fn deadline(&self) -> Option<Instant> {
        if self.lapsed { None } else { self.deadline }
    }

    pub fn lapsed(&self) -> bool {
        self.lapsed
    }

    /// A renewal sent at `sent_at` succeeded with `remaining_ms` left on the
    /// database clock. True when this ends a lapse.
    pub fn renewed(&mut self, sent_at: Instant, remaining_ms: i64) -> bool {
        let left = Duration::from_millis(remaining_ms.max(0) as u64);
        self.deadline = Some(sent_at + left.saturating_sub(MARGIN));
        self.last_error = None;
        std::mem::replace(&mut self.lapsed, false)
    }

    /// A renewal failed (the lease may still be ours: keep trying).
    pub fn failed(&mut self, error: String) {
        self.last_error = Some(error);
    }

    /// The deadline passed without a renewal: why, in words.
    pub fn lapse(&mut self) -> String {
        self.lapsed = true;
        match &self.last_error {
            Some(e) => format!("the lease could not be renewed in time ({e})"),
            None => "the lease could not be renewed in time (no answer from the journal)".into(),
        }
    }

    /// The lease is gone for good (taken over) or given back.
    pub fn stop(&mut self) {
        self.deadline = None;
        self.lapsed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lapses_after_the_last_renewal_runs_out_and_recovers() {
        let t0 = Instant::now();
        let mut c = LeaseClock::new(true, t0, Duration::from_secs(10));
        assert_eq!(c.deadline(), Some(t0 + Duration::from_secs(9)));
        // Renewed at t0+3s with 10 s left on the database clock.
        let t3 = t0 + Duration::from_secs(3);
        assert!(!c.renewed(t3, 10_000));
        assert_eq!(c.deadline(), Some(t3 + Duration::from_secs(9)));
        c.failed("connection refused".into());
        assert!(c.lapse().contains("connection refused"));
        assert!(c.lapsed() && c.deadline().is_none());
        assert!(c.renewed(t3 + Duration::from_secs(20), 10_000));
        assert!(!c.lapsed() && c.deadline().is_some());
    }

    #[test]
    fn a_watcher_has_no_deadline() {
        let c = LeaseClock::new(false, Instant::now(), Duration::from_secs(10));
        assert_eq!(c.deadline(), None);
    }
}
