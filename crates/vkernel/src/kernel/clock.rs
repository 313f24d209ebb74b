//! Wall-clock time for file timestamps.
//!
//! The kernel never reads the host clock directly: it asks the [`Clock`] it was given, so
//! tests can fix time and a daemon could offset or freeze it per container. Times are
//! nanoseconds since the Unix epoch as `i64` (the range of Linux's `struct timespec` that
//! fits: years 1677 to 2262).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A source of wall-clock time.
pub trait Clock: Send + Sync {
    /// Now, in nanoseconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The host's real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            // A host clock before 1970: report the epoch rather than fail.
            Err(_) => 0,
        }
    }
}

/// A clock that stands still until told otherwise (tests).
#[derive(Debug, Default)]
pub struct FixedClock {
    now: AtomicI64,
}

impl FixedClock {
    /// A clock showing `now` (nanoseconds since the epoch).
    pub fn new(now: i64) -> FixedClock {
        FixedClock {
            now: AtomicI64::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` nanoseconds.
    pub fn advance(&self, by: i64) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(5 * NANOS_PER_SEC);
        assert_eq!(c.now(), 5 * NANOS_PER_SEC);
        c.advance(1);
        assert_eq!(c.now(), 5 * NANOS_PER_SEC + 1);
        c.set(0);
        assert_eq!(c.now(), 0);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > 1_577_836_800 * NANOS_PER_SEC);
    }
}
