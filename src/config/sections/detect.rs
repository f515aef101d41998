//! `[detect]`: where the installed version is read from.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::input::section_keys;
use crate::config::values::{absolute, duration, non_empty};
use crate::config::ConfigError;

section_keys! {
    detect: DetectInput => DetectKeys {
        sources: Vec<DetectSource>, version_file: PathBuf, timeout: String,
    }
}

/// Where the installed version is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectSource {
    /// `rpm -q canopsis` / `canopsis-pro`.
    Rpm,
    /// /opt/canopsis/VERSION.txt.
    VersionFile,
    /// The API's app-info.
    Api,
}

/// `[detect]`, validated.
pub(in crate::config) struct Detect {
    pub sources: Vec<DetectSource>,
    pub version_file: PathBuf,
    pub timeout: Duration,
}

/// Validates `[detect]`.
pub(in crate::config) fn validate(k: DetectKeys) -> Result<Detect, ConfigError> {
    Ok(Detect {
        sources: non_empty(k.sources, "source", || {
            vec![
                DetectSource::Rpm,
                DetectSource::VersionFile,
                DetectSource::Api,
            ]
        })?,
        version_file: absolute(k.version_file, "/opt/canopsis/VERSION.txt")?,
        timeout: duration(k.timeout, Duration::from_secs(10))?,
    })
}
