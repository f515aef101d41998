//! Retrying transient failures with exponential backoff and jitter, within a time budget.
//!
//! Canopsis does not queue API calls made while it is down (FACTS): the caller retries. The
//! schedule ([`Backoff`]) is pure; the loop ([`retry_with`]) takes a [`Clock`] so tests run it
//! without real time.

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::error::ApiError;

/// An error that may go away if the same call is made again later.
pub trait Transient {
    /// Whether trying again may succeed.
    fn is_transient(&self) -> bool;
}

impl Transient for ApiError {
    fn is_transient(&self) -> bool {
        ApiError::is_transient(self)
    }
}

/// Delays that double from `initial` up to `max`, each drawn in [d/2, d] ("equal jitter") so
/// that several clients do not retry in step. Endless.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    state: u64,
}

impl Backoff {
    /// A schedule with a random jitter seed.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        Self::seeded(initial, max, hasher.finish())
    }

    /// A schedule with a fixed jitter seed, for reproducible tests.
    pub fn seeded(initial: Duration, max: Duration, seed: u64) -> Self {
        let max = max.max(initial);
        Self {
            next: initial,
            max,
            state: seed,
        }
    }

    /// splitmix64: a small, good-enough generator for jitter.
    fn random(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let ceiling = self.next;
        self.next = ceiling.saturating_mul(2).min(self.max);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            self.random() % (spread + 1)
        };
        Some(half + Duration::from_nanos(jitter))
    }
}

/// Time as the retry loop sees it.
pub trait Clock {
    /// Time elapsed since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// The real clock: tokio's sleep.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }
}

/// Why [`retry`] gave up.
#[derive(Debug)]
pub enum RetryError<E> {
    /// A failure that retrying cannot fix (a 4xx, bad JSON...), on the given attempt.
    Permanent(E),
    /// Still failing when the budget ran out; the last failure is kept.
    Exhausted {
        /// How many attempts were made.
        attempts: u32,
        /// How long it took.
        elapsed: Duration,
        /// The last failure.
        last: E,
    },
}

impl<E> RetryError<E> {
    /// The failure that ended the retries.
    pub fn last(&self) -> &E {
        match self {
            RetryError::Permanent(e) | RetryError::Exhausted { last: e, .. } => e,
        }
    }

    /// The failure that ended the retries, owned.
    pub fn into_last(self) -> E {
        match self {
            RetryError::Permanent(e) | RetryError::Exhausted { last: e, .. } => e,
        }
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Permanent(e) => e.fmt(f),
            RetryError::Exhausted {
                attempts,
                elapsed,
                last,
            } => write!(
                f,
                "still failing after {attempts} attempts in {:.1} s: {last}",
                elapsed.as_secs_f64()
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RetryError::Permanent(e) => e.source(),
            RetryError::Exhausted { last, .. } => Some(last),
        }
    }
}

/// Runs `op` until it succeeds, fails permanently, or `budget` is spent, sleeping between
/// attempts along a [`Backoff`] from `initial` to `max`. No attempt starts after the budget.
pub async fn retry<T, E, Op, Fut>(
    budget: Duration,
    initial: Duration,
    max: Duration,
    op: Op,
) -> Result<T, RetryError<E>>
where
    E: Transient + fmt::Display,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_with(&TokioClock::new(), budget, Backoff::new(initial, max), op).await
}

