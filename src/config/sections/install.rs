//! `[install]`: how and where Canopsis is installed.

use std::path::PathBuf;

use crate::config::input::{section_keys, Located};
use crate::config::values::{absolute, optional_absolute, or};
use crate::config::ConfigError;
use crate::install::{Edition, InstallMethod};

section_keys! {
    install: InstallInput => InstallKeys {
        method: InstallMethod, edition: Edition, compose_dir: PathBuf, engine_env_file: PathBuf,
        api_url: String,
    }
}

/// `[install]`, validated.
pub(in crate::config) struct Install {
    pub edition: Edition,
    pub method: InstallMethod,
    pub compose_dir: Option<PathBuf>,
    pub engine_env_file: PathBuf,
    pub api_url: String,
}

/// Validates `[install]`.
pub(in crate::config) fn validate(k: InstallKeys) -> Result<Install, ConfigError> {
    let method = or(k.method, InstallMethod::default());
    let compose_dir = match (method, k.compose_dir) {
        (InstallMethod::Compose, None) => {
            return Err(ConfigError::Inconsistent(
                "install.compose_dir is required when install.method = \"compose\"".into(),
            ))
        }
        (_, dir) => optional_absolute(dir)?,
    };
    let engine_env_file = match &compose_dir {
        // The containers' environment file of the reference compose files.
        Some(dir) => absolute(k.engine_env_file, dir.join("compose.env"))?,
        None => absolute(k.engine_env_file, "/opt/canopsis/etc/go-engines-vars.conf")?,
    };
    Ok(Install {
        edition: or(k.edition, Edition::default()),
        method,
        compose_dir,
        engine_env_file,
        api_url: api_url(k.api_url)?,
    })
}

/// The API's base URL, without a trailing slash.
fn api_url(l: Option<Located<String>>) -> Result<String, ConfigError> {
    let Some(url) = l else {
        return Ok("http://localhost:8082".into());
    };
    let parsed = reqwest::Url::parse(&url.value).map_err(|e| url.error(e))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(url
            .origin
            .error("install.api_url must be an http:// or https:// URL"));
    }
    Ok(url.value.trim_end_matches('/').to_owned())
}
