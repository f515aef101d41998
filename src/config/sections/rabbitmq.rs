//! `[rabbitmq]`: the broker, and what counts as a normal backlog and a finished drain.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::credentials::{credentials, CredentialSource};
use crate::config::input::{section_keys, Located};
use crate::config::values::{duration, non_empty, or};
use crate::config::ConfigError;

section_keys! {
    rabbitmq: RabbitmqInput => RabbitmqKeys {
        enabled: bool, management_url: String, amqp_url: String, vhost: String,
        credentials_file: PathBuf, credential: String, queue_prefixes: Vec<String>,
        abnormal_backlog: u64, tolerance: u64, tolerance_ratio: f64, hold: u32,
        drain_timeout: String, on_drain_timeout: OnDrainTimeout, retry_budget: String,
    }
}

/// `rabbitmq.on_drain_timeout`: what a drain that does not end in time does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::config) enum OnDrainTimeout {
    /// The run fails.
    #[default]
    Fail,
    /// A warning.
    Warn,
}

/// The broker and the drain watch.
#[derive(Debug, Clone)]
pub struct RabbitmqSettings {
    /// Watch at all.
    pub enabled: bool,
    /// The management API.
    pub management_url: String,
    /// AMQP, for live counts (None: CPS_AMQP_URL of the engines' environment file).
    pub amqp_url: Option<String>,
    /// Canopsis's vhost.
    pub vhost: String,
    /// Where the management credentials are (None: those of the AMQP URL).
    pub credentials: CredentialSource,
    /// The engine queues: names starting with one of these.
    pub queue_prefixes: Vec<String>,
    /// A queue deeper than this before the upgrade is abnormal: the upgrade does not start.
    pub abnormal_backlog: u64,
    /// Back to normal within this many messages of the baseline...
    pub tolerance: u64,
    /// ...or within this share of it, whichever is larger.
    pub tolerance_ratio: f64,
    /// For this many consecutive samples.
    pub hold: u32,
    /// The drain must end within this.
    pub drain_timeout: Duration,
    /// A drain that does not end fails the run (else: a warning).
    pub fail_on_drain_timeout: bool,
    /// How long the broker may stay unreachable during a watch.
    pub retry_budget: Duration,
}

/// Validates `[rabbitmq]`.
pub(in crate::config) fn validate(k: RabbitmqKeys) -> Result<RabbitmqSettings, ConfigError> {
    let tolerance_ratio = tolerance_ratio(k.tolerance_ratio)?;
    Ok(RabbitmqSettings {
        enabled: or(k.enabled, true),
        management_url: url(k.management_url, &["http", "https"])?
            .unwrap_or_else(|| "http://localhost:15672".into()),
        amqp_url: url(k.amqp_url, &["amqp", "amqps"])?,
        vhost: or(k.vhost, "canopsis".into()),
        credentials: credentials(k.credentials_file, k.credential, "rabbitmq")?,
        queue_prefixes: non_empty(k.queue_prefixes, "prefix", || {
            vec!["Engine_".into(), "FIFO_".into()]
        })?,
        abnormal_backlog: or(k.abnormal_backlog, 10_000),
        tolerance: or(k.tolerance, 100),
        tolerance_ratio,
        hold: hold(k.hold)?,
        drain_timeout: duration(k.drain_timeout, Duration::from_secs(30 * 60))?,
        fail_on_drain_timeout: or(k.on_drain_timeout, OnDrainTimeout::default())
            == OnDrainTimeout::Fail,
        retry_budget: duration(k.retry_budget, Duration::from_secs(120))?,
    })
}

/// A URL with one of `schemes`, without a trailing slash; the management API's carries no
/// password (it would end up in logs): credentials come from a file or a systemd credential.
fn url(l: Option<Located<String>>, schemes: &[&str]) -> Result<Option<String>, ConfigError> {
    let Some(l) = l else { return Ok(None) };
    let parsed = reqwest::Url::parse(&l.value).map_err(|e| l.error(e))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(l.error(format_args!("the scheme must be {}", schemes.join(" or "))));
    }
    if parsed.password().is_some() && l.key == "rabbitmq.management_url" {
        return Err(l.error("no password in the URL: use credentials_file or credential"));
    }
    Ok(Some(l.value.trim_end_matches('/').to_owned()))
}

fn tolerance_ratio(l: Option<Located<f64>>) -> Result<f64, ConfigError> {
    match l {
        Some(l) if !(0.0..=10.0).contains(&l.value) => Err(l
            .origin
            .error("rabbitmq.tolerance_ratio must be between 0 and 10 (0.1 = 10 %)")),
        Some(l) => Ok(l.value),
        None => Ok(0.1),
    }
}

fn hold(l: Option<Located<u32>>) -> Result<u32, ConfigError> {
    match l {
        Some(l) if l.value == 0 => Err(l.origin.error("rabbitmq.hold must be at least 1")),
        Some(l) => Ok(l.value),
        None => Ok(3),
    }
}
