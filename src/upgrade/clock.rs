//! The live wall clock: sleeping until an instant on one timer, woken by a stop.

use jiff::{SignedDuration, Timestamp};

use super::ports::WallClock;
use super::stop::StopSignal;

/// The system's clock, sleeping on the runtime's timer.
pub struct LiveClock<'a> {
    /// Where the timer runs.
    pub runtime: &'a tokio::runtime::Handle,
    /// Wakes a sleeper.
    pub stop: &'a StopSignal,
}

impl WallClock for LiveClock<'_> {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, at: Timestamp) -> bool {
        // A long wait (for a window hours away) should cost next to nothing.
        if at.duration_since(Timestamp::now()) > SignedDuration::from_secs(60) {
            let bytes = super::idle::shed();
            tracing::debug!("waiting: {} KiB of code paged out", bytes / 1024);
        }
        self.runtime.block_on(self.stop.sleep_until(at))
    }
}
