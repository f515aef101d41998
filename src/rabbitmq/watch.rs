//! The drain watch: finds the engine queues through the management API, polls their live
//! figures (with the [`Poller`]) on the [`PollPlan`]'s schedule, feeds the [`DrainMonitor`] and
//! reports a status line per sample, until the verdict. A broker that goes away is retried
//! within a budget, then given up on; every await is under a timeout, so it never hangs.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use tokio::time::Instant;

use super::drain::{
    preflight_check, AbnormalBacklog, Baseline, DrainMonitor, PollPlan, QueueSample, Sample,
    StuckQueue, Verdict,
};
use super::live::{LiveCounter, LiveError};
use super::management::{Management, ManagementError, QueueInfo};
use super::poller::{BrokerEvent, PollEnd, Poller};
use crate::support::format::format_duration;

/// Which queues of the vhost are engine queues: durable ones whose names start with one of the
/// prefixes (exclusive and auto-delete queues die with their connection and are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSelection {
    /// Name prefixes, e.g. `Engine_` and `FIFO_`.
    pub prefixes: Vec<String>,
}

impl Default for QueueSelection {
    fn default() -> Self {
        Self {
            prefixes: vec!["Engine_".into(), "FIFO_".into()],
        }
    }
}

impl QueueSelection {
    /// Whether `queue` is an engine queue.
    pub fn selects(&self, queue: &QueueInfo) -> bool {
        !queue.is_transient() && self.prefixes.iter().any(|p| queue.name.starts_with(p))
    }

    /// The names of the engine queues among `queues`, sorted.
    pub fn engine_queues(&self, queues: &[QueueInfo]) -> Vec<String> {
        let mut names: Vec<String> = queues
            .iter()
            .filter(|q| self.selects(q))
            .map(|q| q.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Where and how to watch.
#[derive(Clone)]
pub struct WatchTarget {
    /// `amqp://user:password@host:5672/vhost` for the live counts.
    pub amqp_url: String,
    /// The vhost, as the management API names it (`canopsis`).
    pub vhost: String,
    /// Which queues are engine queues.
    pub selection: QueueSelection,
    /// How long one poll (connection included) may take.
    pub request_timeout: Duration,
    /// How long the broker may stay unreachable, from the start of the first failed poll,
    /// before the watch gives up (no attempt runs past it).
    pub retry_budget: Duration,
    /// How often to retry while it is unreachable.
    pub retry_every: Duration,
}

// The AMQP URL holds a password: Debug shows it redacted.
impl std::fmt::Debug for WatchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchTarget")
            .field("amqp_url", &crate::support::url::redact_url(&self.amqp_url))
            .field("vhost", &self.vhost)
            .field("selection", &self.selection)
            .field("request_timeout", &self.request_timeout)
            .field("retry_budget", &self.retry_budget)
            .field("retry_every", &self.retry_every)
            .finish()
    }
}

impl WatchTarget {
    /// The default selection, 5 s per request, retrying every second for up to 2 minutes.
    pub fn new(amqp_url: impl Into<String>, vhost: impl Into<String>) -> Self {
        Self {
            amqp_url: amqp_url.into(),
            vhost: vhost.into(),
            selection: QueueSelection::default(),
            request_timeout: Duration::from_secs(5),
            retry_budget: Duration::from_secs(120),
            retry_every: Duration::from_secs(1),
        }
    }
}

/// What the watch measured, once back to normal.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainReport {
    /// The largest backlog seen (messages above the baseline, summed over engine queues).
    pub peak: u64,
    /// From the engines' return (all consumers back) to the verdict.
    pub drain_time: Duration,
    /// The mean net drain rate, messages per second, when measurable.
    pub rate: Option<f64>,
    /// Samples taken.
    pub samples: u64,
    /// Requests sent to the broker (AMQP connections and declares, management calls).
    pub requests: u64,
    /// Requests per minute over the watch.
    pub requests_per_minute: f64,
    /// How long the watch lasted.
    pub watched: Duration,
    /// How many times the broker became unreachable.
    pub outages: u32,
}