/// [`retry`] with a given clock and schedule.
pub async fn retry_with<T, E, Op, Fut, C>(
    clock: &C,
    budget: Duration,
    schedule: impl IntoIterator<Item = Duration>,
    mut op: Op,
) -> Result<T, RetryError<E>>
where
    E: Transient + fmt::Display,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Clock,
{
    let start = clock.now();
    let mut schedule = schedule.into_iter();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(e) if !e.is_transient() => return Err(RetryError::Permanent(e)),
            Err(e) => e,
        };
        let elapsed = clock.now().saturating_sub(start);
        let left = budget.saturating_sub(elapsed);
        let delay = schedule.next().map(|d| d.min(left));
        match delay {
            Some(delay) if !left.is_zero() => {
                tracing::warn!(
                    attempt = attempts,
                    "{error}; trying again in {:.1} s",
                    delay.as_secs_f64()
                );
                clock.sleep(delay).await;
            }
            _ => {
                return Err(RetryError::Exhausted {
                    attempts,
                    elapsed,
                    last: error,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_max_with_bounded_jitter() {
        for seed in 0..200 {
            let delays: Vec<Duration> =
                Backoff::seeded(100 * MS, 1000 * MS, seed).take(8).collect();
            let ceilings = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
            for (d, c) in delays.iter().zip(ceilings) {
                assert!(
                    *d >= c * MS / 2 && *d <= c * MS,
                    "seed {seed}: {d:?} vs {c}"
                );
            }
        }
    }

    #[test]
    fn backoff_jitter_varies_between_seeds_and_repeats_with_one() {
        let a: Vec<_> = Backoff::seeded(MS * 1000, MS * 8000, 1).take(5).collect();
        let b: Vec<_> = Backoff::seeded(MS * 1000, MS * 8000, 2).take(5).collect();
        let again: Vec<_> = Backoff::seeded(MS * 1000, MS * 8000, 1).take(5).collect();
        assert_ne!(a, b);
        assert_eq!(a, again);
    }

    #[test]
    fn backoff_handles_zero_and_inverted_bounds() {
        assert!(Backoff::seeded(Duration::ZERO, Duration::ZERO, 3)
            .take(3)
            .all(|d| d.is_zero()));
        // max below initial: initial wins.
        assert!(Backoff::seeded(MS * 10, MS, 3)
            .take(3)
            .all(|d| d <= MS * 10));
    }

    /// A clock that only moves when slept on (or told to).
    struct FakeClock {
        now: Cell<Duration>,
        slept: RefCell<Vec<Duration>>,
    }

    impl FakeClock {
        fn new() -> Self {
            Self {
                now: Cell::new(Duration::ZERO),
                slept: RefCell::new(Vec::new()),
            }
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            self.now.get()
        }
        fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
            self.now.set(self.now.get() + duration);
            self.slept.borrow_mut().push(duration);
            std::future::ready(())
        }
    }

    #[derive(Debug, PartialEq)]
    struct Fail(bool, u32);
    impl Transient for Fail {
        fn is_transient(&self) -> bool {
            self.0
        }
    }
    impl fmt::Display for Fail {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "failure {}", self.1)
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn fixed(ms: u64) -> impl Iterator<Item = Duration> {
        std::iter::repeat(MS * ms as u32)
    }

    #[test]
    fn succeeds_after_transient_failures() {
        let clock = FakeClock::new();
        let calls = Cell::new(0);
        let result = block_on(retry_with(&clock, MS * 10_000, fixed(100), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(Fail(true, n))
                } else {
                    Ok(n)
                }
            }
        }));
        assert_eq!(result.unwrap(), 3);
        assert_eq!(*clock.slept.borrow(), [MS * 100, MS * 100]);
    }

    #[test]
    fn stops_at_once_on_a_permanent_failure() {
        let clock = FakeClock::new();
        let result: Result<(), _> =
            block_on(retry_with(&clock, MS * 10_000, fixed(100), || async {
                Err(Fail(false, 7))
            }));
        assert!(matches!(result, Err(RetryError::Permanent(Fail(false, 7)))));
        assert!(clock.slept.borrow().is_empty());
    }

    #[test]
    fn gives_up_when_the_budget_is_spent_with_the_last_failure() {
        let clock = FakeClock::new();
        let calls = Cell::new(0);
        let result: Result<(), _> = block_on(retry_with(&clock, MS * 1000, fixed(300), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { Err(Fail(true, n)) }
        }));
        let err = result.unwrap_err();
        // Sleeps of 300, 300, 300 and the 100 left; the fifth attempt ends the budget.
        assert_eq!(
            *clock.slept.borrow(),
            [MS * 300, MS * 300, MS * 300, MS * 100]
        );
        match &err {
            RetryError::Exhausted {
                attempts,
                elapsed,
                last,
            } => {
                assert_eq!((*attempts, *elapsed), (5, MS * 1000));
                assert_eq!(last, &Fail(true, 5));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string().contains("after 5 attempts") && err.to_string().contains("failure 5")
        );
    }

    #[test]
    fn counts_the_time_the_operation_itself_takes() {
        let clock = FakeClock::new();
        let calls = Cell::new(0);
        let result: Result<(), _> = block_on(retry_with(&clock, MS * 1000, fixed(10), || {
            calls.set(calls.get() + 1);
            // Each attempt takes 400 ms (a slow timeout).
            clock.now.set(clock.now.get() + MS * 400);
            async { Err(Fail(true, 0)) }
        }));
        assert!(matches!(
            result,
            Err(RetryError::Exhausted { attempts: 3, .. })
        ));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn a_zero_budget_means_one_attempt() {
        let clock = FakeClock::new();
        let calls = Cell::new(0);
        let _ = block_on(retry_with(&clock, Duration::ZERO, fixed(10), || {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(Fail(true, 0)) }
        }));
        assert_eq!(calls.get(), 1);
    }
}
