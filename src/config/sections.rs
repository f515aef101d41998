//! Validation of the sections that talk to the outside: the maintenance window, the Canopsis
//! API and its announcements, maintenance mode, RabbitMQ.

use std::path::PathBuf;
use std::time::Duration;

use super::input::{Located, Merged};
use super::{duration, ConfigError};
use crate::canopsis::announce::{
    MessageKind, Template, DEFAULT_ANNOUNCEMENT, DEFAULT_DONE, DEFAULT_FAILURE,
};
use crate::canopsis::AuthKind;
use crate::window::Schedule;

/// Where a secret comes from: never the config file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// None configured.
    None,
    /// A file only root can read.
    File(PathBuf),
    /// A systemd credential (`LoadCredential=NAME:...`), read from $CREDENTIALS_DIRECTORY.
    Systemd(String),
}

/// How to reach the Canopsis API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// How to authenticate (None: only app-info and the healthcheck answer).
    pub auth: Option<AuthKind>,
    /// Where the credentials are.
    pub credentials: CredentialSource,
    /// One request.
    pub timeout: Duration,
    /// Retries of a failing call, in all.
    pub retry_budget: Duration,
    /// A dead API before the window is an error (not only a warning).
    pub unreachable_before_is_error: bool,
}

/// The broadcast messages that warn users.
#[derive(Debug, Clone)]
pub struct BroadcastSettings {
    /// Announce at all.
    pub enabled: bool,
    /// How long before the window the announcement appears.
    pub lead_time: Duration,
    /// The announcement.
    pub message: Template,
    /// After a success.
    pub done_message: Template,
    /// After a failure.
    pub failure_message: Template,
    /// The banner's colour.
    pub color: String,
    /// How long the done (or failure) message stays.
    pub done_duration: Duration,
}

