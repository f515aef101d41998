//! `[scripts]`: directories of site release scripts and add-ons.

use std::path::PathBuf;

use crate::config::input::section_keys;
use crate::config::values::all_absolute;
use crate::config::ConfigError;

section_keys! {
    scripts: ScriptsInput => ScriptsKeys { release_dirs: Vec<PathBuf>, addon_dirs: Vec<PathBuf> }
}

/// `[scripts]`, validated.
pub(in crate::config) struct Scripts {
    pub release_dirs: Vec<PathBuf>,
    pub addon_dirs: Vec<PathBuf>,
}

/// Validates `[scripts]`.
pub(in crate::config) fn validate(k: ScriptsKeys) -> Result<Scripts, ConfigError> {
    Ok(Scripts {
        release_dirs: all_absolute(k.release_dirs, &["/etc/canopsis-upgrade/releases.d"])?,
        addon_dirs: all_absolute(k.addon_dirs, &["/etc/canopsis-upgrade/addons.d"])?,
    })
}
