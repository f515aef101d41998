//! `[run]`: where a run keeps its state, and what it does when a step fails.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::input::section_keys;
use crate::config::values::{absolute, or};
use crate::config::ConfigError;

section_keys! {
    run: RunInput => RunKeys { state_dir: PathBuf, lock_file: PathBuf, on_failure: OnFailure }
}

/// What a failing step does to the files edited in its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::config) enum OnFailure {
    /// Put them back as they were.
    #[default]
    Restore,
    /// Leave them as they are.
    Keep,
}

/// `[run]`, validated.
pub(in crate::config) struct Run {
    pub state_dir: PathBuf,
    pub lock_file: PathBuf,
    pub restore_on_failure: bool,
}

/// Validates `[run]`.
pub(in crate::config) fn validate(k: RunKeys) -> Result<Run, ConfigError> {
    Ok(Run {
        state_dir: absolute(k.state_dir, "/var/lib/canopsis-upgrade")?,
        lock_file: absolute(k.lock_file, "/run/canopsis-upgrade.lock")?,
        restore_on_failure: or(k.on_failure, OnFailure::default()) == OnFailure::Restore,
    })
}
