//! The return to normal after the engines restart, decided from samples of the engine queues:
//! samples in, a verdict out. Pure: no I/O and no clock (each sample carries its own monotonic
//! offset), so every rule here is unit-tested with synthetic outages.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::rate::RateSmoother;
use crate::config::RabbitmqSettings;
use crate::journal::QueueFigures;
use crate::support::format::{format_duration, format_rate, group, plural};

/// The live figures of one queue: ready messages and consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueSample {
    /// Messages waiting in the queue.
    pub messages: u64,
    /// Consumers attached to the queue.
    pub consumers: u32,
}

// The journal keeps a queue's figures in a type of its own (its serialized format is the
// journal's): converting is one call.
impl From<QueueFigures> for QueueSample {
    fn from(f: QueueFigures) -> Self {
        Self {
            messages: f.messages,
            consumers: f.consumers,
        }
    }
}

impl From<QueueSample> for QueueFigures {
    fn from(q: QueueSample) -> Self {
        Self {
            messages: q.messages,
            consumers: q.consumers,
        }
    }
}

/// The engine queues as they were just before the engines stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Baseline {
    /// Figures by queue name.
    pub queues: BTreeMap<String, QueueSample>,
}

impl From<&BTreeMap<String, QueueFigures>> for Baseline {
    /// The baseline the journal kept.
    fn from(figures: &BTreeMap<String, QueueFigures>) -> Self {
        Self {
            queues: figures
                .iter()
                .map(|(n, f)| (n.clone(), (*f).into()))
                .collect(),
        }
    }
}

/// One poll of the engine queues; a queue absent from `queues` is missing from the broker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// When it was taken, as a monotonic offset from any fixed origin.
    pub at: Duration,
    /// Figures by queue name.
    pub queues: BTreeMap<String, QueueSample>,
}

/// How far above its baseline a queue may be and still count as drained: the larger of the
/// absolute and the relative allowance (0 disables either).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Messages above the baseline.
    pub absolute: u64,
    /// A fraction of the baseline depth (0.1 is 10 %).
    pub relative: f64,
}

impl Tolerance {
    /// The number of messages above `baseline` still within tolerance.
    pub fn allowed(&self, baseline: u64) -> u64 {
        let relative = (self.relative.max(0.0) * baseline as f64).ceil();
        self.absolute.max(relative as u64)
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            absolute: 100,
            relative: 0.1,
        }
    }
}

/// What "back to normal" means, and how long to wait for it: the drain criteria of
/// `[rabbitmq]`, for the daemon's watch and the `monitor` command alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainCriteria {
    /// How close to its baseline a queue must be.
    pub tolerance: Tolerance,
    /// How many consecutive samples must all be normal (at least 1).
    pub hold_samples: u32,
    /// From the first sample: when the queues that have not drained are declared stuck.
    pub timeout: Duration,
    /// Time constant of the rate smoothing (see [`RateSmoother`]).
    pub rate_window: Duration,
    /// A queue deeper than this before the upgrade is abnormal (and, for `monitor`, not taken
    /// as its own baseline at start).
    pub abnormal_backlog: u64,
}

impl Default for DrainCriteria {
    fn default() -> Self {
        Self {
            tolerance: Tolerance::default(),
            hold_samples: 3,
            timeout: Duration::from_secs(30 * 60),
            rate_window: Duration::from_secs(3),
            abnormal_backlog: 10_000,
        }
    }
}

impl DrainCriteria {
    /// From `[rabbitmq]`: tolerance, tolerance_ratio, hold, drain_timeout, abnormal_backlog
    /// (the rate window is not configurable).
    pub fn from_config(rabbitmq: &RabbitmqSettings) -> Self {
        Self {
            tolerance: Tolerance {
                absolute: rabbitmq.tolerance,
                relative: rabbitmq.tolerance_ratio,
            },
            hold_samples: rabbitmq.hold,
            timeout: rabbitmq.drain_timeout,
            abnormal_backlog: rabbitmq.abnormal_backlog,
            ..Self::default()
        }
    }
}

/// A queue that did not return to normal before the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckQueue {
    /// The queue's name.
    pub name: String,
    /// Messages in it at the last sample.
    pub messages: u64,
    /// Consumers on it at the last sample.
    pub consumers: u32,
    /// Whether the last sample did not find the queue at all.
    pub missing: bool,
}

impl fmt::Display for StuckQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.missing {
            return write!(f, "{} (missing)", self.name);
        }
        write!(
            f,
            "{} {}, {}",
            self.name,
            plural(self.messages, "message"),
            plural(u64::from(self.consumers), "consumer")
        )
    }
}

