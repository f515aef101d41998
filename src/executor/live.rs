//! The live executor: performs each action on the machine. Units over D-Bus, commands without a
//! shell, file edits atomic with a backup taken once per run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::backup::{replace_symlink, BackupStore};
use super::command::{self, CommandRequest};
use super::edits;
use crate::action::{
    Action, Answer, CommandOutput, CommandSpec, ExecError, Executor, Outcome, Query,
};
use crate::systemd::envfile;
use crate::install::InstallMethod;
use crate::journal::write_atomically;
use crate::procedure::sandbox::{self, SandboxRules};
use crate::systemd::{self, JobKind, Systemd};

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
    pub policy: SandboxRules,
}

/// Stops the process after the first action of a given step (tests of crash and resume).
#[derive(Debug, Clone)]
pub struct Hold {
    /// The 1-based step number.
    pub step: usize,
    /// Created when holding, so the test knows when to kill.
    pub marker: PathBuf,
}

impl Hold {
    /// From CANOPSIS_UPGRADE_TEST_HOLD_STEP and CANOPSIS_UPGRADE_TEST_HOLD_MARKER (test hook).
    pub fn from_env() -> Option<Self> {
        let step = std::env::var("CANOPSIS_UPGRADE_TEST_HOLD_STEP")
            .ok()?
            .parse()
            .ok()?;
        let marker = std::env::var_os("CANOPSIS_UPGRADE_TEST_HOLD_MARKER")?.into();
        Some(Self { step, marker })
    }
}

/// Told of each action before it runs, with how long it may take (for STATUS and
/// EXTEND_TIMEOUT_USEC).
pub type Progress = Arc<dyn Fn(&Action, Duration) + Send + Sync>;

/// Performs actions for real.
pub struct LiveExecutor {
    settings: LiveSettings,
    progress: Option<Progress>,
    systemd: Systemd,
    runtime: tokio::runtime::Handle,
    backups: BackupStore,
    current_step: Arc<AtomicUsize>,
    hold: Option<Hold>,
}

fn fail(message: impl Into<String>) -> ExecError {
    ExecError(message.into())
}

impl LiveExecutor {
    /// A live executor; `current_step` is set by the run before each step.
    pub fn new(
        settings: LiveSettings,
        systemd: Systemd,
        runtime: tokio::runtime::Handle,
        backups: BackupStore,
        current_step: Arc<AtomicUsize>,
        hold: Option<Hold>,
    ) -> Self {
        Self {
            settings,
            progress: None,
            systemd,
            runtime,
            backups,
            current_step,
            hold,
        }
    }

    /// Reports each action before it runs.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
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

    /// The path, checked again now: it must still resolve to itself, inside the roots.
    fn recheck(&self, path: &Path) -> Result<PathBuf, ExecError> {
        let text = path
            .to_str()
            .ok_or_else(|| fail(format!("{} is not UTF-8", path.display())))?;
        let real = self
            .settings
            .policy
            .check_path(text)
            .map_err(|v| fail(v.to_string()))?;
        if real != path {
            return Err(fail(format!(
                "{} now resolves to {}: refused",
                path.display(),
                real.display()
            )));
        }
        Ok(real)
    }

    /// Reads a file (None when missing), lets `change` compute the new text, and writes it
    /// atomically after a backup, unless nothing changed.
    fn edit(
        &self,
        path: &Path,
        change: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<Outcome, ExecError> {
        let path = self.recheck(path)?;
        let old = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(format!("cannot read {}: {e}", path.display()))),
        };
        let new = change(old.as_deref().unwrap_or(""))
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if old.as_deref() == Some(new.as_str()) {
            return Ok(Outcome::Done);
        }
        self.write(&path, new.as_bytes())
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<Outcome, ExecError> {
        self.backups
            .save_once(path)
            .map_err(|e| fail(format!("cannot back up {}: {e}", path.display())))?;
        write_atomically(path, bytes)
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
        Ok(Outcome::Done)
    }

