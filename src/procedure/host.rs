//! The state a running script reaches through the API: its context, the sandbox, the executor,
//! and what the current hook has done so far.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::EvalAltResult;

use super::engine::{Limits, Watch};
use super::sandbox::SandboxRules;
use crate::action::{Action, Answer, Executor, Outcome, Query};
use crate::install::{Edition, InstallMethod};
use crate::version::Version;

/// What a script can know about the upgrade it is part of.
#[derive(Debug, Clone)]
pub struct ScriptContext {
    /// The installed version.
    pub from: Version,
    /// The target version.
    pub to: Version,
    /// The edition.
    pub edition: Edition,
    /// The install method.
    pub install: InstallMethod,
    /// The Docker Compose project directory (compose installs).
    pub compose_dir: Option<PathBuf>,
    /// go-engines-vars.conf.
    pub engine_env_file: PathBuf,
    /// Default timeout of a command.
    pub command_timeout: Duration,
}

/// A message a script logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// `info` or `warn`.
    pub level: &'static str,
    /// The text.
    pub text: String,
}

/// What one hook call did.
#[derive(Debug, Clone, Default)]
pub struct StepRecord {
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// What it logged.
    pub messages: Vec<Message>,
    /// How long the step says it takes (`expect_duration`), if it said.
    pub declared_duration: Option<Duration>,
}

/// The script API's view of the world, shared by every registered function.
pub struct Host {
    /// The upgrade's context.
    pub ctx: ScriptContext,
    sandbox: SandboxRules,
    executor: Arc<dyn Executor>,
    watch: Arc<Watch>,
    limits: Limits,
    current: Mutex<(Option<Version>, StepRecord)>,
}

/// A script-facing error.
pub type ApiResult<T> = Result<T, Box<EvalAltResult>>;

/// An error raised at the script's call site.
pub fn script_error(message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.into().into(), rhai::Position::NONE).into()
}

impl Host {
    /// A host for one plan or run.
    pub fn new(
        ctx: ScriptContext,
        sandbox: SandboxRules,
        executor: Arc<dyn Executor>,
        watch: Arc<Watch>,
        limits: Limits,
    ) -> Self {
        Self {
            ctx,
            sandbox,
            executor,
            watch,
            limits,
            current: Mutex::new((None, StepRecord::default())),
        }
    }

    /// Prepares for a hook call of the script of `version` (None: standard or add-on).
    pub fn begin(&self, version: Option<Version>) {
        *self.current.lock().unwrap() = (version, StepRecord::default());
        self.watch.arm(self.limits.timeout);
    }

    /// Ends the hook call and returns what it did.
    pub fn finish(&self) -> StepRecord {
        self.watch.disarm();
        std::mem::take(&mut self.current.lock().unwrap().1)
    }

    /// The release whose script runs (the target for the standard procedure and add-ons).
    pub fn script_version(&self) -> Version {
        self.current
            .lock()
            .unwrap()
            .0
            .clone()
            .unwrap_or_else(|| self.ctx.to.clone())
    }

    /// Whether actions are only recorded.
    pub fn dry_run(&self) -> bool {
        self.executor.is_dry_run()
    }

    /// Performs an action (already checked by the sandbox) and records it.
    pub fn perform(&self, action: Action) -> ApiResult<Outcome> {
        if self.current.lock().unwrap().1.actions.len() >= self.limits.max_actions {
            return Err(script_error(format!(
                "stopped: more than {} actions in one hook",
                self.limits.max_actions
            )));
        }
        let started = Instant::now();
        let outcome = self.executor.execute(&action);
        self.watch.extend(started.elapsed());
        let outcome = outcome.map_err(|e| script_error(format!("{}: {e}", action.describe())))?;
        let mut current = self.current.lock().unwrap();
        if let Outcome::Skipped(reason) = &outcome {
            current.1.messages.push(Message {
                level: "warn",
                text: reason.clone(),
            });
        }
        current.1.actions.push(action);
        drop(current);
        Ok(outcome)
    }

    /// Asks the executor a question.
    pub fn ask(&self, query: Query) -> ApiResult<Answer> {
        let started = Instant::now();
        let answer = self.executor.query(&query);
        self.watch.extend(started.elapsed());
        answer.map_err(|e| script_error(e.to_string()))
    }

    /// Records how long the script says its step takes.
    pub fn declare_duration(&self, duration: Duration) {
        self.current.lock().unwrap().1.declared_duration = Some(duration);
    }

    /// Records a message of the script.
    pub fn say(&self, level: &'static str, text: String) {
        self.current
            .lock()
            .unwrap()
            .1
            .messages
            .push(Message { level, text });
    }

    /// The real path of a file the script names, when the sandbox allows it.
    pub fn path(&self, path: &str) -> ApiResult<PathBuf> {
        self.sandbox
            .check_path(path)
            .map_err(|v| script_error(v.to_string()))
    }

    /// The real path of a file the script changes: allowed by the sandbox, and neither
    /// executable nor an allowed program.
    pub fn writable_path(&self, path: &str) -> ApiResult<PathBuf> {
        let real = self.path(path)?;
        self.sandbox
            .check_writable(&real)
            .map_err(|v| script_error(v.to_string()))?;
        Ok(real)
    }

    /// Refuses a link that would replace a program (see [`SandboxRules::check_link`]).
    pub fn check_link(&self, link: &std::path::Path, target: &std::path::Path) -> ApiResult<()> {
        self.sandbox
            .check_link(link, target)
            .map_err(|v| script_error(v.to_string()))
    }

    /// The path of a link to (re)create: its directory is resolved, not the link itself.
    pub fn path_of_link(&self, path: &str) -> ApiResult<PathBuf> {
        let given = std::path::Path::new(path);
        let (Some(dir), Some(name)) = (given.parent(), given.file_name()) else {
            return Err(script_error(format!("{path:?} is not a file path")));
        };
        if name == ".." {
            return Err(script_error(format!("{path:?} is not a file path")));
        }
        Ok(self.path(&dir.display().to_string())?.join(name))
    }

    /// The full name of a unit the script names, when the sandbox allows it.
    pub fn unit(&self, unit: &str) -> ApiResult<String> {
        self.sandbox
            .check_unit(unit)
            .map_err(|v| script_error(v.to_string()))
    }

    /// Accepts an allow-listed program.
    pub fn program(&self, program: &str) -> ApiResult<()> {
        self.sandbox
            .check_command(program)
            .map_err(|v| script_error(v.to_string()))
    }

    /// The sandbox's rules.
    pub fn sandbox_rules(&self) -> &SandboxRules {
        &self.sandbox
    }
}