/// Where the drain stands after a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Queues that had consumers before the stop have none yet (the engines are not back).
    WaitingForConsumers {
        /// Those queues, by name.
        queues: Vec<String>,
        /// Messages above the baseline, summed over the engine queues.
        left: u64,
        /// The smoothed rate of change of the engine queues' depth, messages per second.
        rate_per_s: f64,
    },
    /// The engines are back and the backlog is going down (or not yet within tolerance).
    Draining {
        /// Messages above the baseline, summed over the engine queues.
        left: u64,
        /// The smoothed rate of change of the engine queues' depth (negative while draining).
        rate_per_s: f64,
        /// When `left` reaches 0 at that rate; None while it is not going down.
        eta: Option<Duration>,
        /// Consecutive samples so far with every queue normal (the verdict needs `hold`).
        held: u32,
    },
    /// Every engine queue has its consumers and is within tolerance of its baseline, held for
    /// `hold` samples. Final.
    Normal {
        /// From the first sample where every engine had its consumers back to this verdict.
        drain_time: Duration,
        /// The largest backlog seen (messages above the baseline, summed).
        peak: u64,
    },
    /// The timeout passed with queues still not normal. Final.
    Stuck {
        /// The queues that did not return to normal, with their figures.
        queues: Vec<StuckQueue>,
    },
}

impl Verdict {
    /// Whether no further sample can change it.
    pub fn is_final(&self) -> bool {
        matches!(self, Verdict::Normal { .. } | Verdict::Stuck { .. })
    }

    /// The verdict's kind, for comparisons that ignore the figures.
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::WaitingForConsumers { .. } => VerdictKind::WaitingForConsumers,
            Verdict::Draining { .. } => VerdictKind::Draining,
            Verdict::Normal { .. } => VerdictKind::Normal,
            Verdict::Stuck { .. } => VerdictKind::Stuck,
        }
    }

    /// Messages above the baseline (0 for the final verdicts).
    pub fn left(&self) -> u64 {
        match self {
            Verdict::WaitingForConsumers { left, .. } | Verdict::Draining { left, .. } => *left,
            Verdict::Normal { .. } => 0,
            Verdict::Stuck { queues } => queues.iter().map(|q| q.messages).sum(),
        }
    }
}