    /// The engines' environment file, as systemd gives it to the engines.
    fn engine_env(&self) -> Result<Vec<(String, String)>, ExecError> {
        let path = &self.settings.engine_env_file;
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        let parsed = envfile::parse(&text);
        for warning in &parsed.warnings {
            tracing::warn!("{}:{}: {}", path.display(), warning.line, warning.message);
        }
        Ok(parsed.resolved())
    }

    fn engine_var(&self, name: &str) -> Result<String, ExecError> {
        self.engine_env()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                fail(format!(
                    "{name} is not set in {}",
                    self.settings.engine_env_file.display()
                ))
            })
    }

    fn command(&self, spec: &CommandSpec) -> Result<Outcome, ExecError> {
        let mut extra_env = if spec.engine_env {
            self.engine_env()?
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
    fn run(
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
        let code = result.code.map_or(-1, i64::from);
        if !result.success() && !allow_failure {
            let how = match (result.code, result.signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                _ => "failed".into(),
            };
            let tail: Vec<&str> = result
                .stderr
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(fail(format!(
                "{name} {how}{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", tail.join(" / "))
                }
            )));
        }
        Ok(CommandOutput {
            code,
            stdout: result.stdout,
            stderr: result.stderr,
        })
    }

    /// A database shell on a script file: on the host, or in the service's container.
    fn shell_with_file(
        &self,
        service: &str,
        shell_args: Vec<String>,
        secrets: &[&str],
        file: &Path,
    ) -> Result<Outcome, ExecError> {
        let file = self.recheck(file)?;
        let mut request = self.in_service(service, shell_args);
        request.stdin_file = Some(file.clone());
        tracing::info!(
            "{} < {}",
            command::redact(&request.args.join(" "), secrets),
            file.display()
        );
        self.run(&request, false).map(|_| Outcome::Done)
    }

    /// The MongoDB shell: the notes use `mongo`; MongoDB 6 and later only ship mongosh.
    fn mongo_shell(&self) -> &'static str {
        if self.settings.install == InstallMethod::Packages
            && command::find_for_root("mongo").is_none()
        {
            "mongosh"
        } else {
            "mongo"
        }
    }

    /// A command in a database's service container (compose), or on the host (packages).
    fn in_service(&self, service: &str, shell_args: Vec<String>) -> CommandRequest {
        match self.settings.install {
            InstallMethod::Packages => CommandRequest::new(
                &shell_args[0],
                shell_args[1..].to_vec(),
                Duration::from_secs(3600),
            ),
            InstallMethod::Compose => {
                let mut args = vec![
                    "compose".to_owned(),
                    "exec".into(),
                    "-T".into(),
                    service.to_owned(),
                ];
                args.extend(shell_args);
                let mut request = CommandRequest::new("docker", args, Duration::from_secs(3600));
                request.cwd = self.settings.compose_dir.clone();
                request
            }
        }
    }

    fn mongo_eval(&self, code: &str) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_MONGO_URL")?;
        let shell = self.mongo_shell();
        let request = self.in_service(
            "mongodb",
            vec![
                shell.into(),
                "--quiet".into(),
                url.clone(),
                "--eval".into(),
                code.to_owned(),
            ],
        );
        tracing::info!(
            "{} --eval <{} bytes of code>",
            command::redact(&request.args[..request.args.len() - 2].join(" "), &[&url]),
            code.len()
        );
        self.run(&request, false).map(|_| Outcome::Done)
    }

    /// psql on a file (stdin) or on SQL text (`-c`): on the host with the URL in libpq's
    /// environment, or in the timescaledb service with the URL as its argument.
    fn psql_with(&self, file: Option<&Path>, sql: Option<&str>) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_POSTGRES_URL")?;
        let mut args: Vec<String> = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(sql) = sql {
            args.push("-c".into());
            args.push(sql.to_owned());
        }
        let compose = self.settings.install == InstallMethod::Compose;
        let file = file.map(|f| self.recheck(f)).transpose()?;
        if !compose {
            if let Some(file) = &file {
                args.push("-f".into());
                args.push(file.display().to_string());
            }
        } else {
            // The compose URL names the timescaledb service: only resolvable in its network.
            args.push(url.clone());
        }
        let mut request = self.in_service("timescaledb", args);
        if compose {
            request.stdin_file = file;
        } else {
            // The URL (with its password) goes through the environment, never the command line.
            request.extra_env = postgres_env(&url)?;
        }
        self.run(&request, false).map(|_| Outcome::Done)
    }

    fn psql_eval(&self, sql: &str) -> Result<Outcome, ExecError> {
        self.psql_with(None, Some(sql))
    }

    fn mongo(&self, file: &Path) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_MONGO_URL")?;
        let shell = self.mongo_shell();
        self.shell_with_file(
            "mongodb",
            vec![shell.into(), "--quiet".into(), url.clone()],
            &[&url],
            file,
        )
    }

    fn psql(&self, file: &Path) -> Result<Outcome, ExecError> {
        self.psql_with(Some(file), None)
    }

    /// `redis-cli ARGS` on the server of CPS_REDIS_URL: on the host, or in the redis service
    /// (compose). The password goes through REDISCLI_AUTH in the environment (`-e NAME` passes
    /// it into the container), never on a command line.
    fn redis(&self, args: impl FnOnce(&RedisTarget) -> Vec<String>) -> Result<Outcome, ExecError> {
        let target = RedisTarget::parse(&self.engine_var("CPS_REDIS_URL")?)?;
        let args = args(&target);
        let mut cli = vec!["redis-cli".to_owned()];
        if self.settings.install == InstallMethod::Packages {
            cli.extend([
                "-h".to_owned(),
                target.host.clone(),
                "-p".into(),
                target.port.to_string(),
            ]);
        }
        cli.extend(args);
        let mut request = match (self.settings.install, &target.password) {
            (InstallMethod::Compose, Some(_)) => {
                let mut args = vec![
                    "compose".to_owned(),
                    "exec".into(),
                    "-T".into(),
                    "-e".into(),
                    "REDISCLI_AUTH".into(),
                    "redis".into(),
                ];
                args.extend(cli);
                let mut request = CommandRequest::new("docker", args, Duration::from_secs(600));
                request.cwd = self.settings.compose_dir.clone();
                request
            }
            _ => self.in_service("redis", cli),
        };
        request.timeout = Duration::from_secs(600);
        if let Some(password) = target.password {
            request.extra_env.push(("REDISCLI_AUTH".into(), password));
        }
        self.run(&request, false).map(|_| Outcome::Done)
    }

    /// The Canopsis units systemd knows (loaded), but the meta unit canopsis.service and our own
    /// units (`canopsis*` matches canopsis-upgrade@4.5.0.service too).
    fn canopsis_units(&self) -> Result<Vec<String>, ExecError> {
        let units = self.block_on(self.systemd.list(&self.settings.canopsis_units))?;
        let names: Vec<String> = units
            .into_iter()
            .filter(|u| {
                u.exists()
                    && u.name.ends_with(".service")
                    && u.name != "canopsis.service"
                    && !sandbox::is_own_unit(&u.name)
            })
            .map(|u| u.name)
            .collect();
        if names.is_empty() {
            return Err(fail(format!(
                "no Canopsis unit is loaded (patterns {})",
                self.settings.canopsis_units.join(", ")
            )));
        }
        Ok(names)
    }

    /// Runs one job on every Canopsis unit at once; with `check`, every unit must then be
    /// running and stay so for the settle time.
    fn all_units(&self, kind: JobKind, check: bool) -> Result<Outcome, ExecError> {
        let units = self.canopsis_units()?;
        let results = self.block_on(self.systemd.jobs(kind, &units))?;
        let failed: Vec<String> = results
            .iter()
            .filter(|(_, r)| !r.is_success())
            .map(|(u, r)| format!("{u} ({r})"))
            .collect();
        if !failed.is_empty() {
            return Err(fail(format!("{kind} failed: {}", failed.join(", "))));
        }
        if check {
            self.block_on(settled(&self.systemd, &units, self.settings.settle))?;
        }
        Ok(Outcome::Done)
    }

    /// Restarts the given units at once (those that exist), then checks they stay up.
    fn some_units(&self, units: &[String]) -> Result<Outcome, ExecError> {
        let mut present = Vec::new();
        let mut missing = Vec::new();
        for unit in units {
            if self.block_on(self.systemd.state(unit))?.exists() {
                present.push(unit.clone());
            } else {
                tracing::warn!("{unit} does not exist: restart skipped");
                missing.push(unit.clone());
            }
        }
        if present.is_empty() {
            return Ok(Outcome::Skipped(format!(
                "none of {} exists: restart skipped",
                units.join(", ")
            )));
        }
        let results = self.block_on(self.systemd.jobs(JobKind::Restart, &present))?;
        let failed: Vec<String> = results
            .iter()
            .filter(|(_, r)| !r.is_success())
            .map(|(u, r)| format!("{u} ({r})"))
            .collect();
        if !failed.is_empty() {
            return Err(fail(format!("restart failed: {}", failed.join(", "))));
        }
        self.block_on(settled(&self.systemd, &present, self.settings.settle))?;
        if missing.is_empty() {
            Ok(Outcome::Done)
        } else {
            Ok(Outcome::Skipped(format!(
                "{} do(es) not exist: not restarted",
                missing.join(", ")
            )))
        }
    }

    fn unit_job(&self, kind: JobKind, unit: &str) -> Result<Outcome, ExecError> {
        let state = self.block_on(self.systemd.state(unit))?;
        if !state.exists() {
            tracing::warn!("{unit} does not exist: {kind} skipped");
            return Ok(Outcome::Skipped(format!(
                "{unit} does not exist: {kind} skipped"
            )));
        }
        self.block_on(self.systemd.job(kind, unit))?;
        Ok(Outcome::Done)
    }

    fn unit_file(&self, unit: &str, enable: bool) -> Result<Outcome, ExecError> {
        let runtime = self.settings.runtime_unit_files;
        let result = self.runtime.block_on(async {
            match enable {
                true => self.systemd.enable(unit, runtime).await,
                false => self.systemd.disable(unit, runtime).await,
            }
        });
        match result {
            Ok(()) => Ok(Outcome::Done),
            Err(e) if systemd::is_no_such_unit(&e) => {
                let what = if enable { "enable" } else { "disable" };
                tracing::warn!("{unit} does not exist: {what} skipped");
                Ok(Outcome::Skipped(format!(
                    "{unit} does not exist: {what} skipped"
                )))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    fn maybe_hold(&self) {
        if let Some(hold) = &self.hold {
            if self.current_step.load(Ordering::SeqCst) == hold.step {
                let _ = std::fs::write(&hold.marker, std::process::id().to_string());
                tracing::warn!("test hold at step {}: waiting to be killed", hold.step);
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
        }
    }
}

/// Every unit active, and not restarted by systemd during the settle time.
async fn settled(
    systemd: &Systemd,
    units: &[String],
    settle: Duration,
) -> Result<(), systemd::SystemdError> {
    let mut before = Vec::new();
    for unit in units {
        before.push(systemd.restart_marks(unit).await?);
    }
    tokio::time::sleep(settle).await;
    let mut down = Vec::new();
    for (unit, marks) in units.iter().zip(before) {
        let state = systemd.state(unit).await?;
        let now = systemd.restart_marks(unit).await?;
        if state.active_state != "active" {
            down.push((
                unit.clone(),
                format!("{}/{}", state.active_state, state.sub_state),
            ));
        } else if now != marks {
            down.push((
                unit.clone(),
                format!(
                    "restarted by systemd {} time(s): crash loop",
                    now.0.saturating_sub(marks.0).max(1)
                ),
            ));
        }
    }
    if down.is_empty() {
        Ok(())
    } else {
        Err(systemd::SystemdError::NotRunning(down))
    }
}

impl Executor for LiveExecutor {
    fn execute(&self, action: &Action) -> Result<Outcome, ExecError> {
        tracing::info!("{}", action.describe());
        if let Some(progress) = &self.progress {
            progress(action, self.expected_duration(action));
        }
        let outcome = match action {
            Action::UnitStart { unit } => self.unit_job(JobKind::Start, unit),
            Action::UnitStop { unit } => self.unit_job(JobKind::Stop, unit),
            Action::UnitRestart { unit } => self.unit_job(JobKind::Restart, unit),
            Action::UnitEnable { unit } => self.unit_file(unit, true),
            Action::UnitDisable { unit } => self.unit_file(unit, false),
            Action::DaemonReload => self
                .block_on(self.systemd.daemon_reload())
                .map(|()| Outcome::Done),
            Action::RestartCanopsis => self.all_units(JobKind::Restart, true),
            Action::RestartUnits { units } => self.some_units(units),
            Action::StopCanopsis => self.all_units(JobKind::Stop, false),
            Action::StartCanopsis => self.all_units(JobKind::Start, true),
            Action::Command(spec) => self.command(spec),
            Action::EnsureLine { path, line, prefix } => self.edit(path, |text| {
                Ok(edits::ensure_line(text, line, prefix.as_deref()))
            }),
            Action::RemoveLines { path, prefix } => {
                self.edit(path, |text| Ok(edits::remove_lines(text, prefix)))
            }
            Action::ReplaceInFile { path, from, to } => {
                self.edit(path, |text| Ok(edits::replace(text, from, to)))
            }
            Action::TomlSet { path, key, value } => self.edit(path, |text| {
                edits::toml_set(text, key, value).map_err(|e| e.to_string())
            }),
            Action::TomlRemove { path, key } => self.edit(path, |text| {
                edits::toml_remove(text, key).map_err(|e| e.to_string())
            }),
            Action::EnvSet { path, key, value } => self.edit(path, |text| {
                envfile::try_set(text, key, value).map_err(|e| e.to_string())
            }),
            Action::WriteFile { path, text } => self.edit(path, |_| Ok(text.clone())),
            Action::CopyFile { from, to } => {
                let from = self.recheck(from)?;
                let bytes = std::fs::read(&from)
                    .map_err(|e| fail(format!("cannot read {}: {e}", from.display())))?;
                let to = self.recheck(to)?;
                if std::fs::read(&to).is_ok_and(|old| old == bytes) {
                    Ok(Outcome::Done)
                } else {
                    self.write(&to, &bytes)
                }
            }
            Action::Symlink { link, target } => {
                let target = self.recheck(target)?;
                let dir = self.recheck(link.parent().unwrap_or(Path::new("/")))?;
                let link = dir.join(link.file_name().unwrap_or_default());
                if std::fs::read_link(&link).is_ok_and(|t| t == target) {
                    Ok(Outcome::Done)
                } else {
                    self.backups
                        .save_once(&link)
                        .map_err(|e| fail(format!("cannot back up {}: {e}", link.display())))?;
                    replace_symlink(&target, &link)
                        .map_err(|e| fail(format!("cannot link {}: {e}", link.display())))?;
                    Ok(Outcome::Done)
                }
            }
            Action::UnitDropin { unit, name, text } => {
                let dir = self.settings.dropin_dir.join(format!("{unit}.d"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
                let path = dir.join(format!("{name}.conf"));
                if std::fs::read_to_string(&path).is_ok_and(|old| old == *text) {
                    Ok(Outcome::Done)
                } else {
                    self.write(&path, text.as_bytes())?;
                    self.block_on(self.systemd.daemon_reload())
                        .map(|()| Outcome::Done)
                }
            }
            Action::PsqlFile { path } => self.psql(path),
            Action::MongoFile { path } => self.mongo(path),
            Action::MongoScripts { dir } => {
                let dir = self.recheck(dir)?;
                let files = super::list_files(&dir, ".js")
                    .map_err(|e| fail(format!("cannot list {}: {e}", dir.display())))?;
                if files.is_empty() {
                    return Err(fail(format!(
                        "no *.js migration script below {}",
                        dir.display()
                    )));
                }
                for file in files {
                    self.mongo(&file)?;
                }
                Ok(Outcome::Done)
            }
            Action::MongoEval { code } => self.mongo_eval(code),
            Action::PsqlEval { sql } => self.psql_eval(sql),
            Action::RedisFlushdb => {
                self.redis(|t| vec!["-n".into(), t.db.to_string(), "flushdb".into()])
            }
            Action::RedisFlushall => self.redis(|_| vec!["flushall".into()]),
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
        }?;
        self.maybe_hold();
        Ok(outcome)
    }

    fn query(&self, query: &Query) -> Result<Answer, ExecError> {
        Ok(match query {
            Query::UnitActive(unit) => {
                Answer::Bool(self.block_on(self.systemd.state(unit))?.active_state == "active")
            }
            Query::UnitExists(unit) => {
                Answer::Bool(self.block_on(self.systemd.state(unit))?.exists())
            }
            Query::FileExists(path) => Answer::Bool(path.exists()),
            Query::ReadFile(path) => match std::fs::read_to_string(path) {
                Ok(text) => Answer::Text(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Answer::Text(None),
                Err(e) => return Err(fail(format!("cannot read {}: {e}", path.display()))),
            },
            Query::ListFiles { dir, suffix } => Answer::Paths(
                super::list_files(dir, suffix)
                    .map_err(|e| fail(format!("cannot list {}: {e}", dir.display())))?,
            ),
        })
    }

    fn is_dry_run(&self) -> bool {
        false
    }
}

/// libpq's environment for a `postgresql://user:password@host:port/db` URL.
pub fn postgres_env(url: &str) -> Result<Vec<(String, String)>, ExecError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("CPS_POSTGRES_URL: {e}")))?;
    if !matches!(parsed.scheme(), "postgresql" | "postgres") {
        return Err(fail("CPS_POSTGRES_URL is not a postgresql:// URL"));
    }
    let mut env = vec![(
        "PGHOST".to_owned(),
        parsed.host_str().unwrap_or("localhost").to_owned(),
    )];
    env.push(("PGPORT".into(), parsed.port().unwrap_or(5432).to_string()));
    if !parsed.username().is_empty() {
        env.push(("PGUSER".into(), percent_decode(parsed.username())));
    }
    if let Some(password) = parsed.password() {
        env.push(("PGPASSWORD".into(), percent_decode(password)));
    }
    let db = parsed.path().trim_start_matches('/');
    if !db.is_empty() {
        env.push(("PGDATABASE".into(), percent_decode(db)));
    }
    for (key, value) in parsed.query_pairs() {
        if key == "sslmode" {
            env.push(("PGSSLMODE".into(), value.into_owned()));
        }
    }
    Ok(env)
}

/// Where `redis_flushdb` goes.
#[derive(Debug, PartialEq, Eq)]
pub struct RedisTarget {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database number.
    pub db: u32,
    /// Password, if any.
    pub password: Option<String>,
}

impl RedisTarget {
    /// From `redis://[user][:password@]host[:port][/db]`.
    pub fn parse(url: &str) -> Result<Self, ExecError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("CPS_REDIS_URL: {e}")))?;
        if parsed.scheme() != "redis" {
            return Err(fail("CPS_REDIS_URL is not a redis:// URL"));
        }
        let db = match parsed.path().trim_start_matches('/') {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| fail(format!("CPS_REDIS_URL: {n:?} is not a database number")))?,
        };
        Ok(Self {
            host: parsed.host_str().unwrap_or("localhost").to_owned(),
            port: parsed.port().unwrap_or(6379),
            db,
            password: parsed.password().map(percent_decode),
        })
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_url_becomes_libpq_environment() {
        let env = postgres_env(
            "postgresql://cpspostgres:can%40psis@localhost:5432/canopsis?sslmode=disable",
        )
        .unwrap();
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("PGHOST"), Some("localhost"));
        assert_eq!(get("PGUSER"), Some("cpspostgres"));
        assert_eq!(get("PGPASSWORD"), Some("can@psis"));
        assert_eq!(get("PGDATABASE"), Some("canopsis"));
        assert_eq!(get("PGSSLMODE"), Some("disable"));
        assert!(postgres_env("mysql://x@y/z").is_err());
    }

    #[test]
    fn redis_url_is_split() {
        let t = RedisTarget::parse("redis://:secret@localhost:6379/1").unwrap();
        assert_eq!(
            t,
            RedisTarget {
                host: "localhost".into(),
                port: 6379,
                db: 1,
                password: Some("secret".into())
            }
        );
        assert_eq!(RedisTarget::parse("redis://redis").unwrap().db, 0);
        assert!(RedisTarget::parse("redis://h/x").is_err());
    }
}
