//! `[nightly]`: which release the timer's unattended run upgrades to.

use serde::Deserialize;

use crate::config::input::section_keys;
use crate::config::values::or;
use crate::config::ConfigError;
use crate::policy::VersionPolicy;

section_keys! {
    nightly: NightlyInput => NightlyKeys { policy: String, source: NightlySource }
}

/// Where the nightly mode looks for newer releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NightlySource {
    /// `dnf`/`yum list` of the canopsis repositories.
    #[default]
    Repository,
    /// The release catalog (bundled index plus site indexes).
    Catalog,
}

/// `[nightly]`, validated.
pub(in crate::config) struct Nightly {
    pub policy: Option<VersionPolicy>,
    pub source: NightlySource,
}

/// Validates `[nightly]`.
pub(in crate::config) fn validate(k: NightlyKeys) -> Result<Nightly, ConfigError> {
    let policy = match k.policy {
        Some(l) => Some(VersionPolicy::parse(&l.value).map_err(|e| l.error(e))?),
        None => None,
    };
    Ok(Nightly {
        policy,
        source: or(k.source, NightlySource::default()),
    })
}
