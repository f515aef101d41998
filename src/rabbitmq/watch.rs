//! The drain watch: finds the engine queues through the management API, polls their live
//! figures over AMQP on the [`PollPlan`]'s schedule, feeds the [`DrainMonitor`] and reports a
//! status line per sample, until the verdict. A broker that goes away is retried within a
//! budget, then given up on; every await is under a timeout, so it never hangs.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::drain::{
    format_duration, preflight_check, AbnormalBacklog, Baseline, DrainMonitor, PollPlan,
    QueueSample, Sample, StuckQueue, Verdict,
};
use super::live::{LiveCounter, LiveError};
use super::management::{Management, ManagementError, QueueInfo};

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
        let target = &self.target;
        let mut requests = 0u64;
        let mut queues: Vec<String> = monitor.baseline().queues.keys().cloned().collect();
        requests += 1;
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

        let mut counter: Option<LiveCounter> = None;
        // Since when the broker has been unreachable, and the last error.
        let mut outage: Option<(Instant, String)> = None;
        let mut outages = 0u32;
        loop {
            let round = Instant::now();
            if let Some((since, last)) = &outage {
                if round >= *since + target.retry_budget {
                    return Err(WatchError::BrokerLost {
                        down: round - *since,
                        budget: target.retry_budget,
                        last: last.clone(),
                    });
                }
            }
            if round >= deadline {
                // While the broker is away, the last sample's line is stale: say it is away.
                let last = match &outage {
                    Some((since, error)) => format!(
                        "RabbitMQ unreachable for {}: {error}",
                        format_duration(round - *since)
                    ),
                    None => monitor.status_line(),
                };
                return Err(WatchError::Deadline {
                    elapsed: round - start,
                    last,
                });
            }
            // While the broker is away, no attempt runs past the end of the retry budget.
            let mut limit = (round + target.request_timeout).min(deadline);
            if let Some((since, _)) = &outage {
                limit = limit.min(*since + target.retry_budget);
            }
            let polled = tokio::time::timeout_at(limit, async {
                if counter.is_none() {
                    requests += 1;
                    counter =
                        Some(LiveCounter::connect(&target.amqp_url, target.request_timeout).await?);
                }
                let live = counter.as_mut().expect("connected above");
                requests += queues.len() as u64;
                live.count_all(&queues).await
            })
            .await
            .unwrap_or_else(|_| {
                Err(LiveError::Timeout {
                    url: crate::support::url::redact_url(&target.amqp_url),
                    what: "a poll of the engine queues".into(),
                    after: limit - round,
                })
            });

            let next = match polled {
                Ok(figures) => {
                    if let Some((since, _)) = outage.take() {
                        on_status(&format!(
                            "RabbitMQ reachable again after {}",
                            format_duration(since.elapsed())
                        ));
                    }
                    let verdict = monitor.observe(Sample {
                        at: round - start,
                        queues: figures,
                    });
                    on_status(&monitor.status_line());
                    match verdict {
                        Verdict::Normal { drain_time, peak } => {
                            if let Some(live) = counter.take() {
                                live.close().await;
                            }
                            let watched = start.elapsed();
                            let minutes = watched.as_secs_f64() / 60.0;
                            return Ok(DrainReport {
                                peak,
                                drain_time,
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
                            });
                        }
                        Verdict::Stuck { queues } => {
                            if let Some(live) = counter.take() {
                                live.close().await;
                            }
                            return Err(WatchError::Stuck(queues));
                        }
                        _ => round + plan.next_interval(&verdict),
                    }
                }
                Err(e) => {
                    // Dropping the counter closes what is left of its connection.
                    counter = None;
                    let since = match &mut outage {
                        Some((since, last)) => {
                            *last = e.to_string();
                            *since
                        }
                        None => {
                            outages += 1;
                            outage = Some((round, e.to_string()));
                            round
                        }
                    };
                    let now = Instant::now();
                    let down = now - since;
                    on_status(&format!(
                        "RabbitMQ unreachable for {}, retrying for up to {}: {e}",
                        format_duration(down),
                        format_duration(target.retry_budget.saturating_sub(down))
                    ));
                    // Wakes at the end of the budget at the latest, to give up on time.
                    (now + target.retry_every).min(since + target.retry_budget)
                }
            };
            sleep_until(next.min(deadline)).await;
        }
    }
}

/// Watches the drain with `watcher`; see [`Watcher::watch_drain`].
pub async fn watch_drain(
    watcher: &Watcher,
    monitor: DrainMonitor,
    plan: PollPlan,
    on_status: impl FnMut(&str),
    deadline: Instant,
) -> Result<DrainReport, WatchError> {
    watcher
        .watch_drain(monitor, plan, on_status, deadline)
        .await
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