/// Canopsis's own maintenance mode (23.10 and later).
#[derive(Debug, Clone)]
pub struct MaintenanceSettings {
    /// Switch it on at window start.
    pub enabled: bool,
    /// The text users see.
    pub message: String,
    /// Its colour.
    pub color: Option<String>,
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

/// `[window]`: no table or no slot means "any time".
pub fn window(m: &Merged) -> Result<Schedule, ConfigError> {
    match &m.window {
        None => Ok(Schedule::from_input(&Default::default()).expect("no slot is always valid")),
        Some(Located { value, origin }) => {
            Schedule::from_input(value).map_err(|e| origin.error(e.to_string()))
        }
    }
}

fn credentials(
    file: Option<Located<PathBuf>>,
    credential: Option<Located<String>>,
    section: &str,
) -> Result<CredentialSource, ConfigError> {
    match (file, credential) {
        (Some(_), Some(c)) => Err(c.origin.error(format!(
            "{section}: give credentials_file or credential, not both"
        ))),
        (Some(f), None) if !f.value.is_absolute() => Err(f.origin.error(format!(
            "{section}.credentials_file: {} is not an absolute path",
            f.value.display()
        ))),
        (Some(f), None) => Ok(CredentialSource::File(f.value)),
        (None, Some(c)) if c.value.is_empty() || c.value.contains('/') => {
            Err(c.origin.error(format!(
                "{section}.credential: {:?} is not a credential name",
                c.value
            )))
        }
        (None, Some(c)) => Ok(CredentialSource::Systemd(c.value)),
        (None, None) => Ok(CredentialSource::None),
    }
}

fn choice(
    l: Option<Located<String>>,
    key: &str,
    choices: &[&str],
    default: &str,
) -> Result<String, ConfigError> {
    match l {
        None => Ok(default.to_owned()),
        Some(l) if choices.contains(&l.value.as_str()) => Ok(l.value),
        Some(l) => Err(l.origin.error(format!(
            "{key}: {:?} is not one of {}",
            l.value,
            choices.join(", ")
        ))),
    }
}

/// `[api]`.
pub fn api(m: &mut Merged) -> Result<ApiSettings, ConfigError> {
    let a = &mut m.api;
    let auth = match choice(
        a.auth.take(),
        "api.auth",
        &["none", "api-key", "basic", "login"],
        "none",
    )?
    .as_str()
    {
        "api-key" => Some(AuthKind::ApiKey),
        "basic" => Some(AuthKind::Basic),
        "login" => Some(AuthKind::Login),
        _ => None,
    };
    let credentials = credentials(a.credentials_file.take(), a.credential.take(), "api")?;
    if auth.is_some() && credentials == CredentialSource::None {
        return Err(ConfigError::Inconsistent(
            "api.auth needs api.credentials_file or api.credential (secrets never go in the config)".into(),
        ));
    }
    Ok(ApiSettings {
        auth,
        credentials,
        timeout: duration("api.timeout", a.timeout.take(), Duration::from_secs(10))?,
        retry_budget: duration(
            "api.retry_budget",
            a.retry_budget.take(),
            Duration::from_secs(120),
        )?,
        unreachable_before_is_error: choice(
            a.unreachable_before.take(),
            "api.unreachable_before",
            &["warn", "error"],
            "warn",
        )? == "error",
    })
}

fn template(
    l: Option<Located<String>>,
    key: &str,
    kind: MessageKind,
    default: &str,
) -> Result<Template, ConfigError> {
    match l {
        None => Ok(Template::parse(default, kind).expect("the default templates are valid")),
        Some(l) => {
            Template::parse(&l.value, kind).map_err(|e| l.origin.error(format!("{key}: {e}")))
        }
    }
}

fn color(l: Option<Located<String>>, key: &str) -> Result<Option<String>, ConfigError> {
    match l {
        None => Ok(None),
        Some(l) => crate::canopsis::validate_color(&l.value)
            .map(|()| Some(l.value.clone()))
            .map_err(|e| l.origin.error(format!("{key}: {e}"))),
    }
}

/// `[broadcast]`.
pub fn broadcast(m: &mut Merged) -> Result<BroadcastSettings, ConfigError> {
    let b = &mut m.broadcast;
    Ok(BroadcastSettings {
        enabled: b.enabled.take().is_some_and(|l| l.value),
        lead_time: duration(
            "broadcast.lead_time",
            b.lead_time.take(),
            Duration::from_secs(24 * 3600),
        )?,
        message: template(
            b.message.take(),
            "broadcast.message",
            MessageKind::Announcement,
            DEFAULT_ANNOUNCEMENT,
        )?,
        done_message: template(
            b.done_message.take(),
            "broadcast.done_message",
            MessageKind::Outcome,
            DEFAULT_DONE,
        )?,
        failure_message: template(
            b.failure_message.take(),
            "broadcast.failure_message",
            MessageKind::Outcome,
            DEFAULT_FAILURE,
        )?,
        color: color(b.color.take(), "broadcast.color")?.unwrap_or_else(|| "#e67e22".into()),
        done_duration: duration(
            "broadcast.done_duration",
            b.done_duration.take(),
            Duration::from_secs(2 * 3600),
        )?,
    })
}

/// `[maintenance]`.
pub fn maintenance(m: &mut Merged) -> Result<MaintenanceSettings, ConfigError> {
    let k = &mut m.maintenance;
    Ok(MaintenanceSettings {
        enabled: k.enabled.take().is_some_and(|l| l.value),
        message: match k.message.take() {
            Some(l) if l.value.trim().is_empty() => {
                return Err(l.origin.error("maintenance.message must not be empty"))
            }
            Some(l) => l.value,
            None => "Canopsis is being upgraded; it will be back shortly.".into(),
        },
        color: color(k.color.take(), "maintenance.color")?,
    })
}

/// `[rabbitmq]`.
pub fn rabbitmq(m: &mut Merged) -> Result<RabbitmqSettings, ConfigError> {
    let r = &mut m.rabbitmq;
    let url = |l: Option<Located<String>>,
               key: &str,
               schemes: &[&str]|
     -> Result<Option<String>, ConfigError> {
        match l {
            None => Ok(None),
            Some(l) => {
                let parsed = reqwest::Url::parse(&l.value)
                    .map_err(|e| l.origin.error(format!("{key}: {e}")))?;
                if !schemes.contains(&parsed.scheme()) {
                    return Err(l.origin.error(format!(
                        "{key}: the scheme must be {}",
                        schemes.join(" or ")
                    )));
                }
                if parsed.password().is_some() && key == "rabbitmq.management_url" {
                    return Err(l.origin.error(format!(
                        "{key}: no password in the URL: use credentials_file or credential"
                    )));
                }
                Ok(Some(l.value.trim_end_matches('/').to_owned()))
            }
        }
    };
    let tolerance_ratio = match r.tolerance_ratio.take() {
        Some(l) if !(0.0..=10.0).contains(&l.value) => {
            return Err(l
                .origin
                .error("rabbitmq.tolerance_ratio must be between 0 and 10 (0.1 = 10 %)"))
        }
        Some(l) => l.value,
        None => 0.1,
    };
    Ok(RabbitmqSettings {
        enabled: r.enabled.take().is_none_or(|l| l.value),
        management_url: url(
            r.management_url.take(),
            "rabbitmq.management_url",
            &["http", "https"],
        )?
        .unwrap_or_else(|| "http://localhost:15672".into()),
        amqp_url: url(r.amqp_url.take(), "rabbitmq.amqp_url", &["amqp", "amqps"])?,
        vhost: r.vhost.take().map_or("canopsis".into(), |l| l.value),
        credentials: credentials(r.credentials_file.take(), r.credential.take(), "rabbitmq")?,
        queue_prefixes: match r.queue_prefixes.take() {
            Some(l) if l.value.is_empty() => {
                return Err(l
                    .origin
                    .error("rabbitmq.queue_prefixes must name at least one prefix"))
            }
            Some(l) => l.value,
            None => vec!["Engine_".into(), "FIFO_".into()],
        },
        abnormal_backlog: r.abnormal_backlog.take().map_or(10_000, |l| l.value),
        tolerance: r.tolerance.take().map_or(100, |l| l.value),
        tolerance_ratio,
        hold: match r.hold.take() {
            Some(l) if l.value == 0 => {
                return Err(l.origin.error("rabbitmq.hold must be at least 1"))
            }
            Some(l) => l.value,
            None => 3,
        },
        drain_timeout: duration(
            "rabbitmq.drain_timeout",
            r.drain_timeout.take(),
            Duration::from_secs(30 * 60),
        )?,
        fail_on_drain_timeout: choice(
            r.on_drain_timeout.take(),
            "rabbitmq.on_drain_timeout",
            &["fail", "warn"],
            "fail",
        )? == "fail",
        retry_budget: duration(
            "rabbitmq.retry_budget",
            r.retry_budget.take(),
            Duration::from_secs(120),
        )?,
    })
}
