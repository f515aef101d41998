//! Facts of the install on this machine: edition and install method, the installed version
//! ([`detect`]), and the engines' environment file ([`EngineEnv`]).

pub mod detect;
mod engine_env;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use engine_env::{EngineEnv, EngineEnvError};

/// The Canopsis edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// Community (package `canopsis`; `canopsinit --canopsis-edition core`).
    #[default]
    Community,
    /// Pro (package `canopsis-pro`; `canopsinit --canopsis-edition cat`).
    Pro,
}

/// How Canopsis was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallMethod {
    /// RPM packages with systemd units.
    #[default]
    Packages,
    /// Docker Compose.
    Compose,
}

impl Edition {
    /// The name scripts see.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Community => "community",
            Edition::Pro => "pro",
        }
    }
}

impl InstallMethod {
    /// The name scripts see.
    pub fn as_str(self) -> &'static str {
        match self {
            InstallMethod::Packages => "packages",
            InstallMethod::Compose => "compose",
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for InstallMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
