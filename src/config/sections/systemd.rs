//! `[systemd]`: the Canopsis units and how jobs on them are waited for.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::input::section_keys;
use crate::config::values::{absolute, duration, non_empty, or};
use crate::config::ConfigError;

section_keys! {
    systemd: SystemdInput => SystemdKeys {
        canopsis_units: Vec<String>, job_timeout: String, settle: String, dropin_dir: PathBuf,
        runtime_unit_files: bool,
    }
}

/// `[systemd]`, validated.
pub(in crate::config) struct Systemd {
    pub canopsis_units: Vec<String>,
    pub job_timeout: Duration,
    pub settle: Duration,
    pub dropin_dir: PathBuf,
    pub runtime_unit_files: bool,
}

/// Validates `[systemd]`.
pub(in crate::config) fn validate(k: SystemdKeys) -> Result<Systemd, ConfigError> {
    Ok(Systemd {
        canopsis_units: non_empty(k.canopsis_units, "pattern", || vec!["canopsis*".into()])?,
        job_timeout: duration(k.job_timeout, Duration::from_secs(600))?,
        settle: duration(k.settle, Duration::from_secs(3))?,
        dropin_dir: absolute(k.dropin_dir, "/etc/systemd/system")?,
        runtime_unit_files: or(k.runtime_unit_files, false),
    })
}
