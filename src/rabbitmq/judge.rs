//! The baseline a watch starts from, and the verdicts of a watch that keeps running (the
//! `monitor` command): pure, over the [`DrainMonitor`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::drain::{
    Baseline, DrainCriteria, DrainMonitor, QueueSample, Sample, Verdict, VerdictKind,
};
use crate::support::format::{group, plural};

/// A queue whose figures at start were not taken as its baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    /// The queue.
    pub queue: String,
    /// Why: what its figures were.
    pub reason: String,
}

/// The baseline from the figures at start. Unless `as_is`, a queue without consumer or with
/// more than `abnormal_backlog` messages is assumed normally empty with (at least) one
/// consumer, and listed.
pub fn initial_baseline(
    figures: &BTreeMap<String, QueueSample>,
    as_is: bool,
    abnormal_backlog: u64,
) -> (Baseline, Vec<Assumed>) {
    let mut assumed = Vec::new();
    let queues = figures
        .iter()
        .map(|(name, q)| {
            let mut reasons = Vec::new();
            if !as_is && q.consumers == 0 {
                reasons.push("no consumer".to_owned());
            }
            if !as_is && q.messages > abnormal_backlog {
                reasons.push(format!(
                    "{} (more than {})",
                    plural(q.messages, "message"),
                    group(abnormal_backlog)
                ));
            }
            if reasons.is_empty() {
                return (name.clone(), *q);
            }
            assumed.push(Assumed {
                queue: name.clone(),
                reason: reasons.join(", "),
            });
            (
                name.clone(),
                QueueSample {
                    messages: 0,
                    consumers: q.consumers.max(1),
                },
            )
        })
        .collect();
    (Baseline { queues }, assumed)
}

/// The verdicts of a watch that goes on after a final verdict (`monitor`): a [`DrainMonitor`]
/// whose final verdict stands while the samples agree with it, and that watches a new drain
/// (same baseline) once they do not.
#[derive(Debug, Clone)]
pub struct DrainJudge {
    baseline: Baseline,
    criteria: DrainCriteria,
    monitor: DrainMonitor,
    /// Whether a sample has been off the baseline yet.
    departed: bool,
}

impl DrainJudge {
    /// Judges samples against `baseline`; `departed` when the figures at start are already off
    /// it (then a return to normal counts at once).
    pub fn new(baseline: Baseline, criteria: DrainCriteria, departed: bool) -> Self {
        Self {
            monitor: DrainMonitor::new(baseline.clone(), criteria),
            baseline,
            criteria,
            departed,
        }
    }

    /// Whether a sample has been off the baseline yet (a return to normal means something only
    /// after a departure).
    pub fn departed(&self) -> bool {
        self.departed
    }

    /// This sample alone: Normal, or Stuck with the queues off their baseline now.
    fn probe(&self, sample: &Sample) -> Verdict {
        let criteria = DrainCriteria {
            hold_samples: 1,
            timeout: Duration::ZERO,
            ..self.criteria
        };
        DrainMonitor::new(self.baseline.clone(), criteria).observe(sample.clone())
    }

    /// The verdict after `sample`.
    pub fn observe(&mut self, sample: Sample) -> Verdict {
        let probe = self.probe(&sample);
        let normal_now = probe.kind() == VerdictKind::Normal;
        self.departed |= !normal_now;
        match self.monitor.verdict() {
            Some(kept @ Verdict::Normal { .. }) if normal_now => kept.clone(),
            Some(Verdict::Stuck { .. }) if !normal_now => probe,
            Some(v) if v.is_final() => {
                self.monitor = DrainMonitor::new(self.baseline.clone(), self.criteria);
                self.monitor.observe(sample)
            }
            _ => self.monitor.observe(sample),
        }
    }

