//! The only place that reads config files: the layers /usr/lib -> /etc -> /run, each with
//! config.toml and config.d/*.toml drop-ins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// The layer directories below a root, lowest priority first.
pub const LAYERS: [&str; 3] = [
    "usr/lib/canopsis-upgrade",
    "etc/canopsis-upgrade",
    "run/canopsis-upgrade",
];

/// A config file's name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its path, for messages.
    pub file: String,
    /// Its text.
    pub text: String,
}

/// The files to merge, in order: each layer's config.toml, then every drop-in by file name
/// (a drop-in of a later layer hides the same-named one of an earlier layer).
pub fn layered(root: &Path) -> Result<Vec<Source>, ConfigError> {
    let mut main = Vec::new();
    let mut dropins: BTreeMap<String, PathBuf> = BTreeMap::new();
    for layer in LAYERS {
        let dir = root.join(layer);
        let file = dir.join("config.toml");
        if file.exists() {
            main.push(file);
        }
        let dropin_dir = dir.join("config.d");
        let found = crate::support::fs::files_with_extension(&dropin_dir, "toml").map_err(|e| {
            ConfigError::Read {
                file: dropin_dir.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        for path in found {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            dropins.insert(name, path);
        }
    }
    main.into_iter()
        .chain(dropins.into_values())
        .map(|p| read(&p))
        .collect()
}

/// One explicit file (`--config`).
pub fn explicit(path: &Path) -> Result<Vec<Source>, ConfigError> {
    Ok(vec![read(path)?])
}

/// Reads a config file, only when it is trusted (see `support::trust`).
fn read(path: &Path) -> Result<Source, ConfigError> {
    if let Some(why) = crate::support::trust::untrusted_reason(path) {
        return Err(ConfigError::Read {
            file: path.display().to_string(),
            reason: why,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Source {
        file: path.display().to_string(),
        text,
    })
}

/// Reads a site index file named in the config.
pub fn read_index(path: &Path) -> Result<Source, ConfigError> {
    read(path)
}
