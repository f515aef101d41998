//! Live queue figures over AMQP: a passive `queue.declare` answers with the queue's current
//! ready-message and consumer counts in about a millisecond, where the management API's
//! figures are up to 5 s old. Every await is under a timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ErrorKind};
use tokio::time::timeout;

use super::drain::QueueSample;
use crate::support::url::redact_url;

/// A live count that failed. Shows the URL without its password.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LiveError {
    /// No AMQP connection could be opened.
    #[error("RabbitMQ (AMQP) unreachable at {url}: {reason}")]
    Connect {
        /// The broker's URL, password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The broker did not answer in time.
    #[error("RabbitMQ (AMQP) at {url}: no answer to {what} within {after:?}")]
    Timeout {
        /// The broker's URL, password hidden.
        url: String,
        /// What was asked.
        what: String,
        /// The time allowed.
        after: Duration,
    },
    /// The broker or the connection failed a request.
    #[error("RabbitMQ (AMQP) at {url}: {what}: {reason}")]
    Request {
        /// The broker's URL, password hidden.
        url: String,
        /// What was asked.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Counts messages and consumers of queues over one AMQP connection.
pub struct LiveCounter {
    url: String,
    connection: Connection,
    channel: Channel,
    timeout: Duration,
}

impl std::fmt::Debug for LiveCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCounter")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl LiveCounter {
    /// Connects to `amqp_url` (`amqp://user:password@host:5672/vhost`, the vhost URL-encoded);
    /// the connection and each later request must be answered within `timeout`.
    pub async fn connect(amqp_url: &str, timeout: Duration) -> Result<Self, LiveError> {
        let url = redact_url(amqp_url);
        let properties = ConnectionProperties::default()
            .with_connection_name("canopsis-upgrade drain watch".into());
        let connection =
            match tokio::time::timeout(timeout, Connection::connect(amqp_url, properties)).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(e)) => {
                    return Err(LiveError::Connect {
                        url,
                        reason: e.to_string(),
                    })
                }
                Err(_) => {
                    return Err(LiveError::Timeout {
                        url,
                        what: "the connection".into(),
                        after: timeout,
                    })
                }
            };
        let channel = open_channel(&connection, &url, timeout).await?;
        Ok(Self {
            url,
            connection,
            channel,
            timeout,
        })
    }

    /// The broker's URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the connection is still up.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// The queue's ready messages and consumers right now; None when it does not exist. (The
    /// broker closes the channel on a missing queue: a fresh one is opened.)
    pub async fn count(&mut self, queue: &str) -> Result<Option<QueueSample>, LiveError> {
        if !self.channel.status().connected() {
            self.channel = open_channel(&self.connection, &self.url, self.timeout).await?;
        }
        let what = || format!("a passive declare of queue {queue}");
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = timeout(
            self.timeout,
            self.channel
                .queue_declare(queue, options, FieldTable::default()),
        )
        .await
        .map_err(|_| LiveError::Timeout {
            url: self.url.clone(),
            what: what(),
            after: self.timeout,
        })?;
        match declared {
            Ok(q) => Ok(Some(QueueSample {
                messages: u64::from(q.message_count()),
                consumers: q.consumer_count(),
            })),
            Err(e) if is_not_found(&e) => {
                self.channel = open_channel(&self.connection, &self.url, self.timeout).await?;
                Ok(None)
            }
            Err(e) => Err(LiveError::Request {
                url: self.url.clone(),
                what: what(),
                reason: e.to_string(),
            }),
        }
    }

    /// The figures of every queue that exists, by name (missing queues are left out).
    pub async fn count_all(
        &mut self,
        queues: &[String],
    ) -> Result<BTreeMap<String, QueueSample>, LiveError> {
        let mut figures = BTreeMap::new();
        for queue in queues {
            if let Some(sample) = self.count(queue).await? {
                figures.insert(queue.clone(), sample);
            }
        }
        Ok(figures)
    }

    /// Closes the connection politely (within the timeout; dropping it also closes it).
    pub async fn close(self) {
        let _ = timeout(self.timeout, self.connection.close(200, "done")).await;
    }
}

async fn open_channel(
    connection: &Connection,
    url: &str,
    after: Duration,
) -> Result<Channel, LiveError> {
    match timeout(after, connection.create_channel()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(LiveError::Request {
            url: url.to_owned(),
            what: "opening a channel".into(),
            reason: e.to_string(),
        }),
        Err(_) => Err(LiveError::Timeout {
            url: url.to_owned(),
            what: "opening a channel".into(),
            after,
        }),
    }
}

/// Whether the broker said NOT_FOUND (404).
fn is_not_found(err: &lapin::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::ProtocolError(e) if matches!(e.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
    )
}
