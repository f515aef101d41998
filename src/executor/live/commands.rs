//! Running programs: the command actions of scripts, and the database shells' runs. Output is
//! logged line by line; a non-zero exit fails with the end of stderr.

use std::time::Duration;

use super::{fail, LiveExecutor};
use crate::action::{CommandOutput, CommandSpec, ExecError, Outcome};
use crate::executor::command::{self, CommandRequest, CommandResult};
use crate::install::EngineEnv;
use crate::procedure::sandbox::is_engine_env;

/// How many lines of stderr an error shows.
const STDERR_TAIL: usize = 5;

impl LiveExecutor {
    /// The engines' environment, read now (a step may have just edited it).
    pub(super) fn engine_env(&self) -> Result<EngineEnv, ExecError> {
        EngineEnv::read(&self.settings.engine_env_file).map_err(|e| fail(e.to_string()))
    }

    /// A variable the engines' environment must set.
    pub(super) fn engine_var(&self, name: &str) -> Result<String, ExecError> {
        let env = self.engine_env()?;
        let value = env.require(name).map_err(|e| fail(e.to_string()))?;
        Ok(value.to_owned())
    }

    /// Runs a script's command.
    pub(super) fn command(&self, spec: &CommandSpec) -> Result<Outcome, ExecError> {
        // From the engines' file (which scripts may edit) only Canopsis's variables pass.
        let mut extra_env: Vec<(String, String)> = if spec.engine_env {
            let env = self.engine_env()?;
            env.vars()
                .iter()
                .filter(|(name, _)| is_engine_env(name))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        extra_env.extend(spec.env.iter().cloned());
        let request = CommandRequest {
            program: spec.program.clone(),
            args: spec.args.clone(),
            user: spec.user.clone(),
            extra_env,
            cwd: spec.cwd.clone(),
            timeout: Duration::from_secs(spec.timeout_secs),
            stdin_file: None,
        };
        let output = self.run(&request, spec.allow_failure)?;
        Ok(Outcome::Command(output))
    }

    /// Runs a command, logs what it printed, and fails on a non-zero exit unless allowed.
    pub(super) fn run(
        &self,
        request: &CommandRequest,
        allow_failure: bool,
    ) -> Result<CommandOutput, ExecError> {
        let result = command::run(request).map_err(|e| fail(e.to_string()))?;
        let name = &request.program;
        for line in result.stdout.lines() {
            tracing::info!(target: "command", "{name}: {line}");
        }
        for line in result.stderr.lines() {
            tracing::info!(target: "command", "{name} (stderr): {line}");
        }
        if !result.success() && !allow_failure {
            return Err(fail(failure(name, &result)));
        }
        Ok(CommandOutput {
            code: result.code.map_or(-1, i64::from),
            stdout: result.stdout,
            stderr: result.stderr,
        })
    }
}

/// `name exited with code 1: <the last lines of stderr, joined by " / ">`.
fn failure(name: &str, result: &CommandResult) -> String {
    let how = match (result.code, result.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "failed".into(),
    };
    let lines: Vec<&str> = result.stderr.lines().collect();
    let tail = &lines[lines.len().saturating_sub(STDERR_TAIL)..];
    if tail.is_empty() {
        format!("{name} {how}")
    } else {
        format!("{name} {how}: {}", tail.join(" / "))
    }
}
