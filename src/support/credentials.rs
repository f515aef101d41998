//! Secrets read from a file or a systemd credential (`LoadCredential=` puts them in
//! `$CREDENTIALS_DIRECTORY`): one reader for every client, so that every secret file is read
//! the same way. What the file holds is the caller's to parse; nothing here ever quotes it.

use std::path::{Path, PathBuf};

/// Why a secret could not be read. Never holds what was read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialReadError {
    /// The file could not be read.
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (not a `source`: the message says it already).
        cause: std::io::Error,
    },
    /// `$CREDENTIALS_DIRECTORY` is not set: the unit does not pass the credential.
    #[error(
        "systemd credential {name:?}: $CREDENTIALS_DIRECTORY is not set \
         (add LoadCredential={name}:<file> to the unit)"
    )]
    NoCredentialsDirectory {
        /// The credential's name.
        name: String,
    },
    /// A credential name must be a plain file name.
    #[error("{name:?} is not a valid systemd credential name (a plain file name)")]
    BadName {
        /// The name.
        name: String,
    },
}

/// The text of a secret file, without its final newline (`\n` or `\r\n`, one only: what an
/// editor or `echo` adds is not part of the secret).
pub fn read_file(path: &Path) -> Result<String, CredentialReadError> {
    let mut text = std::fs::read_to_string(path).map_err(|cause| CredentialReadError::Read {
        path: path.to_owned(),
        cause,
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// The file of the systemd credential `name` (`$CREDENTIALS_DIRECTORY/name`); not read.
pub fn systemd_credential_path(name: &str) -> Result<PathBuf, CredentialReadError> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    credential_path_in(dir.as_deref(), name)
}

/// The file of the credential `name` in a credentials directory, if there is one; not read.
pub fn credential_path_in(dir: Option<&Path>, name: &str) -> Result<PathBuf, CredentialReadError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(CredentialReadError::BadName {
            name: name.to_owned(),
        });
    }
    let dir = dir.ok_or_else(|| CredentialReadError::NoCredentialsDirectory {
        name: name.to_owned(),
    })?;
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_final_newline_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        for (content, read) in [
            ("u:p\n", "u:p"),
            ("u:p\r\n", "u:p"),
            ("u:p", "u:p"),
            ("u:p\n\n", "u:p\n"),
            (" key \n", " key "),
        ] {
            let path = dir.path().join("secret");
            std::fs::write(&path, content).unwrap();
            assert_eq!(read_file(&path).unwrap(), read, "{content:?}");
        }
    }

    #[test]
    fn errors_name_the_file_or_the_credential() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert_eq!(
            credential_path_in(Some(dir.path()), "rabbitmq").unwrap(),
            dir.path().join("rabbitmq")
        );
        for bad in ["", ".", "..", "../etc", "a/b"] {
            assert!(matches!(
                credential_path_in(Some(dir.path()), bad),
                Err(CredentialReadError::BadName { .. })
            ));
        }
        let err = credential_path_in(None, "rabbitmq").unwrap_err();
        assert!(err.to_string().contains("$CREDENTIALS_DIRECTORY"), "{err}");
    }
}