/// The kind of a [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    /// [`Verdict::WaitingForConsumers`]
    WaitingForConsumers,
    /// [`Verdict::Draining`]
    Draining,
    /// [`Verdict::Normal`]
    Normal,
    /// [`Verdict::Stuck`]
    Stuck,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::WaitingForConsumers {
                queues,
                left,
                rate_per_s,
            } => write!(
                f,
                "waiting for consumers on {}: {} left, {}/s",
                queues.join(", "),
                plural(*left, "message"),
                format_rate(*rate_per_s)
            ),
            Verdict::Draining {
                left,
                rate_per_s,
                eta,
                ..
            } => write!(
                f,
                "draining: {} left, {}/s, ETA {}",
                plural(*left, "message"),
                format_rate(*rate_per_s),
                eta.map_or_else(|| "unknown".to_owned(), format_duration)
            ),
            Verdict::Normal { drain_time, peak } => write!(
                f,
                "back to normal: drained in {} (peak backlog {})",
                format_duration(*drain_time),
                plural(*peak, "message")
            ),
            Verdict::Stuck { queues } => write!(
                f,
                "stuck: {}",
                queues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// One sample against the baseline.
#[derive(Debug, Default)]
struct Comparison {
    /// Messages above the baseline, summed.
    left: u64,
    /// Messages in all.
    total: u64,
    /// Queues that had consumers and have none.
    waiting: Vec<String>,
    /// Queues not normal, with their figures.
    not_normal: Vec<StuckQueue>,
}

/// Turns samples into verdicts; see [`Verdict`] for the rules.
#[derive(Debug, Clone)]
pub struct DrainMonitor {
    baseline: Baseline,
    criteria: DrainCriteria,
    first_at: Option<Duration>,
    restart: Option<(Duration, u64)>,
    rate: RateSmoother,
    peak: u64,
    held: u32,
    samples: u64,
    verdict: Option<Verdict>,
    drained: Option<(Duration, u64)>,
}

impl DrainMonitor {
    /// A monitor comparing samples with `baseline`.
    pub fn new(baseline: Baseline, criteria: DrainCriteria) -> Self {
        Self {
            baseline,
            criteria: DrainCriteria {
                hold_samples: criteria.hold_samples.max(1),
                ..criteria
            },
            first_at: None,
            restart: None,
            rate: RateSmoother::new(criteria.rate_window),
            peak: 0,
            held: 0,
            samples: 0,
            verdict: None,
            drained: None,
        }
    }

    /// The baseline it compares with.
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// Its criteria.
    pub fn criteria(&self) -> &DrainCriteria {
        &self.criteria
    }

    /// Takes one sample into account. Once the verdict is final, later samples change nothing.
    pub fn observe(&mut self, sample: Sample) -> Verdict {
        if let Some(verdict) = self.verdict.as_ref().filter(|v| v.is_final()) {
            return verdict.clone();
        }
        self.samples += 1;
        let at = sample.at;
        let first_at = *self.first_at.get_or_insert(at);
        let Comparison {
            left,
            total,
            waiting,
            not_normal,
        } = self.compare(&sample);

        self.rate.observe(at, total);
        self.peak = self.peak.max(left);
        if waiting.is_empty() && self.restart.is_none() {
            self.restart = Some((at, left));
        }
        self.held = if not_normal.is_empty() {
            self.held + 1
        } else {
            0
        };
        let rate_per_s = self.rate.rate_per_s().unwrap_or(0.0);

        let verdict = if self.held >= self.criteria.hold_samples {
            let (restart_at, left_at_restart) = self.restart.unwrap_or((at, left));
            let drain_time = at.saturating_sub(restart_at);
            self.drained = Some((drain_time, left_at_restart.saturating_sub(left)));
            Verdict::Normal {
                drain_time,
                peak: self.peak,
            }
        } else if self.held == 0 && at.saturating_sub(first_at) >= self.criteria.timeout {
            Verdict::Stuck { queues: not_normal }
        } else if !waiting.is_empty() {
            Verdict::WaitingForConsumers {
                queues: waiting,
                left,
                rate_per_s,
            }
        } else {
            Verdict::Draining {
                left,
                rate_per_s,
                eta: eta(left, rate_per_s),
                held: self.held,
            }
        };
        self.verdict = Some(verdict.clone());
        verdict
    }

    /// The sample against the baseline, queue by queue (the baseline's queues, then any other
    /// the sample has, counted from zero).
    fn compare(&self, sample: &Sample) -> Comparison {
        let mut names: Vec<&String> = self.baseline.queues.keys().collect();
        names.extend(
            sample
                .queues
                .keys()
                .filter(|n| !self.baseline.queues.contains_key(*n)),
        );
        let mut c = Comparison::default();
        for name in names {
            let base = self.baseline.queues.get(name).copied().unwrap_or_default();
            let now = sample.queues.get(name);
            let current = now.copied().unwrap_or_default();
            let excess = current.messages.saturating_sub(base.messages);
            c.left = c.left.saturating_add(excess);
            c.total = c.total.saturating_add(current.messages);
            if base.consumers > 0 && current.consumers == 0 {
                c.waiting.push(name.clone());
            }
            let depth_ok = excess <= self.criteria.tolerance.allowed(base.messages);
            let consumers_ok = current.consumers >= base.consumers;
            if !(depth_ok && consumers_ok) || (now.is_none() && base.consumers > 0) {
                c.not_normal.push(StuckQueue {
                    name: name.clone(),
                    messages: current.messages,
                    consumers: current.consumers,
                    missing: now.is_none(),
                });
            }
        }
        c
    }

    /// The last verdict, if any sample was observed.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// One line for STATUS= or a log: the last verdict, with the hold progress while settling.
    pub fn status_line(&self) -> String {
        match &self.verdict {
            None => "waiting for the first sample".to_owned(),
            Some(verdict @ Verdict::Draining { held, .. }) if *held > 0 => {
                format!(
                    "{verdict}, within tolerance {held}/{}",
                    self.criteria.hold_samples
                )
            }
            Some(verdict) => verdict.to_string(),
        }
    }

    /// The largest backlog seen so far (messages above the baseline, summed).
    pub fn peak(&self) -> u64 {
        self.peak
    }

    /// The current smoothed rate of change of the engine queues' depth, messages per second.
    pub fn rate_per_s(&self) -> Option<f64> {
        self.rate.rate_per_s()
    }

    /// How many samples were observed.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Once normal: the mean net drain rate, messages per second (positive), from the backlog
    /// when the engines were back to the verdict.
    pub fn mean_drain_rate(&self) -> Option<f64> {
        let (time, drained) = self.drained?;
        (!time.is_zero()).then(|| drained as f64 / time.as_secs_f64())
    }
}

fn eta(left: u64, rate_per_s: f64) -> Option<Duration> {
    if left == 0 {
        return Some(Duration::ZERO);
    }
    // Below a message every ten seconds, it is not going down in any useful sense.
    (rate_per_s < -0.1)
        .then(|| Duration::try_from_secs_f64(left as f64 / -rate_per_s).ok())
        .flatten()
}

/// The backlog before the upgrade is already abnormal: upgrading now would hide the problem
/// and make the return to normal impossible to judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("abnormal backlog before the upgrade: {}", self.describe())]
pub struct AbnormalBacklog {
    /// The per-queue limit.
    pub threshold: u64,
    /// Queues above the threshold, with their depth.
    pub over_threshold: Vec<(String, u64)>,
    /// Engine queues without any consumer.
    pub without_consumers: Vec<String>,
}

impl AbnormalBacklog {
    fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .over_threshold
            .iter()
            .map(|(name, messages)| {
                format!(
                    "{name} holds {} (threshold {})",
                    plural(*messages, "message"),
                    group(self.threshold)
                )
            })
            .collect();
        parts.extend(
            self.without_consumers
                .iter()
                .map(|name| format!("{name} has no consumer")),
        );
        parts.join("; ")
    }
}

