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

/// The longest text of one `log`, `warn`, `manual` or `refuse`.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// The most text one hook may log in all.
pub const MAX_HOOK_MESSAGE_BYTES: usize = 1 << 20;
/// The most text (file contents, SQL, messages...) the actions of one hook may carry in all.
pub const MAX_HOOK_ACTION_BYTES: usize = 32 << 20;
/// The most one hook may sleep in all, in seconds.
pub const MAX_HOOK_SLEEP_SECS: f64 = 6.0 * 3600.0;

/// A script-facing error.
pub type ApiResult<T> = Result<T, Box<EvalAltResult>>;

/// An error raised at the script's call site.
pub fn script_error(message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.into().into(), rhai::Position::NONE).into()
}

fn check_text_size(what: &str, text: &str) -> ApiResult<()> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(script_error(format!(
            "{what}: a text of {} bytes is over the limit of {MAX_MESSAGE_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

/// The text an action carries (what it holds in memory, roughly).
fn action_text_len(action: &Action) -> usize {
    match action {
        Action::WriteFile { text, .. }
        | Action::Manual { text }
        | Action::Refusal { text }
        | Action::UnitDropin { text, .. } => text.len(),
        Action::PsqlEval { sql } => sql.len(),
        Action::MongoEval { code } => code.len(),
        Action::Command(spec) => spec.args.iter().map(String::len).sum(),
        other => std::mem::size_of_val(other),
    }
}

fn wait_secs(action: &Action) -> f64 {
    match action {
        Action::Wait { seconds } => *seconds,
        _ => 0.0,
    }
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
        self.check_budget(&action)?;
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

    /// Records a message of the script, within the per-text and per-hook caps.
    pub fn say(&self, level: &'static str, text: String) -> ApiResult<()> {
        check_text_size(if level == "warn" { "warn" } else { "log" }, &text)?;
        let mut current = self.current.lock().unwrap();
        let logged: usize = current.1.messages.iter().map(|m| m.text.len()).sum();
        if logged + text.len() > MAX_HOOK_MESSAGE_BYTES {
            return Err(script_error(format!(
                "stopped: more than {MAX_HOOK_MESSAGE_BYTES} bytes logged in one hook"
            )));
        }
        current.1.messages.push(Message { level, text });
        Ok(())
    }

    /// Refuses an action whose text is over its cap, or that would take the hook's actions
    /// over their total text or sleep.
    fn check_budget(&self, action: &Action) -> ApiResult<()> {
        if let Action::Manual { text } | Action::Refusal { text } = action {
            check_text_size("manual", text)?;
        }
        let current = self.current.lock().unwrap();
        let carried: usize = current.1.actions.iter().map(action_text_len).sum();
        if carried + action_text_len(action) > MAX_HOOK_ACTION_BYTES {
            return Err(script_error(format!(
                "stopped: the actions of one hook carry more than {MAX_HOOK_ACTION_BYTES} bytes of text"
            )));
        }
        if let Action::Wait { seconds } = action {
            let slept: f64 = current.1.actions.iter().map(wait_secs).sum();
            if slept + seconds > MAX_HOOK_SLEEP_SECS {
                return Err(script_error(format!(
                    "stopped: one hook may sleep {MAX_HOOK_SLEEP_SECS} s in all, {slept} s already planned"
                )));
            }
        }
        Ok(())
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
