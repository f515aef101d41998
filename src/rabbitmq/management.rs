//! A client of the RabbitMQ management HTTP API: queue discovery and rates, the overview.
//!
//! Its figures are refreshed by the broker only every `collect_statistics_interval` (5 s by
//! default): use it to find the queues and their rates, not to decide when a drain is over
//! (see [`super::live`]). Every field of its answers is optional: idle queues have no
//! `message_stats`, a fresh queue not even `messages`, and `queue_totals` may be `{}`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::drain::QueueSample;
use crate::support::credentials::{self, CredentialReadError};
use crate::support::url::redact_url;

/// The columns asked for in queue listings.
pub const QUEUE_COLUMNS: &str = "name,messages,messages_ready,messages_unacknowledged,consumers,\
                                 message_stats,exclusive,auto_delete";

/// Everything but RFC 3986 unreserved characters is escaped in a path segment (`/` is `%2F`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A user name and password for RabbitMQ; its Debug never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Credentials that could not be loaded. Never quotes what it read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file or the systemd credential could not be read.
    #[error("RabbitMQ credentials: {0}")]
    Unreadable(CredentialReadError),
    /// The text is not one line `user:password`.
    #[error("RabbitMQ credentials in {origin}: expected one line `user:password`")]
    Malformed {
        /// Where it came from.
        origin: String,
    },
}

impl Credentials {
    /// From configuration values.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password (to send it, never to show it).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Parses one line `user:password` (a final newline is allowed; the password may contain
    /// `:`); `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CredentialsError> {
        let line = text
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(text);
        Self::parse_line(line, origin)
    }

    /// Parses `user:password`, which holds no line break.
    fn parse_line(line: &str, origin: &str) -> Result<Self, CredentialsError> {
        let malformed = || CredentialsError::Malformed {
            origin: origin.to_owned(),
        };
        if line.contains(['\n', '\r']) {
            return Err(malformed());
        }
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Self::new(user, password)),
            _ => Err(malformed()),
        }
    }

    /// Reads a file holding one line `user:password`.
    pub fn from_file(path: &Path) -> Result<Self, CredentialsError> {
        let text = credentials::read_file(path).map_err(CredentialsError::Unreadable)?;
        Self::parse_line(&text, &path.display().to_string())
    }

    /// Reads the systemd credential `name` (`LoadCredential=name:...` in the unit) from
    /// `$CREDENTIALS_DIRECTORY`.
    pub fn from_systemd_credential(name: &str) -> Result<Self, CredentialsError> {
        let path =
            credentials::systemd_credential_path(name).map_err(CredentialsError::Unreadable)?;
        Self::from_file(&path)
    }

    /// Reads the credential `name` from a credentials directory.
    pub fn from_credentials_directory(dir: &Path, name: &str) -> Result<Self, CredentialsError> {
        let path = credentials::credential_path_in(Some(dir), name)
            .map_err(CredentialsError::Unreadable)?;
        Self::from_file(&path)
    }
}

/// A management API request that failed. Never shows the password.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// The base URL is not usable.
    #[error("RabbitMQ management URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given (without any password).
        url: String,
        /// Why.
        reason: String,
    },
    /// No answer: connection refused, DNS, TLS, timeout...
    #[error("RabbitMQ management API unreachable at {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// 401: the user or its password was refused.
    #[error("RabbitMQ management API at {url} refused user {user:?} (HTTP 401{})", reason_suffix(.reason))]
    Unauthorized {
        /// The URL asked.
        url: String,
        /// The user name sent.
        user: String,
        /// The body's `reason`, when present.
        reason: Option<String>,
    },
    /// Another non-success status.
    #[error("RabbitMQ management API at {url}: HTTP {status}{}", reason_suffix(.reason))]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The body's `reason` (or `error`), when present.
        reason: Option<String>,
    },
    /// The body is not the JSON expected.
    #[error("RabbitMQ management API at {url}: unparsable answer, expected {expected}: {detail}")]
    Json {
        /// The URL asked.
        url: String,
        /// What was expected.
        expected: &'static str,
        /// The parser's complaint.
        detail: String,
    },
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// A rate sub-object: `{"rate": 12.5}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RateDetails {
    /// Per second.
    pub rate: Option<f64>,
}

