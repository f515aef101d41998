//! The live executor: performs each action on the machine. Units over D-Bus ([`units`]),
//! commands without a shell ([`commands`]), database shells on the engines' URLs
//! ([`databases`]), file edits atomic with a backup taken once per run ([`files`]).

mod commands;
mod databases;
mod files;
mod units;

use std::path::PathBuf;
#[cfg(feature = "fault-injection")]
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use super::backup::BackupStore;
use crate::action::{Action, Answer, ExecError, Executor, Outcome, Query};
#[cfg(feature = "fault-injection")]
use crate::executor::fault::Hold;
use crate::install::InstallMethod;
use crate::procedure::sandbox::SandboxRules;
use crate::systemd::{self, Systemd};
pub(crate) use files::read_text;

/// What the live executor needs to know of the installation.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Packages or compose.
    pub install: InstallMethod,
    /// The Compose project directory.
    pub compose_dir: Option<PathBuf>,
    /// The engines' environment file (go-engines-vars.conf, or compose.env).
    pub engine_env_file: PathBuf,
    /// Where unit drop-ins are written (/etc/systemd/system).
    pub dropin_dir: PathBuf,
    /// Enable/disable unit files in /run instead of /etc.
    pub runtime_unit_files: bool,
    /// The Canopsis units that `restart_canopsis()` and friends act on.
    pub canopsis_units: Vec<String>,
    /// How long restarted units must stay up, unrestarted, to count as running.
    pub settle: Duration,
    /// The sandbox, checked again at execution (a symlink may have changed since planning).
    pub rules: SandboxRules,
}

/// Told of each action before it runs, with how long it may take (for STATUS and
/// EXTEND_TIMEOUT_USEC).
pub type ActionObserver = Arc<dyn Fn(&Action, Duration) + Send + Sync>;

/// Performs actions for real.
pub struct LiveExecutor {
    settings: LiveSettings,
    observer: Option<ActionObserver>,
    systemd: Systemd,
    runtime: tokio::runtime::Handle,
    backups: BackupStore,
    #[cfg(feature = "fault-injection")]
    hold: Option<(Hold, Arc<AtomicUsize>)>,
}

fn fail(message: impl Into<String>) -> ExecError {
    ExecError(message.into())
}

impl LiveExecutor {
    /// A live executor.
    pub fn new(
        settings: LiveSettings,
        systemd: Systemd,
        runtime: tokio::runtime::Handle,
        backups: BackupStore,
    ) -> Self {
        Self {
            settings,
            observer: None,
            systemd,
            runtime,
            backups,
            #[cfg(feature = "fault-injection")]
            hold: None,
        }
    }

    /// Reports each action before it runs.
    pub fn with_progress(mut self, observer: ActionObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Test hook: stops dead after the first action of the held step; `current_step` is set by
    /// the run before each step.
    #[cfg(feature = "fault-injection")]
    pub fn with_hold(mut self, hold: Option<Hold>, current_step: Arc<AtomicUsize>) -> Self {
        self.hold = hold.map(|hold| (hold, current_step));
        self
    }

    /// The longest an action may take (its own timeout), for EXTEND_TIMEOUT_USEC.
    fn expected_duration(&self, action: &Action) -> Duration {
        match action {
            Action::Command(spec) => Duration::from_secs(spec.timeout_secs),
            Action::PsqlFile { .. }
            | Action::MongoFile { .. }
            | Action::MongoScripts { .. }
            | Action::PsqlEval { .. }
            | Action::MongoEval { .. } => Duration::from_secs(3600),
            Action::Wait { seconds } => Duration::from_secs_f64(*seconds),
            Action::RestartCanopsis | Action::StartCanopsis | Action::RestartUnits { .. } => {
                self.settings.settle + self.systemd.job_timeout()
            }
            _ => self.systemd.job_timeout(),
        }
    }

    fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T, systemd::SystemdError>>,
    ) -> Result<T, ExecError> {
        self.runtime
            .block_on(future)
            .map_err(|e| fail(e.to_string()))
    }

    /// Hands the action to the function of its family.
    fn perform(&self, action: &Action) -> Result<Outcome, ExecError> {
        match action {
            Action::UnitStart { .. }
            | Action::UnitStop { .. }
            | Action::UnitRestart { .. }
            | Action::UnitEnable { .. }
            | Action::UnitDisable { .. }
            | Action::DaemonReload
            | Action::RestartCanopsis
            | Action::RestartUnits { .. }
            | Action::StopCanopsis
            | Action::StartCanopsis
            | Action::UnitDropin { .. } => self.unit_action(action),
            Action::Command(spec) => self.command(spec),
            Action::EnsureLine { .. }
            | Action::RemoveLines { .. }
            | Action::ReplaceInFile { .. }
            | Action::TomlSet { .. }
            | Action::TomlRemove { .. }
            | Action::EnvSet { .. }
            | Action::WriteFile { .. }
            | Action::CopyFile { .. }
            | Action::Symlink { .. } => self.file_action(action),
            Action::PsqlFile { .. }
            | Action::MongoFile { .. }
            | Action::MongoScripts { .. }
            | Action::MongoEval { .. }
            | Action::PsqlEval { .. }
            | Action::RedisFlushdb
            | Action::RedisFlushall => self.database_action(action),
            Action::Wait { seconds } => {
                std::thread::sleep(Duration::from_secs_f64(*seconds));
                Ok(Outcome::Done)
            }
            // Preflight refuses a plan with a refusal; never reached, but never run past either.
            Action::Refusal { text } => Err(fail(format!("this upgrade cannot be run: {text}"))),
            // Preflight refused the run unless every manual step was acknowledged.
            Action::Manual { text } => {
                tracing::info!("manual step (acknowledged): {text}");
                Ok(Outcome::Done)
            }
        }
    }
}

/// A family's function was handed another family's action: a bug of the dispatch.
fn not_of_family(family: &str, action: &Action) -> ExecError {
    fail(format!(
        "internal error: {} is not a {family} action",
        action.kind()
    ))
}

impl Executor for LiveExecutor {
    fn execute(&self, action: &Action) -> Result<Outcome, ExecError> {
        tracing::info!("{}", action.describe());
        if let Some(observer) = &self.observer {
            observer(action, self.expected_duration(action));
        }
        let outcome = self.perform(action)?;
        #[cfg(feature = "fault-injection")]
        if let Some((hold, current_step)) = &self.hold {
            hold.wait_if_due(current_step);
        }
        Ok(outcome)
    }

    fn query(&self, query: &Query) -> Result<Answer, ExecError> {
        match query {
            Query::UnitActive(_) | Query::UnitExists(_) => self.unit_query(query),
            Query::FileExists(_) | Query::ReadFile(_) | Query::ListFiles { .. } => {
                self.file_query(query)
            }
        }
    }

    fn is_dry_run(&self) -> bool {
        false
    }
}