/// Why the watch ended without a return to normal.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The management API failed.
    #[error(transparent)]
    Management(#[from] ManagementError),
    /// A live count failed (outside the watch loop, which retries).
    #[error(transparent)]
    Live(#[from] LiveError),
    /// No queue to watch.
    #[error("no engine queue in vhost {vhost:?} (names starting with {})", prefixes.join(" or "))]
    NoEngineQueues {
        /// The vhost.
        vhost: String,
        /// The prefixes looked for.
        prefixes: Vec<String>,
    },
    /// The broker stayed unreachable for the whole retry budget.
    #[error("RabbitMQ unreachable for {} (retry budget {}): {last}", format_duration(*down), format_duration(*budget))]
    BrokerLost {
        /// How long it was unreachable.
        down: Duration,
        /// The budget.
        budget: Duration,
        /// The last error.
        last: String,
    },
    /// Queues did not return to normal before the monitor's timeout.
    #[error("the backlog did not drain: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Stuck(Vec<StuckQueue>),
    /// The management API did not list the queues in time.
    #[error("RabbitMQ management API: no list of queues within {}", format_duration(*after))]
    DiscoveryTimeout {
        /// How long it was given.
        after: Duration,
    },
    /// The deadline passed before any verdict.
    #[error("no drain verdict after {} (deadline); last: {last}", format_duration(*elapsed))]
    Deadline {
        /// How long the watch ran.
        elapsed: Duration,
        /// The last status line.
        last: String,
    },
    /// The backlog is abnormal before the upgrade.
    #[error(transparent)]
    Abnormal(#[from] AbnormalBacklog),
}

/// Watches the engine queues of one vhost.
#[derive(Debug, Clone)]
pub struct Watcher {
    management: Management,
    target: WatchTarget,
}

impl Watcher {
    /// A watcher using `management` for discovery and `target` for live counts.
    pub fn new(management: Management, target: WatchTarget) -> Self {
        Self { management, target }
    }

    /// Its target.
    pub fn target(&self) -> &WatchTarget {
        &self.target
    }

    /// The engine queues of the vhost, from the management API.
    pub async fn engine_queues(&self) -> Result<Vec<String>, WatchError> {
        let queues = self.management.queues(&self.target.vhost).await?;
        let names = self.target.selection.engine_queues(&queues);
        if names.is_empty() {
            return Err(self.no_queues());
        }
        Ok(names)
    }

    fn no_queues(&self) -> WatchError {
        WatchError::NoEngineQueues {
            vhost: self.target.vhost.clone(),
            prefixes: self.target.selection.prefixes.clone(),
        }
    }

    /// The live figures of every engine queue now.
    pub async fn live_counts(&self) -> Result<BTreeMap<String, QueueSample>, WatchError> {
        let queues = self.engine_queues().await?;
        let mut counter =
            LiveCounter::connect(&self.target.amqp_url, self.target.request_timeout).await?;
        let figures = counter.count_all(&queues).await;
        counter.close().await;
        Ok(figures?)
    }

    /// The baseline, to take just before the engines stop.
    pub async fn baseline(&self) -> Result<Baseline, WatchError> {
        Ok(Baseline {
            queues: self.live_counts().await?,
        })
    }

    /// Fails when an engine queue holds more than `threshold` messages or has no consumer.
    pub async fn preflight(&self, threshold: u64) -> Result<(), WatchError> {
        Ok(preflight_check(&self.live_counts().await?, threshold)?)
    }

    /// Watches until the monitor's verdict is final or `deadline` passes. The engine queues are
    /// the baseline's plus any the management API lists now. `on_status` gets a line per
    /// sample and per change of the broker's reachability.
    pub async fn watch_drain(
        &self,
        mut monitor: DrainMonitor,
        mut plan: PollPlan,
        mut on_status: impl FnMut(&str),
        deadline: Instant,
    ) -> Result<DrainReport, WatchError> {
        let start = Instant::now();
        let queues = self
            .drain_queues(monitor.baseline(), deadline, &mut on_status)
            .await?;
        let mut poller = Poller::new(self, queues).with_deadline(deadline);
        let mut next = start;
        loop {
            let mut tell = |event: BrokerEvent| {
                on_status(&event.to_string());
                Ok::<(), Infallible>(())
            };
            let (round, figures) = match poller.next_sample(next, &mut tell).await {
                Ok(sample) => sample,
                Err(end) => return Err(watch_ended(end, start, &monitor)),
            };
            let verdict = monitor.observe(Sample {
                at: round - start,
                queues: figures,
            });
            on_status(&monitor.status_line());
            match verdict {
                Verdict::Normal { drain_time, .. } => {
                    // The discovery, then the poller's.
                    let requests = 1 + poller.requests();
                    let outages = poller.outages();
                    poller.close().await;
                    let report = DrainReport::new(&monitor, start.elapsed(), requests, outages);
                    return Ok(DrainReport {
                        drain_time,
                        ..report
                    });
                }
                Verdict::Stuck { queues } => {
                    poller.close().await;
                    return Err(WatchError::Stuck(queues));
                }
                _ => next = round + plan.next_interval(&verdict),
            }
        }
    }

    /// The baseline's queues and those the management API lists now (a failed listing is
    /// told, and the baseline's are watched).
    async fn drain_queues(
        &self,
        baseline: &Baseline,
        deadline: Instant,
        on_status: &mut impl FnMut(&str),
    ) -> Result<Vec<String>, WatchError> {
        let target = &self.target;
        let mut queues: Vec<String> = baseline.queues.keys().cloned().collect();
        match tokio::time::timeout_at(deadline, self.management.queues(&target.vhost)).await {
            Ok(Ok(listed)) => queues.extend(target.selection.engine_queues(&listed)),
            Ok(Err(e)) => on_status(&format!(
                "queue discovery failed, watching the baseline's queues: {e}"
            )),
            Err(_) => on_status("queue discovery: no answer before the deadline"),
        }
        queues.sort();
        queues.dedup();
        if queues.is_empty() {
            return Err(self.no_queues());
        }
        Ok(queues)
    }
}

/// The error of a watch that the poller ended.
fn watch_ended(end: PollEnd<Infallible>, start: Instant, monitor: &DrainMonitor) -> WatchError {
    match end {
        PollEnd::BrokerLost { down, budget, last } => WatchError::BrokerLost { down, budget, last },
        PollEnd::DeadlinePassed { outage } => WatchError::Deadline {
            elapsed: start.elapsed(),
            last: outage.unwrap_or_else(|| monitor.status_line()),
        },
        PollEnd::Observer(never) => match never {},
    }
}

impl DrainReport {
    /// The report of `monitor` once normal (its drain time aside), after `watched`.
    fn new(monitor: &DrainMonitor, watched: Duration, requests: u64, outages: u32) -> Self {
        let minutes = watched.as_secs_f64() / 60.0;
        Self {
            peak: monitor.peak(),
            drain_time: Duration::ZERO,
            rate: monitor.mean_drain_rate(),
            samples: monitor.samples(),
            requests,
            requests_per_minute: if minutes > 0.0 {
                requests as f64 / minutes
            } else {
                0.0
            },
            watched,
            outages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(name: &str, exclusive: bool, auto_delete: bool) -> QueueInfo {
        QueueInfo {
            name: name.into(),
            exclusive: Some(exclusive),
            auto_delete: Some(auto_delete),
            ..QueueInfo::default()
        }
    }

    #[test]
    fn engine_queues_are_selected_by_prefix_and_durability() {
        let listed = vec![
            queue("Engine_fifo", false, false),
            queue("FIFO_ack", false, false),
            queue("Engine_axe_rpc_client_1234", true, true),
            queue("amq.gen-xyz", true, true),
            queue("Engine_che", false, false),
            queue("other", false, false),
            QueueInfo {
                name: "Engine_action".into(),
                ..QueueInfo::default()
            },
        ];
        assert_eq!(
            QueueSelection::default().engine_queues(&listed),
            ["Engine_action", "Engine_che", "Engine_fifo", "FIFO_ack"]
        );
        let custom = QueueSelection {
            prefixes: vec!["oth".into()],
        };
        assert_eq!(custom.engine_queues(&listed), ["other"]);
    }
}

#[cfg(test)]
mod debug_tests {
    use super::WatchTarget;

    #[test]
    fn debug_never_shows_the_amqp_password() {
        let target = WatchTarget::new(
            "amqp://cpsrabbit:s3cret-Pa55@localhost:5672/canopsis",
            "canopsis",
        );
        let shown = format!("{target:?}");
        assert!(!shown.contains("s3cret-Pa55"), "{shown}");
        assert!(shown.contains("cpsrabbit"), "{shown}");
    }
}
