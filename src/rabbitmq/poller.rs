//! The one poller of the engine queues, for the daemon's drain watch and the `monitor` command
//! alike: live figures over AMQP (a passive `queue.declare` per queue, see [`super::live`]) at
//! the instants its caller asks, a broker that goes away tracked as an outage and retried
//! within the target's retry budget (then given up on), every await under a timeout. What
//! happens besides a successful poll is told to the caller as [`BrokerEvent`]s.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use super::connection::MANAGEMENT_TIMEOUT;
use super::drain::QueueSample;
use super::live::{LiveCounter, LiveError};
use super::watch::{WatchError, Watcher};
use crate::support::format::format_duration;
use crate::support::url::redact_url;

/// The live figures of the engine queues, by name (a queue the broker does not have is absent).
pub type Figures = BTreeMap<String, QueueSample>;

/// Something that happened besides a successful poll.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerEvent {
    /// A poll failed: the broker is unreachable.
    Unreachable {
        /// Why.
        error: String,
        /// For how long so far.
        down: Duration,
        /// What is left of the retry budget.
        retry_left: Duration,
    },
    /// It answers again.
    Reachable {
        /// After how long.
        down: Duration,
    },
    /// The management API lists engine queues not polled so far (now polled too).
    QueuesAdded {
        /// Their names.
        queues: Vec<String>,
    },
}

impl fmt::Display for BrokerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerEvent::Unreachable {
                error,
                down,
                retry_left,
            } => write!(
                f,
                "RabbitMQ unreachable for {}, retrying for up to {}: {error}",
                format_duration(*down),
                format_duration(*retry_left)
            ),
            BrokerEvent::Reachable { down } => {
                write!(
                    f,
                    "RabbitMQ reachable again after {}",
                    format_duration(*down)
                )
            }
            BrokerEvent::QueuesAdded { queues } => {
                write!(f, "new engine queues: {}", queues.join(", "))
            }
        }
    }
}

/// Why the poller gave up before a successful poll.
#[derive(Debug)]
pub enum PollEnd<E> {
    /// The broker stayed unreachable for the whole retry budget.
    BrokerLost {
        /// How long it was unreachable.
        down: Duration,
        /// The budget.
        budget: Duration,
        /// The last error.
        last: String,
    },
    /// The deadline passed.
    DeadlinePassed {
        /// While the broker was away: for how long, and why (the last figures are stale).
        outage: Option<String>,
    },
    /// The caller's event handler failed.
    Observer(E),
}

/// Since when the broker has been unreachable, and the last error.
#[derive(Debug)]
struct Outage {
    since: Instant,
    last: String,
}

/// Polls the engine queues of a [`Watcher`]'s target.
pub struct Poller<'w> {
    watcher: &'w Watcher,
    queues: Vec<String>,
    counter: Option<LiveCounter>,
    outage: Option<Outage>,
    outages: u32,
    requests: u64,
    deadline: Option<Instant>,
    /// How often to ask the management API for new engine queues, and when next.
    rediscovery: Option<(Duration, Instant)>,
}

impl<'w> Poller<'w> {
    /// A poller of `queues`, not connected yet.
    pub fn new(watcher: &'w Watcher, queues: Vec<String>) -> Self {
        Self {
            watcher,
            queues,
            counter: None,
            outage: None,
            outages: 0,
            requests: 0,
            deadline: None,
            rediscovery: None,
        }
    }

    /// No poll, and no wait, past `deadline`.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Asks the management API for new engine queues every `every` (not while the broker is
    /// away); they are polled from then on.
    pub fn rediscovering_every(mut self, every: Duration) -> Self {
        self.rediscovery = Some((every, Instant::now() + every));
        self
    }

    /// The queues polled, sorted.
    pub fn queues(&self) -> &[String] {
        &self.queues
    }

    /// How many times the broker became unreachable.
    pub fn outages(&self) -> u32 {
        self.outages
    }

    /// Requests sent to the broker (AMQP connections and declares, management calls).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// One poll now, without retrying: the figures or why not.
    pub async fn poll_once(&mut self) -> Result<Figures, LiveError> {
        let round = Instant::now();
        self.poll(round, round + self.watcher.target().request_timeout)
            .await
    }

    /// The first successful poll from `at` on, and when it started. A failed poll is told as
    /// [`BrokerEvent::Unreachable`] and retried every `retry_every` until the retry budget is
    /// spent (or the deadline passes); the return as [`BrokerEvent::Reachable`].
    pub async fn next_sample<E>(
        &mut self,
        at: Instant,
        on_event: &mut impl FnMut(BrokerEvent) -> Result<(), E>,
    ) -> Result<(Instant, Figures), PollEnd<E>> {
        let mut next = at;
        loop {
            sleep_until(self.deadline.map_or(next, |d| next.min(d))).await;
            self.check_limits(Instant::now())?;
            if self.outage.is_none() {
                self.rediscover(on_event).await.map_err(PollEnd::Observer)?;
            }
            let round = Instant::now();
            match self.poll(round, self.limit(round)).await {
                Ok(figures) => {
                    if let Some(outage) = self.outage.take() {
                        on_event(BrokerEvent::Reachable {
                            down: outage.since.elapsed(),
                        })
                        .map_err(PollEnd::Observer)?;
                    }
                    return Ok((round, figures));
                }
                Err(e) => next = self.failed(round, e, on_event).map_err(PollEnd::Observer)?,
            }
        }
    }

    /// Closes the connection (what a drop does too, less politely).
    pub async fn close(mut self) {
        if let Some(live) = self.counter.take() {
            live.close().await;
        }
    }

