//! `[manual]`: releases whose manual steps the admin has done.

use crate::config::input::section_keys;
use crate::config::values::each;
use crate::config::ConfigError;
use crate::version::Version;

section_keys! {
    manual: ManualInput => ManualKeys { acknowledged: Vec<String> }
}

/// Validates `[manual]`: the acknowledged releases.
pub(in crate::config) fn validate(k: ManualKeys) -> Result<Vec<Version>, ConfigError> {
    each(k.acknowledged, |v| {
        Version::parse(v).map_err(|e| e.to_string())
    })
}
