//! Credentials for the Canopsis API, read from a file or a systemd credential; never printed.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::support::credentials::{self, CredentialReadError};

/// A secret string. Its Debug output is redacted and it has no Display.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, to put in a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a credential file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// An API key (the whole content), sent as `x-canopsis-authkey`.
    ApiKey,
    /// `user:password`, sent as HTTP Basic.
    Basic,
    /// `user:password`, exchanged at `POST /api/v4/login` for a bearer token.
    Login,
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthKind::ApiKey => "api-key",
            AuthKind::Basic => "basic",
            AuthKind::Login => "login",
        })
    }
}

/// How the client authenticates. Debug and Display show the kind and user, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials: only the public routes (app-info, healthcheck) will answer.
    None,
    /// An API key.
    ApiKey(Secret),
    /// HTTP Basic.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
    /// A bearer token obtained from `POST /api/v4/login`.
    Login {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::ApiKey(key) => f.debug_tuple("ApiKey").field(key).finish(),
            Auth::Basic { user, password } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", password)
                .finish(),
            Auth::Login { user, password } => f
                .debug_struct("Login")
                .field("user", user)
                .field("password", password)
                .finish(),
        }
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("no credentials"),
            Auth::ApiKey(_) => f.write_str("API key"),
            Auth::Basic { user, .. } => write!(f, "HTTP Basic as {user:?}"),
            Auth::Login { user, .. } => write!(f, "login as {user:?}"),
        }
    }
}

/// Why credentials could not be loaded. Never contains the credential itself.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The file or the systemd credential could not be read.
    #[error("Canopsis credential: {0}")]
    Unreadable(CredentialReadError),
    /// The content is not in the expected format.
    #[error("the Canopsis credential {origin} is not a valid {kind} credential: {problem}")]
    Malformed {
        /// Where it came from (a path or a systemd credential name).
        origin: String,
        /// What it should have been.
        kind: AuthKind,
        /// What is wrong, without quoting the content.
        problem: &'static str,
    },
}

impl Auth {
    /// Parses the content of a credential: an API key is the whole trimmed content; basic and
    /// login credentials are `user:password` on one line (surrounding whitespace trimmed).
    pub fn parse(text: &str, kind: AuthKind, origin: &str) -> Result<Self, CredentialError> {
        let malformed = |problem| CredentialError::Malformed {
            origin: origin.to_owned(),
            kind,
            problem,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(malformed("it is empty"));
        }
        if kind == AuthKind::ApiKey {
            if text.contains(['\n', '\r']) {
                return Err(malformed("an API key is one line"));
            }
            return Ok(Auth::ApiKey(Secret::new(text)));
        }
        if text.contains(['\n', '\r']) {
            return Err(malformed("expected user:password on one line"));
        }
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| malformed("expected user:password (no ':' found)"))?;
        let user = user.trim();
        if user.is_empty() {
            return Err(malformed("the user name before ':' is empty"));
        }
        if password.is_empty() {
            return Err(malformed("the password after ':' is empty"));
        }
        let (user, password) = (user.to_owned(), Secret::new(password));
        Ok(match kind {
            AuthKind::Basic => Auth::Basic { user, password },
            _ => Auth::Login { user, password },
        })
    }

    /// Reads credentials of the given kind from a file.
    pub fn from_file(path: &Path, kind: AuthKind) -> Result<Self, CredentialError> {
        let text = credentials::read_file(path).map_err(CredentialError::Unreadable)?;
        Self::parse(&text, kind, &path.display().to_string())
    }

    /// Reads credentials from the systemd credential `name` ($CREDENTIALS_DIRECTORY/name).
    pub fn from_systemd_credential(name: &str, kind: AuthKind) -> Result<Self, CredentialError> {
        let path =
            credentials::systemd_credential_path(name).map_err(CredentialError::Unreadable)?;
        Self::from_file(&path, kind)
    }

    /// Reads the credential `name` from a credentials directory, if there is one.
    pub fn from_credentials_directory(
        dir: Option<&Path>,
        name: &str,
        kind: AuthKind,
    ) -> Result<Self, CredentialError> {
        let path =
            credentials::credential_path_in(dir, name).map_err(CredentialError::Unreadable)?;
        Self::from_file(&path, kind)
    }

    /// The kind of credentials, if any.
    pub fn kind(&self) -> Option<AuthKind> {
        match self {
            Auth::None => None,
            Auth::ApiKey(_) => Some(AuthKind::ApiKey),
            Auth::Basic { .. } => Some(AuthKind::Basic),
            Auth::Login { .. } => Some(AuthKind::Login),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Zq9-hunter2-SECRET";

    #[test]
    fn parses_each_kind() {
        let key = Auth::parse("  abc123\n", AuthKind::ApiKey, "f").unwrap();
        assert_eq!(key, Auth::ApiKey(Secret::new("abc123")));
        let basic = Auth::parse("root:pa:ss\n", AuthKind::Basic, "f").unwrap();
        assert_eq!(
            basic,
            Auth::Basic {
                user: "root".into(),
                password: Secret::new("pa:ss")
            }
        );
        assert_eq!(
            Auth::parse("root:x", AuthKind::Login, "f").unwrap().kind(),
            Some(AuthKind::Login)
        );
    }

    #[test]
    fn refuses_malformed_content_without_quoting_it() {
        for (text, kind, says) in [
            ("", AuthKind::ApiKey, "empty"),
            ("a\nb", AuthKind::ApiKey, "one line"),
            (PASSWORD, AuthKind::Basic, "no ':'"),
            (":pw", AuthKind::Login, "user name"),
            ("root:", AuthKind::Basic, "password"),
            ("root:a\nroot:b", AuthKind::Basic, "one line"),
        ] {
            let e = Auth::parse(text, kind, "/etc/x").unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(e.contains("/etc/x"), "{e}");
            assert!(!e.contains(PASSWORD), "{e}");
        }
    }

    #[test]
    fn debug_and_display_hide_the_secret() {
        for auth in [
            Auth::ApiKey(Secret::new(PASSWORD)),
            Auth::Basic {
                user: "root".into(),
                password: Secret::new(PASSWORD),
            },
            Auth::Login {
                user: "root".into(),
                password: Secret::new(PASSWORD),
            },
        ] {
            for text in [format!("{auth:?}"), format!("{auth:#?}"), auth.to_string()] {
                assert!(!text.contains(PASSWORD), "{text}");
            }
        }
        let text = format!(
            "{:?}",
            Auth::Login {
                user: "root".into(),
                password: Secret::new(PASSWORD)
            }
        );
        assert!(
            text.contains("root") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn reads_files_and_systemd_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("canopsis-api"),
            format!("root:{PASSWORD}\n"),
        )
        .unwrap();
        let auth =
            Auth::from_credentials_directory(Some(dir.path()), "canopsis-api", AuthKind::Login)
                .unwrap();
        assert_eq!(auth.kind(), Some(AuthKind::Login));
        let missing = Auth::from_file(&dir.path().join("nope"), AuthKind::ApiKey)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope"), "{missing}");
        let unset = Auth::from_credentials_directory(None, "canopsis-api", AuthKind::Basic)
            .unwrap_err()
            .to_string();
        assert!(unset.contains("CREDENTIALS_DIRECTORY"), "{unset}");
        assert!(matches!(
            Auth::from_credentials_directory(Some(dir.path()), "../x", AuthKind::Basic),
            Err(CredentialError::Unreadable(
                CredentialReadError::BadName { .. }
            ))
        ));
    }
}
