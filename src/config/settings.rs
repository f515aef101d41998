//! The validated settings: the last stage, assembled from each section's validation.

use std::path::PathBuf;
use std::time::Duration;

use super::input::Merged;
use super::sections::{
    api, broadcast, catalog, detect, install, maintenance, manual, nightly, rabbitmq, run, sandbox,
    scripts, systemd, window, ApiSettings, BroadcastSettings, DetectSource, MaintenanceSettings,
    NightlySource, RabbitmqSettings,
};
use super::ConfigError;
use crate::install::{Edition, InstallMethod};
use crate::policy::VersionPolicy;
use crate::procedure::Limits;
use crate::version::Version;

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The edition.
    pub edition: Edition,
    /// The install method.
    pub install: InstallMethod,
    /// The Compose project directory (compose installs only).
    pub compose_dir: Option<PathBuf>,
    /// go-engines-vars.conf.
    pub engine_env_file: PathBuf,
    /// The Canopsis API's base URL.
    pub api_url: String,
    /// Where to look for the installed version, in order.
    pub detect_sources: Vec<DetectSource>,
    /// The version file of 4.x installs.
    pub version_file: PathBuf,
    /// How long one detection may take.
    pub detect_timeout: Duration,
    /// Site indexes adding releases to the catalog.
    pub index_files: Vec<PathBuf>,
    /// Directories of release scripts that replace or add to the bundled ones.
    pub release_dirs: Vec<PathBuf>,
    /// Directories of add-on scripts.
    pub addon_dirs: Vec<PathBuf>,
    /// File roots of the sandbox (the Compose directory is added to them).
    pub file_roots: Vec<PathBuf>,
    /// Unit patterns of the sandbox.
    pub unit_patterns: Vec<glob::Pattern>,
    /// Programs the scripts may run.
    pub allowed_commands: Vec<String>,
    /// Script limits.
    pub limits: Limits,
    /// Default timeout of one command.
    pub command_timeout: Duration,
    /// Releases whose manual steps the admin has done.
    pub acknowledged: Vec<Version>,
    /// Where the journal and the backups live.
    pub state_dir: PathBuf,
    /// The lock that keeps runs apart.
    pub lock_file: PathBuf,
    /// Put the files edited in a run back when a step fails.
    pub restore_on_failure: bool,
    /// The units `restart_canopsis()` acts on (patterns, as systemctl takes them).
    pub canopsis_units: Vec<String>,
    /// How long one systemd job may take.
    pub job_timeout: Duration,
    /// How long restarted units must stay up to count as running.
    pub settle: Duration,
    /// Where unit drop-ins are written.
    pub dropin_dir: PathBuf,
    /// Enable/disable unit files in /run instead of /etc.
    pub runtime_unit_files: bool,
    /// The nightly mode's version policy.
    pub nightly_policy: Option<VersionPolicy>,
    /// Where the nightly mode looks for releases.
    pub nightly_source: NightlySource,
    /// The maintenance windows (none: any time).
    pub window: crate::window::Schedule,
    /// The Canopsis API.
    pub api: ApiSettings,
    /// User announcements.
    pub broadcast: BroadcastSettings,
    /// Canopsis's maintenance mode.
    pub maintenance: MaintenanceSettings,
    /// The broker and the drain watch.
    pub rabbitmq: RabbitmqSettings,
    /// The files this configuration was read from.
    pub files: Vec<String>,
}

/// Validates the merged input, section by section: every section's error is reported, not
/// only the first.
pub(super) fn validate(m: Merged, files: Vec<String>) -> Result<Settings, ConfigError> {
    let mut errors = Vec::new();
    let window = checked(window::validate(m.window), &mut errors);
    let api = checked(api::validate(m.api), &mut errors);
    let broadcast = checked(broadcast::validate(m.broadcast), &mut errors);
    let maintenance = checked(maintenance::validate(m.maintenance), &mut errors);
    let rabbitmq = checked(rabbitmq::validate(m.rabbitmq), &mut errors);
    let install = checked(install::validate(m.install), &mut errors);
    let detect = checked(detect::validate(m.detect), &mut errors);
    let compose_dir = install.as_ref().and_then(|i| i.compose_dir.clone());
    let sandbox = checked(
        sandbox::validate(m.sandbox, compose_dir.as_deref()),
        &mut errors,
    );
    let acknowledged = checked(manual::validate(m.manual), &mut errors);
    let index_files = checked(catalog::validate(m.catalog), &mut errors);
    let scripts = checked(scripts::validate(m.scripts), &mut errors);
    let run = checked(run::validate(m.run), &mut errors);
    let systemd = checked(systemd::validate(m.systemd), &mut errors);
    let nightly = checked(nightly::validate(m.nightly), &mut errors);
    if !errors.is_empty() {
        return Err(ConfigError::all(errors));
    }
    // No error: every section has its value.
    let (
        Some(window),
        Some(api),
        Some(broadcast),
        Some(maintenance),
        Some(rabbitmq),
        Some(install),
        Some(detect),
        Some(sandbox),
        Some(acknowledged),
        Some(index_files),
        Some(scripts),
        Some(run),
        Some(systemd),
        Some(nightly),
    ) = (
        window,
        api,
        broadcast,
        maintenance,
        rabbitmq,
        install,
        detect,
        sandbox,
        acknowledged,
        index_files,
        scripts,
        run,
        systemd,
        nightly,
    )
    else {
        unreachable!("every section validated without an error")
    };
    Ok(Settings {
        edition: install.edition,
        install: install.method,
        compose_dir: install.compose_dir,
        engine_env_file: install.engine_env_file,
        api_url: install.api_url,
        detect_sources: detect.sources,
        version_file: detect.version_file,
        detect_timeout: detect.timeout,
        index_files,
        release_dirs: scripts.release_dirs,
        addon_dirs: scripts.addon_dirs,
        file_roots: sandbox.file_roots,
        unit_patterns: sandbox.unit_patterns,
        allowed_commands: sandbox.allowed_commands,
        limits: sandbox.limits,
        command_timeout: sandbox.command_timeout,
        acknowledged,
        state_dir: run.state_dir,
        lock_file: run.lock_file,
        restore_on_failure: run.restore_on_failure,
        canopsis_units: systemd.canopsis_units,
        job_timeout: systemd.job_timeout,
        settle: systemd.settle,
        dropin_dir: systemd.dropin_dir,
        runtime_unit_files: systemd.runtime_unit_files,
        nightly_policy: nightly.policy,
        nightly_source: nightly.source,
        window,
        api,
        broadcast,
        maintenance,
        rabbitmq,
        files,
    })
}

/// The value of a section that validated, or None with its error kept.
fn checked<T>(result: Result<T, ConfigError>, errors: &mut Vec<ConfigError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}
