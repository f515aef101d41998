//! Configuration, parsed in stages: files (`files`) -> fragments (`input`: each section's keys
//! as written, declared in `sections/`) -> merged input (`input`: later files win, key by key,
//! each value located) -> validated [`Settings`] (`settings`, each section validating itself
//! in `sections/`, with the shared checks of `values`). Everything has a default that fits a
//! standard Community package install, so no file at all is a valid configuration.

mod error;
mod files;
mod input;
mod sections;
mod settings;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::procedure::sandbox::SandboxRules;

pub use error::ConfigError;
pub use files::Source;
pub use sections::{
    ApiSettings, BroadcastSettings, CredentialSource, DetectSource, MaintenanceSettings,
    NightlySource, RabbitmqSettings, DEFAULT_COMMANDS,
};
pub use settings::Settings;
pub use values::parse_duration;

impl Settings {
    /// The sandbox rules of these settings.
    pub fn sandbox_rules(&self) -> SandboxRules {
        SandboxRules::new(
            &self.file_roots,
            self.unit_patterns.clone(),
            self.allowed_commands.clone(),
        )
    }

    /// Parses and validates config texts, in merge order.
    pub fn from_sources(sources: &[Source]) -> Result<Self, ConfigError> {
        let mut merged = input::Merged::default();
        for source in sources {
            let fragment = input::parse(&source.file, &source.text)?;
            merged.apply(&source.file, &source.text, fragment);
        }
        settings::validate(merged, sources.iter().map(|s| s.file.clone()).collect())
    }

    /// Loads the layered configuration below `root` (`/` on a real machine).
    pub fn load_layered(root: &Path) -> Result<Self, ConfigError> {
        Self::from_sources(&files::layered(root)?)
    }

    /// Loads one explicit file.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_sources(&files::explicit(path)?)
    }

    /// The texts of the site indexes.
    pub fn read_indexes(&self) -> Result<Vec<Source>, ConfigError> {
        self.index_files
            .iter()
            .map(|p| files::read_index(p))
            .collect()
    }
}