/// Message counters and their rates; every field may be absent (idle objects omit them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MessageStats {
    /// Messages published.
    pub publish: Option<u64>,
    /// Their rate.
    pub publish_details: Option<RateDetails>,
    /// Messages delivered (consumers, with ack).
    pub deliver: Option<u64>,
    /// Their rate.
    pub deliver_details: Option<RateDetails>,
    /// Messages delivered or fetched, in any mode.
    pub deliver_get: Option<u64>,
    /// Their rate.
    pub deliver_get_details: Option<RateDetails>,
    /// Messages acknowledged.
    pub ack: Option<u64>,
    /// Their rate.
    pub ack_details: Option<RateDetails>,
    /// Messages redelivered.
    pub redeliver: Option<u64>,
}

/// Publish, deliver and ack rates, per second (0 when the broker reports none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Messages published per second.
    pub publish: f64,
    /// Messages delivered (or fetched) per second.
    pub deliver: f64,
    /// Messages acknowledged per second.
    pub ack: f64,
}

impl MessageStats {
    /// The rates it holds.
    pub fn rates(&self) -> Rates {
        let rate = |d: &Option<RateDetails>| d.as_ref().and_then(|d| d.rate);
        Rates {
            publish: rate(&self.publish_details).unwrap_or(0.0),
            deliver: rate(&self.deliver_get_details)
                .or(rate(&self.deliver_details))
                .unwrap_or(0.0),
            ack: rate(&self.ack_details).unwrap_or(0.0),
        }
    }
}

/// One queue of `GET /api/queues/{vhost}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QueueInfo {
    /// The queue's name.
    pub name: String,
    /// Ready plus unacknowledged messages.
    pub messages: Option<u64>,
    /// Messages ready for delivery.
    pub messages_ready: Option<u64>,
    /// Messages delivered, not yet acknowledged.
    pub messages_unacknowledged: Option<u64>,
    /// Consumers attached.
    pub consumers: Option<u32>,
    /// Counters and rates (absent on idle queues).
    pub message_stats: Option<MessageStats>,
    /// Owned by one connection.
    pub exclusive: Option<bool>,
    /// Deleted with its last consumer.
    pub auto_delete: Option<bool>,
}

impl QueueInfo {
    /// Its rates (0 for an idle queue).
    pub fn rates(&self) -> Rates {
        self.message_stats
            .as_ref()
            .map(MessageStats::rates)
            .unwrap_or_default()
    }

    /// Its figures as a sample (absent counts are 0). Up to 5 s old.
    pub fn sample(&self) -> QueueSample {
        QueueSample {
            messages: self.messages.or(self.messages_ready).unwrap_or(0),
            consumers: self.consumers.unwrap_or(0),
        }
    }

    /// Whether it belongs to one connection (exclusive or auto-delete), so it cannot be watched
    /// across a restart of its owner.
    pub fn is_transient(&self) -> bool {
        self.exclusive == Some(true) || self.auto_delete == Some(true)
    }
}

/// `queue_totals` of the overview (may be `{}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QueueTotals {
    /// Ready plus unacknowledged messages, every visible queue.
    pub messages: Option<u64>,
    /// Ready messages.
    pub messages_ready: Option<u64>,
    /// Unacknowledged messages.
    pub messages_unacknowledged: Option<u64>,
}

/// `object_totals` of the overview.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ObjectTotals {
    /// Open connections.
    pub connections: Option<u64>,
    /// Open channels.
    pub channels: Option<u64>,
    /// Queues.
    pub queues: Option<u64>,
    /// Consumers.
    pub consumers: Option<u64>,
}

/// `GET /api/overview` (what the user may see).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Overview {
    /// The management plugin's version.
    pub management_version: Option<String>,
    /// The broker's version.
    pub rabbitmq_version: Option<String>,
    /// The cluster's name.
    pub cluster_name: Option<String>,
    /// Message totals.
    pub queue_totals: Option<QueueTotals>,
    /// Broker-wide counters and rates.
    pub message_stats: Option<MessageStats>,
    /// Object counts.
    pub object_totals: Option<ObjectTotals>,
}

impl Overview {
    /// Broker-wide rates (0 when idle).
    pub fn rates(&self) -> Rates {
        self.message_stats
            .as_ref()
            .map(MessageStats::rates)
            .unwrap_or_default()
    }
}

/// A client of the management API.
#[derive(Clone)]
pub struct Management {
    client: reqwest::Client,
    base: String,
    credentials: Credentials,
    timeout: Duration,
}

