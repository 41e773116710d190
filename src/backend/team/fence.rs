//! The driver's lease token (its fencing token). It lives here and nowhere
//! else: the app sees leases only as `TeamEvent`s to show, and every fenced
//! journal write takes its token from this one place, so a token the app
//! still remembers can never be written with after the backend let it go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The token this process drives a release with; 0 while not driving.
#[derive(Debug, Default)]
pub struct Fence(AtomicI64);

impl Fence {
    /// The token to write with, 0 while watching.
    pub fn load(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Drive with `token` (0: stop driving).
    pub fn store(&self, token: i64) {
        self.0.store(token, Ordering::SeqCst)
    }

    /// Replace the token, returning the one held before.
    pub fn swap(&self, token: i64) -> i64 {
        self.0.swap(token, Ordering::SeqCst)
    }

    pub fn driving(&self) -> bool {
        self.load() != 0
    }
}

/// The fence of `release_id` in this process (one per release: the claim
/// when a release opens and the team tasks that keep the lease share it).
pub fn of(release_id: &str) -> Arc<Fence> {
    static FENCES: OnceLock<Mutex<HashMap<String, Arc<Fence>>>> = OnceLock::new();
    let mut all = FENCES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    all.entry(release_id.to_string()).or_default().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fence_per_release() {
        let a = of("r-fence-test-a");
        a.store(7);
        assert_eq!(of("r-fence-test-a").load(), 7);
        assert!(!of("r-fence-test-b").driving());
        assert_eq!(a.swap(0), 7);
        assert!(!of("r-fence-test-a").driving());
    }
}
