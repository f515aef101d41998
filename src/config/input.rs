//! Config fragments as written (every field optional, unknown keys refused), and their merge.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::install::{Edition, InstallMethod};

/// One config file, as parsed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    install: Option<InstallInput>,
    detect: Option<DetectInput>,
    catalog: Option<CatalogInput>,
    scripts: Option<ScriptsInput>,
    sandbox: Option<SandboxInput>,
    manual: Option<ManualInput>,
    run: Option<RunInput>,
    systemd: Option<SystemdInput>,
    nightly: Option<NightlyInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NightlyInput {
    policy: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInput {
    state_dir: Option<Spanned<PathBuf>>,
    lock_file: Option<Spanned<PathBuf>>,
    on_failure: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemdInput {
    canopsis_units: Option<Spanned<Vec<String>>>,
    job_timeout: Option<Spanned<String>>,
    settle: Option<Spanned<String>>,
    dropin_dir: Option<Spanned<PathBuf>>,
    runtime_unit_files: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallInput {
    method: Option<Spanned<InstallMethod>>,
    edition: Option<Spanned<Edition>>,
    compose_dir: Option<Spanned<PathBuf>>,
    engine_env_file: Option<Spanned<PathBuf>>,
    api_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectInput {
    sources: Option<Spanned<Vec<String>>>,
    version_file: Option<Spanned<PathBuf>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogInput {
    index_files: Option<Spanned<Vec<PathBuf>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptsInput {
    release_dirs: Option<Spanned<Vec<PathBuf>>>,
    addon_dirs: Option<Spanned<Vec<PathBuf>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SandboxInput {
    file_roots: Option<Spanned<Vec<PathBuf>>>,
    unit_patterns: Option<Spanned<Vec<String>>>,
    allowed_commands: Option<Spanned<Vec<String>>>,
    max_operations: Option<Spanned<u64>>,
    max_call_levels: Option<Spanned<usize>>,
    max_expr_depth: Option<Spanned<usize>>,
    max_string_size: Option<Spanned<usize>>,
    max_array_size: Option<Spanned<usize>>,
    max_map_size: Option<Spanned<usize>>,
    max_actions: Option<Spanned<usize>>,
    script_timeout: Option<Spanned<String>>,
    command_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualInput {
    acknowledged: Option<Spanned<Vec<String>>>,
}

/// Where a value was written: file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Origin {
    /// An error about the value written here.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::At {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub origin: Origin,
}

/// Every setting, merged over the fragments (later fragments win, field by field).
#[derive(Debug, Default)]
pub struct Merged {
    pub method: Option<Located<InstallMethod>>,
    pub edition: Option<Located<Edition>>,
    pub compose_dir: Option<Located<PathBuf>>,
    pub engine_env_file: Option<Located<PathBuf>>,
    pub api_url: Option<Located<String>>,
    pub detect_sources: Option<Located<Vec<String>>>,
    pub version_file: Option<Located<PathBuf>>,
    pub detect_timeout: Option<Located<String>>,
    pub index_files: Option<Located<Vec<PathBuf>>>,
    pub release_dirs: Option<Located<Vec<PathBuf>>>,
    pub addon_dirs: Option<Located<Vec<PathBuf>>>,
    pub file_roots: Option<Located<Vec<PathBuf>>>,
    pub unit_patterns: Option<Located<Vec<String>>>,
    pub allowed_commands: Option<Located<Vec<String>>>,
    pub max_operations: Option<Located<u64>>,
    pub max_call_levels: Option<Located<usize>>,
    pub max_expr_depth: Option<Located<usize>>,
    pub max_string_size: Option<Located<usize>>,
    pub max_array_size: Option<Located<usize>>,
    pub max_map_size: Option<Located<usize>>,
    pub max_actions: Option<Located<usize>>,
    pub script_timeout: Option<Located<String>>,
    pub command_timeout: Option<Located<String>>,
    pub acknowledged: Option<Located<Vec<String>>>,
    pub state_dir: Option<Located<PathBuf>>,
    pub lock_file: Option<Located<PathBuf>>,
    pub on_failure: Option<Located<String>>,
    pub canopsis_units: Option<Located<Vec<String>>>,
    pub job_timeout: Option<Located<String>>,
    pub settle: Option<Located<String>>,
    pub dropin_dir: Option<Located<PathBuf>>,
    pub runtime_unit_files: Option<Located<bool>>,
    pub nightly_policy: Option<Located<String>>,
    pub nightly_source: Option<Located<String>>,
}

/// Parses one fragment's text; syntax errors and unknown keys name file, line and column.
pub fn parse(file: &str, text: &str) -> Result<Fragment, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = crate::text::line_col(text, e.span().map_or(0, |s| s.start));
        ConfigError::At {
            file: file.to_owned(),
            line,
            column,
            message: e.message().trim_end().to_owned(),
        }
    })
}

impl Merged {
    /// Lays a fragment over what was merged so far.
    pub fn apply(&mut self, file: &str, text: &str, fragment: Fragment) {
        let at = |span: std::ops::Range<usize>| {
            let (line, column) = crate::text::line_col(text, span.start);
            Origin {
                file: file.to_owned(),
                line,
                column,
            }
        };
        macro_rules! lay {
            ($slot:expr, $value:expr) => {
                if let Some(v) = $value {
                    let origin = at(v.span());
                    $slot = Some(Located {
                        value: v.into_inner(),
                        origin,
                    });
                }
            };
        }
        let Fragment {
            install,
            detect,
            catalog,
            scripts,
            sandbox,
            manual,
            run,
            systemd,
            nightly,
        } = fragment;
        if let Some(i) = install {
            lay!(self.method, i.method);
            lay!(self.edition, i.edition);
            lay!(self.compose_dir, i.compose_dir);
            lay!(self.engine_env_file, i.engine_env_file);
            lay!(self.api_url, i.api_url);
        }
        if let Some(d) = detect {
            lay!(self.detect_sources, d.sources);
            lay!(self.version_file, d.version_file);
            lay!(self.detect_timeout, d.timeout);
        }
        if let Some(c) = catalog {
            lay!(self.index_files, c.index_files);
        }
        if let Some(s) = scripts {
            lay!(self.release_dirs, s.release_dirs);
            lay!(self.addon_dirs, s.addon_dirs);
        }
        if let Some(s) = sandbox {
            lay!(self.file_roots, s.file_roots);
            lay!(self.unit_patterns, s.unit_patterns);
            lay!(self.allowed_commands, s.allowed_commands);
            lay!(self.max_operations, s.max_operations);
            lay!(self.max_call_levels, s.max_call_levels);
            lay!(self.max_expr_depth, s.max_expr_depth);
            lay!(self.max_string_size, s.max_string_size);
            lay!(self.max_array_size, s.max_array_size);
            lay!(self.max_map_size, s.max_map_size);
            lay!(self.max_actions, s.max_actions);
            lay!(self.script_timeout, s.script_timeout);
            lay!(self.command_timeout, s.command_timeout);
        }
        if let Some(m) = manual {
            lay!(self.acknowledged, m.acknowledged);
        }
        if let Some(r) = run {
            lay!(self.state_dir, r.state_dir);
            lay!(self.lock_file, r.lock_file);
            lay!(self.on_failure, r.on_failure);
        }
        if let Some(n) = nightly {
            lay!(self.nightly_policy, n.policy);
            lay!(self.nightly_source, n.source);
        }
        if let Some(s) = systemd {
            lay!(self.canopsis_units, s.canopsis_units);
            lay!(self.job_timeout, s.job_timeout);
            lay!(self.settle, s.settle);
            lay!(self.dropin_dir, s.dropin_dir);
            lay!(self.runtime_unit_files, s.runtime_unit_files);
        }
    }
}
