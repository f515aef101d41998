//! `[catalog]`: site indexes that add releases to the bundled one.

use std::path::PathBuf;

use crate::config::input::section_keys;
use crate::config::values::all_absolute;
use crate::config::ConfigError;

section_keys! {
    catalog: CatalogInput => CatalogKeys { index_files: Vec<PathBuf> }
}

/// Validates `[catalog]`: the site index files.
pub(in crate::config) fn validate(k: CatalogKeys) -> Result<Vec<PathBuf>, ConfigError> {
    all_absolute(k.index_files, &[])
}
