//! `[sandbox]`: what release scripts may touch, run, and spend.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::input::{section_keys, Located};
use crate::config::values::{all_absolute, duration, positive};
use crate::config::ConfigError;
use crate::procedure::sandbox::COMMAND_RUNNERS;
use crate::procedure::Limits;

section_keys! {
    sandbox: SandboxInput => SandboxKeys {
        file_roots: Vec<PathBuf>, unit_patterns: Vec<String>, allowed_commands: Vec<String>,
        max_operations: u64, max_call_levels: usize, max_expr_depth: usize, max_string_size: usize,
        max_array_size: usize, max_map_size: usize, max_actions: usize, script_timeout: String,
        command_timeout: String,
    }
}

/// The programs of a Canopsis install and its databases.
pub const DEFAULT_COMMANDS: &[&str] = &[
    "yum",
    "dnf",
    "rpm",
    "canopsinit",
    "canoctl",
    "/opt/canopsis/bin/canopsis-reconfigure",
    "/opt/canopsis/bin/init",
    "/opt/canopsis/bin/migrate-metrics",
    "/opt/canopsis/bin/migrate-instruction-metrics",
    "psql",
    "redis-cli",
    "mongo",
    "mongosh",
    "docker",
    "docker-compose",
];

/// `[sandbox]`, validated.
pub(in crate::config) struct Sandbox {
    pub file_roots: Vec<PathBuf>,
    pub unit_patterns: Vec<glob::Pattern>,
    pub allowed_commands: Vec<String>,
    pub limits: Limits,
    pub command_timeout: Duration,
}

/// Validates `[sandbox]`; a Compose install's directory is one more file root.
pub(in crate::config) fn validate(
    mut k: SandboxKeys,
    compose_dir: Option<&Path>,
) -> Result<Sandbox, ConfigError> {
    let mut file_roots = all_absolute(k.file_roots.take(), &["/opt/canopsis"])?;
    file_roots.extend(compose_dir.map(Path::to_path_buf));
    let unit_patterns = unit_patterns(k.unit_patterns.take())?;
    let allowed_commands = allowed_commands(k.allowed_commands.take())?;
    let limits = limits(&mut k)?;
    Ok(Sandbox {
        file_roots,
        unit_patterns,
        allowed_commands,
        limits,
        command_timeout: duration(k.command_timeout, Duration::from_secs(1800))?,
    })
}

fn unit_patterns(l: Option<Located<Vec<String>>>) -> Result<Vec<glob::Pattern>, ConfigError> {
    let Some(l) = l else {
        return Ok(vec![
            glob::Pattern::new("canopsis*").expect("a valid pattern")
        ]);
    };
    l.value
        .iter()
        .map(|p| glob::Pattern::new(p).map_err(|e| l.error(format_args!("{p:?}: {e}"))))
        .collect()
}

/// Program names or absolute paths, never a program that runs others (a shell...).
fn allowed_commands(l: Option<Located<Vec<String>>>) -> Result<Vec<String>, ConfigError> {
    let Some(l) = l else {
        return Ok(DEFAULT_COMMANDS.iter().map(|s| s.to_string()).collect());
    };
    for program in &l.value {
        let base = program.rsplit('/').next().unwrap_or(program);
        if COMMAND_RUNNERS.contains(&base) {
            return Err(l.error(format_args!(
                "{program} runs other programs and can never be allowed"
            )));
        }
        if program.is_empty() || (program.contains('/') && !program.starts_with('/')) {
            return Err(l.error(format_args!(
                "{program:?} must be a program name or an absolute path"
            )));
        }
    }
    Ok(l.value)
}

fn limits(k: &mut SandboxKeys) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    Ok(Limits {
        max_operations: positive(k.max_operations.take(), d.max_operations)?,
        max_call_levels: positive(k.max_call_levels.take(), d.max_call_levels)?,
        max_expr_depth: positive(k.max_expr_depth.take(), d.max_expr_depth)?,
        max_string_size: positive(k.max_string_size.take(), d.max_string_size)?,
        max_array_size: positive(k.max_array_size.take(), d.max_array_size)?,
        max_map_size: positive(k.max_map_size.take(), d.max_map_size)?,
        max_actions: positive(k.max_actions.take(), d.max_actions)?,
        timeout: duration(k.script_timeout.take(), d.timeout)?,
    })
}
