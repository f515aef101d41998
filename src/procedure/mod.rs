//! Procedure scripts: discovery, checksums, the sandboxed Rhai engine and the script API.

pub mod api;
pub mod argschema;
pub mod discover;
pub mod dropin;
pub mod engine;
pub mod host;
pub mod sandbox;
pub mod scripting;

use std::fmt;

use sha2::{Digest, Sha256};

use crate::version::Version;

pub use discover::ScriptSet;
pub use engine::{CompiledScript, Limits};
pub use scripting::{ProcedureSettings, Scripting};

/// The hooks a release or add-on script may define, in pipeline order.
pub const HOOKS: [Hook; 3] = [Hook::BeforeUpdate, Hook::AfterPackages, Hook::AfterUpdate];

/// The two halves of the standard procedure (`scripts/standard.rhai`).
pub const STANDARD_HOOKS: [Hook; 2] = [Hook::UpdatePackages, Hook::Reconfigure];

/// Every hook, in the order of the pipeline: the release notes' steps go before the standard
/// procedure, between its package update and its provisioning (the migration guides' "run the
/// migration scripts before provisioning"), or after the restart.
pub const PIPELINE: [Hook; 5] = [
    Hook::BeforeUpdate,
    Hook::UpdatePackages,
    Hook::AfterPackages,
    Hook::Reconfigure,
    Hook::AfterUpdate,
];

/// A function of a script that the pipeline calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Release/add-on: before the standard procedure, Canopsis still running.
    BeforeUpdate,
    /// Standard procedure: update the packages (or images).
    UpdatePackages,
    /// Release/add-on: after the package update, before provisioning.
    AfterPackages,
    /// Standard procedure: provisioning (canopsinit, canopsis-reconfigure), reload, restart.
    Reconfigure,
    /// Release/add-on: after the standard procedure.
    AfterUpdate,
}

impl Hook {
    /// The Rhai function name.
    pub fn function(self) -> &'static str {
        match self {
            Hook::BeforeUpdate => "before_update",
            Hook::UpdatePackages => "update_packages",
            Hook::AfterPackages => "after_packages",
            Hook::Reconfigure => "reconfigure",
            Hook::AfterUpdate => "after_update",
        }
    }

    /// Whether the standard procedure defines it.
    pub fn is_standard(self) -> bool {
        STANDARD_HOOKS.contains(&self)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.function())
    }
}

/// What a script is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptKind {
    /// The procedure of one release.
    Release(Version),
    /// The standard procedure.
    Standard,
    /// A site's add-on, by name.
    Addon(String),
}

/// The source of one procedure script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Where it comes from: `bundled:releases/3.40.0.rhai` or a file path.
    pub origin: String,
    /// What it is for.
    pub kind: ScriptKind,
    /// Its text.
    pub source: String,
    /// SHA-256 of its text, in hex.
    pub sha256: String,
}

impl Script {
    /// A script from its text.
    pub fn new(origin: impl Into<String>, kind: ScriptKind, source: impl Into<String>) -> Self {
        let source = source.into();
        let sha256 = hex(&Sha256::digest(source.as_bytes()));
        Self {
            origin: origin.into(),
            kind,
            source,
            sha256,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An error in a script, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScriptError {
    /// The script's origin.
    pub script: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.script, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.script, self.message),
            _ => write!(f, "{}: {}", self.script, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_of_the_text() {
        let script = Script::new("x", ScriptKind::Standard, "abc");
        assert_eq!(
            script.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
