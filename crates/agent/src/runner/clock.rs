//! The agent's clock: the only place it reads the time or sleeps (the core takes time as a
//! value). The runner holds a [`Clock`] so its unit tests can run the loop on a fake one.

use headroom_core::Timestamp;
use std::time::{Duration, Instant, SystemTime};

/// Time as the runner reads it: monotonic for periods and waits, wall time for decisions and
/// kill deadlines.
pub(crate) trait Clock: Send {
    fn now(&self) -> Instant;
    fn timestamp(&self) -> Timestamp;
    fn system_time(&self) -> SystemTime;
    fn sleep(&self, d: Duration);
}

/// The real clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn timestamp(&self) -> Timestamp {
        Timestamp::now()
    }
    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A clock that moves only when slept on (tests): every reading is `start + slept`.
#[cfg(test)]
#[derive(Clone)]
pub(crate) struct FakeClock {
    start: Instant,
    wall: SystemTime,
    slept: std::sync::Arc<std::sync::Mutex<Duration>>,
}

#[cfg(test)]
impl FakeClock {
    pub(crate) fn new() -> FakeClock {
        FakeClock {
            start: Instant::now(),
            // A fixed wall time, so decisions carry predictable times.
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            slept: Default::default(),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        *self.slept.lock().unwrap()
    }

    pub(crate) fn advance(&self, d: Duration) {
        *self.slept.lock().unwrap() += d;
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
    fn timestamp(&self) -> Timestamp {
        let since = self.system_time().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        Timestamp::from_nanosecond(since.as_nanos() as i128).unwrap()
    }
    fn system_time(&self) -> SystemTime {
        self.wall + self.elapsed()
    }
    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}
