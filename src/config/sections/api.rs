//! `[api]`: how to reach and authenticate to the Canopsis API.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::credentials::{credentials, CredentialSource};
use crate::canopsis::AuthKind;
use crate::config::input::section_keys;
use crate::config::values::{duration, or};
use crate::config::ConfigError;

section_keys! {
    api: ApiInput => ApiKeys {
        auth: AuthChoice, credentials_file: PathBuf, credential: String, timeout: String,
        retry_budget: String, unreachable_before: Unreachable,
    }
}

/// `api.auth` as written: "none" or one of the ways to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(in crate::config) enum AuthChoice {
    /// Only app-info and the healthcheck answer.
    #[default]
    None,
    /// An API key.
    ApiKey,
    /// HTTP Basic.
    Basic,
    /// A bearer token from the login endpoint.
    Login,
}

impl AuthChoice {
    fn kind(self) -> Option<AuthKind> {
        match self {
            Self::None => None,
            Self::ApiKey => Some(AuthKind::ApiKey),
            Self::Basic => Some(AuthKind::Basic),
            Self::Login => Some(AuthKind::Login),
        }
    }
}

/// `api.unreachable_before`: what an API that does not answer before the window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::config) enum Unreachable {
    /// A warning.
    #[default]
    Warn,
    /// An error: the run does not start.
    Error,
}

/// How to reach the Canopsis API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// How to authenticate (None: only app-info and the healthcheck answer).
    pub auth: Option<AuthKind>,
    /// Where the credentials are.
    pub credentials: CredentialSource,
    /// One request.
    pub timeout: Duration,
    /// Retries of a failing call, in all.
    pub retry_budget: Duration,
    /// A dead API before the window is an error (not only a warning).
    pub unreachable_before_is_error: bool,
}

/// Validates `[api]`: authentication needs credentials from outside the config.
pub(in crate::config) fn validate(k: ApiKeys) -> Result<ApiSettings, ConfigError> {
    let auth = or(k.auth, AuthChoice::default()).kind();
    let credentials = credentials(k.credentials_file, k.credential, "api")?;
    if auth.is_some() && credentials == CredentialSource::None {
        return Err(ConfigError::Inconsistent(
            "api.auth needs api.credentials_file or api.credential (secrets never go in the config)".into(),
        ));
    }
    Ok(ApiSettings {
        auth,
        credentials,
        timeout: duration(k.timeout, Duration::from_secs(10))?,
        retry_budget: duration(k.retry_budget, Duration::from_secs(120))?,
        unreachable_before_is_error: or(k.unreachable_before, Unreachable::default())
            == Unreachable::Error,
    })
}
