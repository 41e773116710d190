//! Team mode's backend side: the lease token a driver writes with (only
//! here, never in the app's state) and its local view of the lease deadline.

pub mod fence;
pub mod lease_clock;
