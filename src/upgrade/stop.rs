//! The stop request (SIGTERM), and sleeping until a wall-clock instant unless stopped: one
//! timer, no polling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;

/// Raised once by SIGTERM; checked at step boundaries, and wakes any sleeper.
#[derive(Debug, Default)]
pub struct StopSignal {
    raised: AtomicBool,
    wake: tokio::sync::Notify,
}

impl StopSignal {
    /// Asks the run to stop at the next step boundary.
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Whether a stop was asked.
    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Waits until a stop is asked (at once when it was already).
    pub async fn raised(&self) {
        loop {
            // Created before the check: a Notified future receives notify_waiters() from its
            // creation on, so a raise between the check and the await is not lost.
            let notified = self.wake.notified();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps until the wall clock reaches `at`; false when a stop came first. The timer runs on
    /// the monotonic clock; after it fires the wall clock is read again, so a clock step (NTP)
    /// only costs one more timer, never a busy loop.
    pub async fn sleep_until(&self, at: Timestamp) -> bool {
        loop {
            if self.is_raised() {
                return false;
            }
            let left = at.duration_since(Timestamp::now());
            if left.is_negative() || left.is_zero() {
                return true;
            }
            let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
            let notified = self.wake.notified();
            tokio::select! {
                _ = tokio::time::sleep(left) => {}
                _ = notified => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleeps_until_the_instant_or_a_stop() {
        let stop = std::sync::Arc::new(StopSignal::default());
        let started = std::time::Instant::now();
        assert!(
            stop.sleep_until(Timestamp::now() + jiff::SignedDuration::from_millis(200))
                .await
        );
        assert!(started.elapsed() >= Duration::from_millis(190));

        let waker = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waker.raise();
        });
        let started = std::time::Instant::now();
        assert!(
            !stop
                .sleep_until(Timestamp::now() + jiff::SignedDuration::from_secs(60))
                .await
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.is_raised());
    }

    #[tokio::test]
    async fn raised_waits_for_the_stop_or_returns_at_once_after_it() {
        let stop = std::sync::Arc::new(StopSignal::default());
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.raised().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "no stop yet");
        stop.raise();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), stop.raised())
            .await
            .unwrap();
    }
}
