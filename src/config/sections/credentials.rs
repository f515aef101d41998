//! Where a secret comes from, for `[api]` and `[rabbitmq]`: never the config file itself.

use std::path::PathBuf;

use crate::config::input::Located;
use crate::config::ConfigError;

/// Where a secret comes from: never the config file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// None configured.
    None,
    /// A file only root can read.
    File(PathBuf),
    /// A systemd credential (`LoadCredential=NAME:...`), read from $CREDENTIALS_DIRECTORY.
    Systemd(String),
}

/// `credentials_file` or `credential` of `section`, not both.
pub(super) fn credentials(
    file: Option<Located<PathBuf>>,
    credential: Option<Located<String>>,
    section: &str,
) -> Result<CredentialSource, ConfigError> {
    match (file, credential) {
        (Some(_), Some(c)) => Err(c.origin.error(format!(
            "{section}: give credentials_file or credential, not both"
        ))),
        (Some(f), None) if !f.value.is_absolute() => Err(f.error(format_args!(
            "{} is not an absolute path",
            f.value.display()
        ))),
        (Some(f), None) => Ok(CredentialSource::File(f.value)),
        (None, Some(c)) if c.value.is_empty() || c.value.contains('/') => {
            Err(c.error(format_args!("{:?} is not a credential name", c.value)))
        }
        (None, Some(c)) => Ok(CredentialSource::Systemd(c.value)),
        (None, None) => Ok(CredentialSource::None),
    }
}