impl fmt::Debug for Management {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Management")
            .field("base", &self.base)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Management {
    /// A client of the API at `base_url` (e.g. `http://127.0.0.1:15672`); each request must
    /// be answered within `timeout`. A user or password in the URL is dropped: credentials
    /// come from `credentials` only.
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, ManagementError> {
        let mut url = reqwest::Url::parse(base_url).map_err(|e| ManagementError::BadUrl {
            url: redact_url(base_url),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ManagementError::BadUrl {
                url: redact_url(base_url),
                reason: "not http or https".into(),
            });
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ManagementError::BadUrl {
                url: url.to_string(),
                reason: crate::support::error::chain(&e.without_url()),
            })?;
        Ok(Self {
            client,
            base: url.as_str().trim_end_matches('/').to_owned(),
            credentials,
            timeout,
        })
    }

    /// The base URL (never with credentials).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The user it authenticates as.
    pub fn user(&self) -> &str {
        self.credentials.user()
    }

    /// The queues of `vhost`, with their figures (up to 5 s old) and rates.
    pub async fn queues(&self, vhost: &str) -> Result<Vec<QueueInfo>, ManagementError> {
        let path = format!(
            "/api/queues/{}?columns={QUEUE_COLUMNS}",
            encode_segment(vhost)
        );
        self.get(&path, "a JSON array of queues").await
    }

    /// The broker's overview, as visible to the user.
    pub async fn overview(&self) -> Result<Overview, ManagementError> {
        self.get("/api/overview", "a JSON overview object").await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        expected: &'static str,
    ) -> Result<T, ManagementError> {
        let url = format!("{}{path}", self.base);
        // Errors name the resource, not the long column list.
        let shown = url.split('?').next().unwrap_or(&url).to_owned();
        let unreachable = |e: reqwest::Error| ManagementError::Unreachable {
            url: shown.clone(),
            reason: if e.is_timeout() {
                format!("no answer within {:?}", self.timeout)
            } else {
                crate::support::error::chain(&e.without_url())
            },
        };
        let response = self
            .client
            .get(&url)
            .basic_auth(self.credentials.user(), Some(self.credentials.password()))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.text().await.map_err(unreachable)?;
        interpret(
            &shown,
            self.credentials.user(),
            status.as_u16(),
            &body,
            expected,
        )
    }
}

/// Turns an answer into a value or an error (pure, for tests).
fn interpret<T: DeserializeOwned>(
    url: &str,
    user: &str,
    status: u16,
    body: &str,
    expected: &'static str,
) -> Result<T, ManagementError> {
    match status {
        200..=299 => serde_json::from_str(body).map_err(|e| ManagementError::Json {
            url: url.to_owned(),
            expected,
            detail: e.to_string(),
        }),
        401 => Err(ManagementError::Unauthorized {
            url: url.to_owned(),
            user: user.to_owned(),
            reason: error_reason(body),
        }),
        _ => Err(ManagementError::Status {
            url: url.to_owned(),
            status,
            reason: error_reason(body),
        }),
    }
}

/// The `reason` (or else `error`) field of a RabbitMQ error body.
pub fn error_reason(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    ["reason", "error"]
        .iter()
        .find_map(|key| value.get(*key)?.as_str().map(str::to_owned))
        .filter(|r| !r.is_empty())
}

/// A vhost (or any name) as one URL path segment: `/` is `%2F`.
pub fn encode_segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_busy_queues_parse() {
        let body = r#"[
            {"auto_delete":false,"exclusive":false,"name":"Engine_che"},
            {"consumers":0,"messages":0,"messages_ready":0,"messages_unacknowledged":0,"name":"Engine_axe"},
            {"consumers":1,"messages":1500,"messages_ready":1450,"messages_unacknowledged":50,
             "name":"Engine_fifo","message_stats":{"publish":9000,"publish_details":{"rate":300.0},
             "deliver_get":7500,"deliver_get_details":{"rate":2100.5},"ack":7450,
             "ack_details":{"rate":2090.0},"redeliver":0,"redeliver_details":{"rate":0.0}}},
            {"name":"Engine_action","message_stats":{}}
        ]"#;
        let queues: Vec<QueueInfo> = interpret("u", "guest", 200, body, "queues").unwrap();
        assert_eq!(queues.len(), 4);
        assert_eq!(queues[0].messages, None);
        assert_eq!(queues[0].sample(), QueueSample::default());
        assert_eq!(queues[0].rates(), Rates::default());
        assert_eq!(
            queues[2].sample(),
            QueueSample {
                messages: 1_500,
                consumers: 1
            }
        );
        assert_eq!(
            queues[2].rates(),
            Rates {
                publish: 300.0,
                deliver: 2_100.5,
                ack: 2_090.0
            }
        );
        assert_eq!(queues[3].rates(), Rates::default());
    }

    #[test]
    fn an_overview_with_empty_totals_parses() {
        let body = r#"{"management_version":"3.10.8","queue_totals":{},"message_stats":{},
                       "object_totals":{"queues":0},"listeners":[{"port":5672}]}"#;
        let overview: Overview = interpret("u", "guest", 200, body, "overview").unwrap();
        assert_eq!(overview.queue_totals, Some(QueueTotals::default()));
        assert_eq!(overview.rates(), Rates::default());
        let bare: Overview = interpret("u", "guest", 200, "{}", "overview").unwrap();
        assert_eq!(bare, Overview::default());
    }

    #[test]
    fn errors_say_what_went_wrong() {
        let err = interpret::<Overview>(
            "http://h/api/overview",
            "guest",
            401,
            r#"{"error":"not_authorized","reason":"Login failed"}"#,
            "overview",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "RabbitMQ management API at http://h/api/overview refused user \"guest\" \
             (HTTP 401: Login failed)"
        );
        let err = interpret::<Vec<QueueInfo>>(
            "http://h/api/queues/x",
            "guest",
            404,
            r#"{"error":"Object Not Found","reason":"Not Found"}"#,
            "queues",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "RabbitMQ management API at http://h/api/queues/x: HTTP 404: Not Found"
        );
        let err = interpret::<Vec<QueueInfo>>("u", "g", 500, "<html>", "queues").unwrap_err();
        assert!(matches!(
            err,
            ManagementError::Status {
                status: 500,
                reason: None,
                ..
            }
        ));
        let err =
            interpret::<Vec<QueueInfo>>("u", "g", 200, "{}", "a JSON array of queues").unwrap_err();
        assert!(
            err.to_string()
                .contains("unparsable answer, expected a JSON array of queues"),
            "{err}"
        );
    }

    #[test]
    fn vhosts_are_one_path_segment() {
        assert_eq!(encode_segment("/"), "%2F");
        assert_eq!(encode_segment("canopsis"), "canopsis");
        assert_eq!(encode_segment("a b/c%"), "a%20b%2Fc%25");
    }

    #[test]
    fn the_base_url_loses_its_credentials() {
        let m = Management::new(
            "http://admin:s3cret@127.0.0.1:15672/",
            Credentials::new("guest", "guest"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(m.base_url(), "http://127.0.0.1:15672");
        assert!(!format!("{m:?}").contains("s3cret"));
        let err = Management::new(
            "amqp://u:s3cret@h",
            Credentials::new("u", "p"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn credentials_never_show_the_password() {
        let c = Credentials::new("cpsrabbit", "canopsis-secret");
        let debug = format!("{c:?}");
        assert!(debug.contains("cpsrabbit") && !debug.contains("canopsis-secret"));
    }

    #[test]
    fn credentials_parse_one_line() {
        let c = Credentials::parse("cpsrabbit:pa:ss\n", "x").unwrap();
        assert_eq!((c.user(), c.password()), ("cpsrabbit", "pa:ss"));
        let c = Credentials::parse("u:p\r\n", "x").unwrap();
        assert_eq!(c.password(), "p");
        assert_eq!(Credentials::parse("u:", "x").unwrap().password(), "");
        for bad in [
            "",
            "no-colon-s3cret",
            ":s3cret",
            "u:s3cret\nmore",
            "u:s3cret\n\n",
        ] {
            let err = Credentials::parse(bad, "the file").unwrap_err();
            assert!(!err.to_string().contains("s3cret"), "{err}");
            assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
        }
    }

    #[test]
    fn credentials_from_files_and_systemd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rabbitmq"), "cpsrabbit:canopsis\n").unwrap();
        let c = Credentials::from_credentials_directory(dir.path(), "rabbitmq").unwrap();
        assert_eq!(c, Credentials::new("cpsrabbit", "canopsis"));
        let c = Credentials::from_file(&dir.path().join("rabbitmq")).unwrap();
        assert_eq!(c.user(), "cpsrabbit");
        let err = Credentials::from_credentials_directory(dir.path(), "missing").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        let err = Credentials::from_credentials_directory(dir.path(), "../etc").unwrap_err();
        assert!(matches!(
            err,
            CredentialsError::Unreadable(CredentialReadError::BadName { .. })
        ));
    }
}
