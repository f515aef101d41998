//! `[maintenance]`: Canopsis's own maintenance mode (23.10 and later).

use super::broadcast::color;
use crate::config::input::section_keys;
use crate::config::values::or;
use crate::config::ConfigError;

section_keys! {
    maintenance: MaintenanceInput => MaintenanceKeys { enabled: bool, message: String, color: String }
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

/// Validates `[maintenance]`.
pub(in crate::config) fn validate(k: MaintenanceKeys) -> Result<MaintenanceSettings, ConfigError> {
    let message = match k.message {
        Some(l) if l.value.trim().is_empty() => {
            return Err(l.origin.error("maintenance.message must not be empty"))
        }
        Some(l) => l.value,
        None => "Canopsis is being upgraded; it will be back shortly.".into(),
    };
    Ok(MaintenanceSettings {
        enabled: or(k.enabled, false),
        message,
        color: color(k.color)?,
    })
}
