//! The smoothed rate of change of a depth: one exponential average for the drain verdicts and
//! the `monitor` display alike.

use std::time::Duration;

/// An exponential average of the rate of change of a total, that accounts for the actual
/// spacing of the samples (which varies with adaptive polling): smoothed over time, not over
/// samples. The first rate is the first difference as it is.
#[derive(Debug, Clone)]
pub struct RateSmoother {
    window: Duration,
    last: Option<(Duration, u64)>,
    rate: Option<f64>,
}

impl RateSmoother {
    /// Smoothing with the time constant `window` (zero: no smoothing).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            last: None,
            rate: None,
        }
    }

    /// Takes the total at `at` (a monotonic offset) into account; a sample that is not later
    /// than the last one changes nothing.
    pub fn observe(&mut self, at: Duration, total: u64) {
        if let Some((last_at, last_total)) = self.last {
            if at <= last_at {
                return;
            }
            let dt = (at - last_at).as_secs_f64();
            let instant = (total as f64 - last_total as f64) / dt;
            let window = self.window.as_secs_f64();
            let alpha = if window > 0.0 {
                1.0 - (-dt / window).exp()
            } else {
                1.0
            };
            self.rate = Some(self.rate.map_or(instant, |r| r + alpha * (instant - r)));
        }
        self.last = Some((at, total));
    }

    /// The smoothed rate, per second; None before two samples.
    pub fn rate_per_s(&self) -> Option<f64> {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_needs_two_samples_and_ignores_one_that_is_not_later() {
        let mut meter = RateSmoother::new(Duration::ZERO);
        meter.observe(Duration::from_secs(1), 1_000);
        assert_eq!(meter.rate_per_s(), None);
        meter.observe(Duration::from_secs(2), 500);
        assert_eq!(meter.rate_per_s(), Some(-500.0));
        meter.observe(Duration::from_secs(2), 0);
        assert_eq!(meter.rate_per_s(), Some(-500.0));
    }
}