    /// Consecutive normal samples a normal verdict needs.
    pub fn hold_samples(&self) -> u32 {
        self.monitor.criteria().hold_samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rabbitmq::Tolerance;

    fn q(messages: u64, consumers: u32) -> QueueSample {
        QueueSample {
            messages,
            consumers,
        }
    }

    #[test]
    fn the_baseline_assumes_normal_figures_for_queues_that_look_like_an_outage() {
        let figures: BTreeMap<String, QueueSample> = [
            ("Engine_action".to_owned(), q(5, 1)),
            ("Engine_axe".to_owned(), q(20_000, 2)),
            ("Engine_fifo".to_owned(), q(700, 0)),
        ]
        .into();
        let (baseline, assumed) = initial_baseline(&figures, false, 10_000);
        assert_eq!(baseline.queues["Engine_action"], q(5, 1));
        assert_eq!(baseline.queues["Engine_axe"], q(0, 2));
        assert_eq!(baseline.queues["Engine_fifo"], q(0, 1));
        assert_eq!(
            assumed,
            [
                Assumed {
                    queue: "Engine_axe".into(),
                    reason: "20 000 messages (more than 10 000)".into()
                },
                Assumed {
                    queue: "Engine_fifo".into(),
                    reason: "no consumer".into()
                },
            ]
        );
        let (as_is, none) = initial_baseline(&figures, true, 10_000);
        assert_eq!(as_is.queues, figures);
        assert!(none.is_empty());
    }

    fn sample(at_ms: u64, fifo: u64, consumers: u32) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            queues: [
                ("Engine_fifo".to_owned(), q(fifo, consumers)),
                ("Engine_che".to_owned(), q(0, consumers)),
            ]
            .into(),
        }
    }

    fn judge_criteria() -> DrainCriteria {
        DrainCriteria {
            tolerance: Tolerance {
                absolute: 10,
                relative: 0.0,
            },
            hold_samples: 2,
            timeout: Duration::from_secs(5),
            rate_window: Duration::from_secs(1),
            ..DrainCriteria::default()
        }
    }

    #[test]
    fn a_running_monitor_watches_each_outage_and_its_drain() {
        let baseline = Baseline {
            queues: sample(0, 0, 1).queues,
        };
        let mut judge = DrainJudge::new(baseline, judge_criteria(), false);
        let kinds: Vec<VerdictKind> = [
            sample(0, 0, 1),
            sample(500, 0, 1),
            sample(1_000, 5, 1),
            // The engines stop: a new drain is watched.
            sample(1_500, 300, 0),
            sample(2_000, 600, 0),
            sample(2_500, 600, 1),
            sample(3_000, 0, 1),
            sample(3_500, 0, 1),
        ]
        .into_iter()
        .map(|s| judge.observe(s).kind())
        .collect();
        use VerdictKind::*;
        assert_eq!(
            kinds,
            [
                Draining,
                Normal,
                Normal,
                WaitingForConsumers,
                WaitingForConsumers,
                Draining,
                Draining,
                Normal
            ]
        );
        assert!(judge.departed());
        match judge.observe(sample(4_000, 0, 1)) {
            Verdict::Normal { peak, drain_time } => {
                assert_eq!(peak, 600);
                assert_eq!(drain_time, Duration::from_millis(1_000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stuck_verdict_follows_the_figures_and_clears_when_they_recover() {
        let baseline = Baseline {
            queues: sample(0, 0, 1).queues,
        };
        let mut judge = DrainJudge::new(baseline, judge_criteria(), true);
        judge.observe(sample(0, 500, 0));
        let stuck = judge.observe(sample(5_000, 400, 0));
        assert_eq!(
            stuck.to_string(),
            "stuck: Engine_che 0 messages, 0 consumers; Engine_fifo 400 messages, 0 consumers"
        );
        let later = judge.observe(sample(6_000, 300, 0));
        assert!(
            later.to_string().contains("Engine_fifo 300 messages"),
            "{later}"
        );
        // Back: a new drain, then normal.
        assert_eq!(
            judge.observe(sample(7_000, 0, 1)).kind(),
            VerdictKind::Draining
        );
        assert_eq!(
            judge.observe(sample(7_500, 0, 1)).kind(),
            VerdictKind::Normal
        );
    }
}