/// Checks that no engine queue holds more than `threshold` messages and that every one has a
/// consumer. `queues` are the engine queues only.
pub fn preflight_check(
    queues: &BTreeMap<String, QueueSample>,
    threshold: u64,
) -> Result<(), AbnormalBacklog> {
    let over_threshold: Vec<_> = queues
        .iter()
        .filter(|(_, q)| q.messages > threshold)
        .map(|(name, q)| (name.clone(), q.messages))
        .collect();
    let without_consumers: Vec<_> = queues
        .iter()
        .filter(|(_, q)| q.consumers == 0)
        .map(|(name, _)| name.clone())
        .collect();
    if over_threshold.is_empty() && without_consumers.is_empty() {
        Ok(())
    } else {
        Err(AbnormalBacklog {
            threshold,
            over_threshold,
            without_consumers,
        })
    }
}

/// Decides how long to wait before the next poll: the shortest interval while the figures
/// change or a verdict is being confirmed, then longer and longer (by `growth`, up to `max`)
/// while nothing changes.
#[derive(Debug, Clone)]
pub struct PollPlan {
    min: Duration,
    max: Duration,
    growth: f64,
    steady_band: u64,
    current: Duration,
    last: Option<(VerdictKind, u64)>,
}

impl Default for PollPlan {
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(5))
    }
}

