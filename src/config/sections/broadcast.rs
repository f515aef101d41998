//! `[broadcast]`: the Canopsis broadcast messages that warn users of an upgrade.

use std::time::Duration;

use crate::canopsis::announce::{
    MessageKind, Template, DEFAULT_ANNOUNCEMENT, DEFAULT_DONE, DEFAULT_FAILURE,
};
use crate::config::input::{section_keys, Located};
use crate::config::values::{duration, or};
use crate::config::ConfigError;

section_keys! {
    broadcast: BroadcastInput => BroadcastKeys {
        enabled: bool, lead_time: String, message: String, done_message: String,
        failure_message: String, color: String, done_duration: String,
    }
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

/// Validates `[broadcast]`.
pub(in crate::config) fn validate(k: BroadcastKeys) -> Result<BroadcastSettings, ConfigError> {
    use MessageKind::{Announcement, Outcome};
    Ok(BroadcastSettings {
        enabled: or(k.enabled, false),
        lead_time: duration(k.lead_time, Duration::from_secs(24 * 3600))?,
        message: template(k.message, Announcement, DEFAULT_ANNOUNCEMENT)?,
        done_message: template(k.done_message, Outcome, DEFAULT_DONE)?,
        failure_message: template(k.failure_message, Outcome, DEFAULT_FAILURE)?,
        color: color(k.color)?.unwrap_or_else(|| "#e67e22".into()),
        done_duration: duration(k.done_duration, Duration::from_secs(2 * 3600))?,
    })
}

fn template(
    l: Option<Located<String>>,
    kind: MessageKind,
    default: &str,
) -> Result<Template, ConfigError> {
    match l {
        None => Ok(Template::parse(default, kind).expect("the default templates are valid")),
        Some(l) => Template::parse(&l.value, kind).map_err(|e| l.error(e)),
    }
}

/// A banner colour as Canopsis takes it, if one is written.
pub(super) fn color(l: Option<Located<String>>) -> Result<Option<String>, ConfigError> {
    match l {
        None => Ok(None),
        Some(l) => crate::canopsis::validate_color(&l.value)
            .map(|()| Some(l.value.clone()))
            .map_err(|e| l.error(e)),
    }
}
