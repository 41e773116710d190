//! Team mode's backend side (issue 10 part 5 moves the lease here; for now
//! it holds the driver's local view of its lease deadline).

pub mod lease_clock;