impl PollPlan {
    /// From `min` (while changing) up to `max` (while steady), doubling.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            growth: 2.0,
            steady_band: 10,
            current: min,
            last: None,
        }
    }

    /// A change of the backlog by at most `band` messages between two polls counts as steady.
    pub fn with_steady_band(mut self, band: u64) -> Self {
        self.steady_band = band;
        self
    }

    /// The factor applied to the interval after each steady poll (at least 1).
    pub fn with_growth(mut self, growth: f64) -> Self {
        self.growth = if growth.is_finite() {
            growth.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The shortest interval.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest interval.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The interval decided last.
    pub fn interval(&self) -> Duration {
        self.current
    }

    /// The interval until the next poll, after `verdict`.
    pub fn next_interval(&mut self, verdict: &Verdict) -> Duration {
        let kind = verdict.kind();
        let left = verdict.left();
        let settling = matches!(verdict, Verdict::Draining { held, .. } if *held > 0);
        let changing = match self.last {
            None => true,
            Some((last_kind, last_left)) => {
                last_kind != kind || last_left.abs_diff(left) > self.steady_band
            }
        };
        self.last = Some((kind, left));
        self.current = if changing || settling {
            self.min
        } else {
            self.current.mul_f64(self.growth).min(self.max)
        };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINE: [&str; 5] = [
        "Engine_fifo",
        "Engine_che",
        "Engine_axe",
        "Engine_action",
        "FIFO_ack",
    ];

    fn figures(messages: u64, consumers: u32) -> QueueSample {
        QueueSample {
            messages,
            consumers,
        }
    }

    /// Every engine queue at (10 messages, 1 consumer), as before the stop.
    fn baseline() -> Baseline {
        Baseline {
            queues: ENGINE
                .iter()
                .map(|n| (n.to_string(), figures(10, 1)))
                .collect(),
        }
    }

    /// Engine_fifo at `fifo` with `consumers` on every queue, the others at their baseline.
    fn sample(at_ms: u64, fifo: u64, consumers: u32) -> Sample {
        let mut queues: BTreeMap<String, QueueSample> = ENGINE
            .iter()
            .map(|n| (n.to_string(), figures(10, consumers)))
            .collect();
        queues.insert("Engine_fifo".into(), figures(fifo, consumers));
        Sample {
            at: Duration::from_millis(at_ms),
            queues,
        }
    }

    fn settings() -> DrainCriteria {
        DrainCriteria {
            tolerance: Tolerance {
                absolute: 100,
                relative: 0.1,
            },
            hold_samples: 3,
            timeout: Duration::from_secs(600),
            rate_window: Duration::from_secs(2),
            abnormal_backlog: 10_000,
        }
    }

    #[test]
    fn a_synthetic_outage_drains_then_is_normal_after_exactly_hold_samples() {
        let mut monitor = DrainMonitor::new(baseline(), settings());
        let mut at = 0;
        // The outage: consumers gone, the backlog grows to 50 000 (300/s... sped up).
        let mut fifo = 10;
        while fifo < 50_000 {
            fifo = (fifo + 5_000).min(50_000);
            let verdict = monitor.observe(sample(at, fifo, 0));
            match verdict {
                Verdict::WaitingForConsumers {
                    ref queues, left, ..
                } => {
                    assert_eq!(queues.len(), 5);
                    assert_eq!(left, fifo - 10);
                }
                other => panic!("expected waiting, got {other:?}"),
            }
            at += 500;
        }
        assert_eq!(monitor.peak(), 49_990);
        // The engines are back and drain 2 000/s: 1 000 per half-second sample.
        let restart_at = at;
        let mut draining_samples = 0;
        let mut within = Vec::new();
        loop {
            let verdict = monitor.observe(sample(at, fifo, 1));
            if fifo - 10 <= 100 {
                within.push(at);
            }
            match verdict {
                Verdict::Draining {
                    left,
                    rate_per_s,
                    eta,
                    held,
                } => {
                    draining_samples += 1;
                    assert_eq!(left, fifo - 10);
                    assert_eq!(held as usize, within.len());
                    // Once the smoothing forgot the outage (+10 000/s) and caught up, the ETA is sane.
                    if draining_samples > 25 && left > 1_000 {
                        assert!((rate_per_s + 2_000.0).abs() < 50.0, "rate {rate_per_s}");
                        let expected = left as f64 / 2_000.0;
                        let eta = eta.expect("an ETA while draining").as_secs_f64();
                        assert!((eta - expected).abs() < 0.1 * expected + 0.1, "eta {eta}");
                    }
                }
                Verdict::Normal { drain_time, peak } => {
                    assert_eq!(within.len(), 3, "normal after exactly `hold` samples");
                    assert_eq!(peak, 49_990);
                    assert_eq!(drain_time, Duration::from_millis(at - restart_at));
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
            fifo = fifo.saturating_sub(1_000).max(12);
            at += 500;
        }
        let rate = monitor.mean_drain_rate().unwrap();
        assert!(rate > 1_900.0 && rate < 2_100.0, "mean drain rate {rate}");
        // Final: later samples, even bad ones, change nothing.
        let after = monitor.observe(sample(at + 500, 40_000, 0));
        assert!(matches!(after, Verdict::Normal { .. }));
        assert!(monitor
            .status_line()
            .starts_with("back to normal: drained in"));
    }

    #[test]
    fn a_consumer_that_never_comes_back_is_stuck_after_the_timeout() {
        let settings = DrainCriteria {
            timeout: Duration::from_secs(10),
            ..settings()
        };
        let mut monitor = DrainMonitor::new(baseline(), settings);
        let mut at = 0;
        loop {
            let mut s = sample(at, 10, 1);
            s.queues.insert("Engine_axe".into(), figures(4_321, 0));
            let verdict = monitor.observe(s);
            if at < 10_000 {
                assert_eq!(
                    verdict,
                    Verdict::WaitingForConsumers {
                        queues: vec!["Engine_axe".into()],
                        left: 4_311,
                        rate_per_s: 0.0
                    }
                );
            } else {
                assert_eq!(
                    verdict,
                    Verdict::Stuck {
                        queues: vec![StuckQueue {
                            name: "Engine_axe".into(),
                            messages: 4_321,
                            consumers: 0,
                            missing: false
                        }]
                    }
                );
                assert_eq!(
                    verdict.to_string(),
                    "stuck: Engine_axe 4 321 messages, 0 consumers"
                );
                break;
            }
            at += 1_000;
        }
    }

    #[test]
    fn a_missing_queue_is_waited_for_then_reported_missing() {
        let settings = DrainCriteria {
            timeout: Duration::from_secs(2),
            ..settings()
        };
        let mut monitor = DrainMonitor::new(baseline(), settings);
        let mut s = sample(0, 10, 1);
        s.queues.remove("Engine_che");
        let verdict = monitor.observe(s.clone());
        assert!(
            matches!(verdict, Verdict::WaitingForConsumers { ref queues, .. } if queues == &["Engine_che"])
        );
        s.at = Duration::from_secs(2);
        let verdict = monitor.observe(s);
        assert_eq!(verdict.to_string(), "stuck: Engine_che (missing)");
    }

    #[test]
    fn fewer_consumers_than_the_baseline_is_not_normal() {
        let mut base = baseline();
        base.queues.insert("Engine_che".into(), figures(10, 2));
        let mut monitor = DrainMonitor::new(base, settings());
        for i in 0..10 {
            let mut s = sample(i * 500, 10, 1);
            s.queues.insert("Engine_che".into(), figures(10, 1));
            let verdict = monitor.observe(s);
            assert!(
                matches!(verdict, Verdict::Draining { held: 0, .. }),
                "{verdict:?}"
            );
        }
    }

    #[test]
    fn noise_around_the_baseline_does_not_flap() {
        let mut monitor = DrainMonitor::new(baseline(), settings());
        // Within tolerance (10 + up to 100), the hold builds up; one excursion above resets it.
        let depths = [60, 110, 5, 111, 70, 30, 95];
        let mut verdicts = Vec::new();
        for (i, depth) in depths.iter().enumerate() {
            verdicts.push(monitor.observe(sample(i as u64 * 500, *depth, 1)));
        }
        let helds: Vec<_> = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Draining { held, .. } => Some(*held),
                _ => None,
            })
            .collect();
        assert_eq!(helds, [Some(1), Some(2), None, None, None, None, None]);
        // Spelled out: 60 ok(1), 110 ok(2), 5 ok(3) -> Normal.
        assert!(matches!(verdicts[2], Verdict::Normal { .. }));
        // Once normal, noise above the tolerance does not flip it back.
        assert!(verdicts[3..]
            .iter()
            .all(|v| matches!(v, Verdict::Normal { .. })));
    }

    #[test]
    fn an_excursion_above_the_tolerance_resets_the_hold() {
        let mut monitor = DrainMonitor::new(baseline(), settings());
        let depths = [60, 110, 111, 70, 30, 95];
        let verdicts: Vec<_> = depths
            .iter()
            .enumerate()
            .map(|(i, d)| monitor.observe(sample(i as u64 * 500, *d, 1)))
            .collect();
        let helds: Vec<_> = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Draining { held, .. } => *held,
                Verdict::Normal { .. } => u32::MAX,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(helds, [1, 2, 0, 1, 2, u32::MAX]);
    }

    #[test]
    fn the_rate_is_smoothed_over_time_not_over_samples() {
        let base = Baseline {
            queues: [("Engine_fifo".to_owned(), figures(0, 1))].into(),
        };
        let one = |at_ms: u64, messages: u64| Sample {
            at: Duration::from_millis(at_ms),
            queues: [("Engine_fifo".to_owned(), figures(messages, 1))].into(),
        };
        let settings = DrainCriteria {
            hold_samples: 1_000,
            ..settings()
        };
        // A steady -1 000/s with jitter of +-300 messages per sample.
        let mut monitor = DrainMonitor::new(base.clone(), settings);
        let mut depth = 100_000i64;
        let mut worst_late = 0.0f64;
        for i in 0..60u64 {
            let jitter = if i % 2 == 0 { 300 } else { -300 };
            monitor.observe(one(i * 500, (depth + jitter) as u64));
            depth -= 500;
            if i > 20 {
                worst_late = worst_late.max((monitor.rate_per_s().unwrap() + 1_000.0).abs());
            }
        }
        // Raw rates swing by +-1 200/s around -1 000; the smoothed one stays close.
        assert!(worst_late < 400.0, "smoothed rate strays by {worst_late}");

        // A step from 0 to -2 000/s: after one time constant (2 s) about 63 % of the way,
        // whether sampled every 0.25 s or every 1 s.
        for step_ms in [250u64, 1_000] {
            let mut monitor = DrainMonitor::new(base.clone(), settings);
            let mut at = 0;
            for _ in 0..5 {
                monitor.observe(one(at, 50_000));
                at += step_ms;
            }
            let mut depth = 50_000;
            let end = at + 2_000;
            while at < end {
                at += step_ms;
                depth -= 2 * step_ms;
                monitor.observe(one(at, depth));
            }
            let rate = monitor.rate_per_s().unwrap();
            assert!(
                (-1_500.0..-1_000.0).contains(&rate),
                "step {step_ms} ms: rate {rate}"
            );
        }
    }

    #[test]
    fn zero_baseline() {
        let base = Baseline {
            queues: [
                ("Engine_fifo".to_owned(), figures(0, 1)),
                ("Engine_idle".to_owned(), figures(0, 0)),
            ]
            .into(),
        };
        // Only a relative tolerance: 10 % of nothing is nothing, the queue must be empty.
        let settings = DrainCriteria {
            tolerance: Tolerance {
                absolute: 0,
                relative: 0.1,
            },
            hold_samples: 2,
            ..settings()
        };
        let mut monitor = DrainMonitor::new(base, settings);
        let s = |at: u64, fifo: u64| Sample {
            at: Duration::from_secs(at),
            queues: [
                ("Engine_fifo".to_owned(), figures(fifo, 1)),
                ("Engine_idle".to_owned(), figures(0, 0)),
            ]
            .into(),
        };
        assert!(matches!(
            monitor.observe(s(0, 1)),
            Verdict::Draining {
                left: 1,
                held: 0,
                ..
            }
        ));
        assert!(matches!(
            monitor.observe(s(1, 0)),
            Verdict::Draining {
                left: 0,
                held: 1,
                eta: Some(Duration::ZERO),
                ..
            }
        ));
        // The idle queue never had consumers: it is not waited for.
        assert_eq!(
            monitor.observe(s(2, 0)),
            Verdict::Normal {
                drain_time: Duration::from_secs(2),
                peak: 1
            }
        );
    }

    #[test]
    fn a_queue_unknown_to_the_baseline_counts_from_zero() {
        let mut monitor = DrainMonitor::new(baseline(), settings());
        let mut s = sample(0, 10, 1);
        s.queues.insert("Engine_new".into(), figures(500, 1));
        assert!(matches!(
            monitor.observe(s),
            Verdict::Draining {
                left: 500,
                held: 0,
                ..
            }
        ));
    }

    #[test]
    fn the_timeout_waits_for_a_hold_in_progress() {
        let settings = DrainCriteria {
            timeout: Duration::from_secs(1),
            ..settings()
        };
        let mut monitor = DrainMonitor::new(baseline(), settings);
        monitor.observe(sample(0, 5_000, 1));
        assert!(matches!(
            monitor.observe(sample(900, 20, 1)),
            Verdict::Draining { held: 1, .. }
        ));
        assert!(matches!(
            monitor.observe(sample(1_200, 20, 1)),
            Verdict::Draining { held: 2, .. }
        ));
        assert!(matches!(
            monitor.observe(sample(1_500, 20, 1)),
            Verdict::Normal { .. }
        ));
    }

    #[test]
    fn status_lines() {
        let draining = Verdict::Draining {
            left: 12_345,
            rate_per_s: -2_100.2,
            eta: Some(Duration::from_millis(5_900)),
            held: 0,
        };
        assert_eq!(
            draining.to_string(),
            "draining: 12 345 messages left, -2 100/s, ETA 6 s"
        );
        let growing = Verdict::Draining {
            left: 1,
            rate_per_s: 0.4,
            eta: None,
            held: 0,
        };
        assert_eq!(
            growing.to_string(),
            "draining: 1 message left, +0.4/s, ETA unknown"
        );
        let waiting = Verdict::WaitingForConsumers {
            queues: vec!["Engine_che".into(), "Engine_axe".into()],
            left: 1_500,
            rate_per_s: 300.0,
        };
        assert_eq!(
            waiting.to_string(),
            "waiting for consumers on Engine_che, Engine_axe: 1 500 messages left, +300/s"
        );
        let normal = Verdict::Normal {
            drain_time: Duration::from_secs(125),
            peak: 49_990,
        };
        assert_eq!(
            normal.to_string(),
            "back to normal: drained in 2 min 5 s (peak backlog 49 990 messages)"
        );

        let mut monitor = DrainMonitor::new(baseline(), settings());
        assert_eq!(monitor.status_line(), "waiting for the first sample");
        monitor.observe(sample(0, 20, 1));
        assert!(
            monitor.status_line().ends_with(", within tolerance 1/3"),
            "{}",
            monitor.status_line()
        );
    }

    #[test]
    fn tolerance_takes_the_larger_allowance() {
        let t = Tolerance {
            absolute: 100,
            relative: 0.1,
        };
        assert_eq!(t.allowed(0), 100);
        assert_eq!(t.allowed(5_000), 500);
        let relative_only = Tolerance {
            absolute: 0,
            relative: 0.1,
        };
        assert_eq!(relative_only.allowed(15), 2);
    }

    #[test]
    fn preflight() {
        let mut queues: BTreeMap<String, QueueSample> = ENGINE
            .iter()
            .map(|n| (n.to_string(), figures(3, 1)))
            .collect();
        assert_eq!(preflight_check(&queues, 10_000), Ok(()));
        queues.insert("Engine_axe".into(), figures(12_000, 1));
        queues.insert("Engine_che".into(), figures(0, 0));
        let err = preflight_check(&queues, 10_000).unwrap_err();
        assert_eq!(err.over_threshold, [("Engine_axe".to_owned(), 12_000)]);
        assert_eq!(err.without_consumers, ["Engine_che"]);
        assert_eq!(
            err.to_string(),
            "abnormal backlog before the upgrade: Engine_axe holds 12 000 messages \
             (threshold 10 000); Engine_che has no consumer"
        );
    }

    fn draining(left: u64, held: u32) -> Verdict {
        Verdict::Draining {
            left,
            rate_per_s: 0.0,
            eta: None,
            held,
        }
    }

    #[test]
    fn polling_is_fast_while_changing_and_slows_down_when_steady() {
        let mut plan = PollPlan::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(plan.next_interval(&draining(5_000, 0))), 500);
        assert_eq!(ms(plan.next_interval(&draining(4_000, 0))), 500);
        // Steady (within the band): 1 s, 2 s, 4 s, 5 s, 5 s.
        let steady: Vec<_> = [4_005, 4_000, 3_995, 4_002, 4_001]
            .iter()
            .map(|l| ms(plan.next_interval(&draining(*l, 0))))
            .collect();
        assert_eq!(steady, [1_000, 2_000, 4_000, 5_000, 5_000]);
        // It moves again: back to the shortest at once.
        assert_eq!(ms(plan.next_interval(&draining(3_000, 0))), 500);
        // A change of verdict kind counts as a change.
        plan.next_interval(&draining(3_000, 0));
        assert_eq!(ms(plan.interval()), 1_000);
        let waiting = Verdict::WaitingForConsumers {
            queues: vec!["Engine_che".into()],
            left: 3_000,
            rate_per_s: 0.0,
        };
        assert_eq!(ms(plan.next_interval(&waiting)), 500);
        // Confirming a return to normal is never slowed down.
        plan.next_interval(&draining(50, 1));
        assert_eq!(ms(plan.next_interval(&draining(50, 2))), 500);
    }

    #[test]
    fn the_poll_interval_stays_within_bounds() {
        let mut plan = PollPlan::new(Duration::from_millis(200), Duration::from_secs(3))
            .with_growth(3.0)
            .with_steady_band(0);
        let mut seen = Vec::new();
        for _ in 0..10 {
            seen.push(plan.next_interval(&draining(7, 0)));
        }
        assert!(seen.iter().all(|d| *d >= plan.min() && *d <= plan.max()));
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(3));
        assert_eq!(seen[1], Duration::from_millis(600));
    }

    #[test]
    fn criteria_come_from_the_rabbitmq_section() {
        let s = crate::config::Settings::from_sources(&[crate::config::Source {
            file: "/etc/canopsis-upgrade/config.toml".into(),
            text: "[rabbitmq]\ntolerance = 7\ntolerance_ratio = 0.5\nhold = 4\n\
                   drain_timeout = \"90s\"\nabnormal_backlog = 123\n"
                .into(),
        }])
        .unwrap();
        let c = DrainCriteria::from_config(&s.rabbitmq);
        assert_eq!(c.abnormal_backlog, 123);
        assert_eq!(c.tolerance.absolute, 7);
        assert_eq!(c.tolerance.relative, 0.5);
        assert_eq!(c.hold_samples, 4);
        assert_eq!(c.timeout, Duration::from_secs(90));
    }
}