    /// Gives up once the retry budget is spent or the deadline passed.
    fn check_limits<E>(&self, now: Instant) -> Result<(), PollEnd<E>> {
        let budget = self.watcher.target().retry_budget;
        if let Some(Outage { since, last }) = &self.outage {
            if now >= *since + budget {
                return Err(PollEnd::BrokerLost {
                    down: now - *since,
                    budget,
                    last: last.clone(),
                });
            }
        }
        if self.deadline.is_some_and(|d| now >= d) {
            // While the broker is away, the last figures are stale: say it is away.
            let outage = self.outage.as_ref().map(|o| {
                format!(
                    "RabbitMQ unreachable for {}: {}",
                    format_duration(now - o.since),
                    o.last
                )
            });
            return Err(PollEnd::DeadlinePassed { outage });
        }
        Ok(())
    }

    /// When a poll started at `round` must have ended: within the request timeout, and, while
    /// the broker is away, never past the end of the retry budget.
    fn limit(&self, round: Instant) -> Instant {
        let target = self.watcher.target();
        let mut limit = round + target.request_timeout;
        if let Some(deadline) = self.deadline {
            limit = limit.min(deadline);
        }
        if let Some(outage) = &self.outage {
            limit = limit.min(outage.since + target.retry_budget);
        }
        limit
    }

    /// Connects (if needed) and counts the queues, by `limit`.
    async fn poll(&mut self, round: Instant, limit: Instant) -> Result<Figures, LiveError> {
        let target = self.watcher.target();
        if self.counter.as_ref().is_some_and(|c| !c.is_connected()) {
            self.counter = None;
        }
        let (counter, requests, queues) = (&mut self.counter, &mut self.requests, &self.queues);
        let polled = timeout_at(limit, async {
            if counter.is_none() {
                *requests += 1;
                *counter =
                    Some(LiveCounter::connect(&target.amqp_url, target.request_timeout).await?);
            }
            *requests += queues.len() as u64;
            counter
                .as_mut()
                .expect("connected above")
                .count_all(queues)
                .await
        })
        .await
        .unwrap_or_else(|_| {
            Err(LiveError::Timeout {
                url: redact_url(&target.amqp_url),
                what: "a poll of the engine queues".into(),
                // To the millisecond: "1s", not "999.994029ms".
                after: Duration::from_millis(
                    (limit.saturating_duration_since(round).as_secs_f64() * 1_000.0).round() as u64,
                ),
            })
        });
        if polled.is_err() {
            // Dropping it closes what is left of its connection.
            self.counter = None;
        }
        polled
    }

    /// Records a failed poll started at `round`, tells it; when to try again (at the end of
    /// the budget at the latest, to give up on time).
    fn failed<E>(
        &mut self,
        round: Instant,
        error: LiveError,
        on_event: &mut impl FnMut(BrokerEvent) -> Result<(), E>,
    ) -> Result<Instant, E> {
        let error = error.to_string();
        let since = match &mut self.outage {
            Some(outage) => {
                outage.last = error.clone();
                outage.since
            }
            None => {
                self.outages += 1;
                self.outage = Some(Outage {
                    since: round,
                    last: error.clone(),
                });
                round
            }
        };
        let target = self.watcher.target();
        let now = Instant::now();
        let down = now - since;
        on_event(BrokerEvent::Unreachable {
            error,
            down,
            retry_left: target.retry_budget.saturating_sub(down),
        })?;
        Ok((now + target.retry_every).min(since + target.retry_budget))
    }

    /// When due, asks for the engine queues again; tells the new ones. A failure is not an
    /// outage (the live counts decide that): it is tried again next time.
    async fn rediscover<E>(
        &mut self,
        on_event: &mut impl FnMut(BrokerEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some((every, due)) = self.rediscovery else {
            return Ok(());
        };
        let now = Instant::now();
        if now < due {
            return Ok(());
        }
        self.rediscovery = Some((every, now + every));
        self.requests += 1;
        let Ok(listed) = discover(self.watcher).await else {
            return Ok(());
        };
        let added: Vec<String> = listed
            .into_iter()
            .filter(|name| !self.queues.contains(name))
            .collect();
        if added.is_empty() {
            return Ok(());
        }
        self.queues.extend(added.iter().cloned());
        self.queues.sort();
        on_event(BrokerEvent::QueuesAdded { queues: added })
    }
}

/// The engine queues of the watcher's vhost, from the management API, under a timeout.
pub async fn discover(watcher: &Watcher) -> Result<Vec<String>, WatchError> {
    let limit = watcher.target().request_timeout + MANAGEMENT_TIMEOUT;
    timeout(limit, watcher.engine_queues())
        .await
        .map_err(|_| WatchError::DiscoveryTimeout { after: limit })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_words() {
        let unreachable = BrokerEvent::Unreachable {
            error: "connection refused".into(),
            down: Duration::from_secs(3),
            retry_left: Duration::from_secs(117),
        };
        assert_eq!(
            unreachable.to_string(),
            "RabbitMQ unreachable for 3 s, retrying for up to 1 min 57 s: connection refused"
        );
        assert_eq!(
            BrokerEvent::Reachable {
                down: Duration::from_secs(4)
            }
            .to_string(),
            "RabbitMQ reachable again after 4 s"
        );
        assert_eq!(
            BrokerEvent::QueuesAdded {
                queues: vec!["Engine_a".into(), "Engine_b".into()]
            }
            .to_string(),
            "new engine queues: Engine_a, Engine_b"
        );
    }
}
