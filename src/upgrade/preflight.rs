//! Everything before READY: the lock, the journal, the versions, the scripts compiled and
//! dry-run, refusals and acknowledgements, the resume checks, the repositories, the API and the
//! broker answering, systemd reachable, the live executor. Any error ends the process before
//! READY, so that `systemctl start` itself fails with the reason.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::broker::RabbitBroker;
use super::site::CanopsisSite;
use super::stop::StopSignal;
use super::{inputs, journaling, nightly, RunOptions, RunOutcome, Target};
use crate::config::Settings;
use crate::executor::backup::BackupStore;
use crate::executor::live::{LiveExecutor, LiveSettings};
use crate::journal::{JournalFile, Run, StepState};
use crate::lock::RunLock;
use crate::plan::{Plan, Procedures};
use crate::systemd::Notifier;
use crate::version::Version;

/// A run that passed its preflight, ready to go.
pub struct PreparedRun<'a> {
    /// Held until the process ends: a second run is refused.
    pub _lock: RunLock,
    /// The journal, with this run in it.
    pub journal: Arc<JournalFile>,
    /// The dry-run plan.
    pub plan: Plan,
    /// The compiled procedures on the live executor.
    pub procedures: Procedures,
    /// The site's API.
    pub site: CanopsisSite<'a>,
    /// The site's broker.
    pub broker: RabbitBroker<'a>,
    /// From.
    pub from: Version,
    /// To.
    pub to: Version,
    /// The 1-based number of the step under way, shared with the executor.
    pub current_step: Arc<AtomicUsize>,
    /// The STATUS prefix shared with the executor's progress reports.
    pub label: Arc<Mutex<String>>,
}

/// What the preflight found.
pub enum Preflight<'a> {
    /// Ready to run.
    Ready(Box<PreparedRun<'a>>),
    /// Nothing to do (nightly, newest allowed installed): READY already said so.
    Done(RunOutcome),
}

/// Runs the preflight; READY=1 is sent when it passes.
pub fn prepare<'a>(
    settings: &'a Settings,
    options: &RunOptions,
    notifier: &Arc<Notifier>,
    stop: &'a StopSignal,
    runtime: &tokio::runtime::Handle,
) -> Result<Preflight<'a>> {
    let lock = RunLock::acquire(&settings.lock_file)?;
    std::fs::create_dir_all(&settings.state_dir)
        .with_context(|| format!("cannot create {}", settings.state_dir.display()))?;
    let journal = Arc::new(JournalFile::open(&settings.state_dir.join("journal.json"))?);
    let unfinished = journal.read(|j| j.current.clone());
    let catalog = inputs::catalog(settings)?;
    let (from, to) = match versions(settings, options, &journal, unfinished.as_ref(), &catalog)? {
        Versions::Upgrade(from, to) => (from, to),
        Versions::NothingNewer(installed) => {
            return Ok(nothing_to_do(settings, notifier, installed))
        }
    };
    let scripts = inputs::scripts(settings)?;
    let plan = inputs::dry_run_plan(settings, &catalog, &scripts, from.clone(), to.clone())?;
    check_runnable(&plan)?;
    check_acknowledged(&plan, settings, &options.acks)?;
    if let Some(run) = &unfinished {
        journaling::check_resumable(run, &plan, options.accept_changed)?;
    }
    if settings.install == crate::install::InstallMethod::Packages && packages_pending(&journal) {
        nightly::check_repository_offers(settings, &to)?;
    }
    let site = CanopsisSite::new(settings, runtime.clone())?;
    site.preflight()?;
    let broker = RabbitBroker::new(settings, runtime.clone(), stop)?;
    broker.preflight()?;
    let systemd = runtime
        .block_on(crate::systemd::Systemd::connect(settings.job_timeout))
        .context("cannot reach systemd on the system bus")?;
    if unfinished.is_none() {
        journaling::begin(&journal, &plan)?;
    }
    #[allow(unused_mut)] // changed only by the crash tests' hook
    let mut live = live_executor(settings, systemd, &journal, notifier, runtime);
    #[cfg(feature = "fault-injection")]
    {
        live.executor = live
            .executor
            .with_hold(options.hold.clone(), live.current_step.clone());
    }
    let procedures = Procedures::prepare(
        &catalog,
        &scripts,
        inputs::procedure(settings, from.clone(), to.clone()),
        Arc::new(live.executor),
    )?;
    let total = procedures.steps().len();
    let first = journal.read(journaling::first_not_done);
    notifier.ready(&format!(
        "ready: {from} -> {to}, {total} steps, starting at step {first}"
    ));
    tracing::info!("upgrade {from} -> {to}: {total} steps, starting at step {first}");
    Ok(Preflight::Ready(Box::new(PreparedRun {
        _lock: lock,
        journal,
        plan,
        procedures,
        site,
        broker,
        from,
        to,
        current_step: live.current_step,
        label: live.label,
    })))
}

fn nothing_to_do<'a>(
    settings: &Settings,
    notifier: &Notifier,
    installed: Version,
) -> Preflight<'a> {
    let policy = nightly::policy(settings, &installed);
    let text = format!("nothing to do: {installed} is the newest release {policy} allows");
    notifier.ready(&text);
    tracing::info!("{text}");
    Preflight::Done(RunOutcome::NothingToDo { installed })
}

/// The versions of a run.
enum Versions {
    /// From, to.
    Upgrade(Version, Version),
    /// The nightly policy allows nothing newer than this installed version.
    NothingNewer(Version),
}

/// From and to: an unfinished run's, or the installed version and the target.
fn versions(
    settings: &Settings,
    options: &RunOptions,
    journal: &JournalFile,
    unfinished: Option<&Run>,
    catalog: &crate::catalog::Catalog,
) -> Result<Versions> {
    Ok(match (unfinished, &options.target) {
        (Some(run), Target::Version(to)) if *to != run.to => bail!(
            "an unfinished upgrade from {} to {} is in the journal {}: run it again with --to {} to finish it",
            run.from,
            run.to,
            journal.path().display(),
            run.to
        ),
        // The installed version may be half-way: the journal knows where the run began.
        (Some(run), _) => Versions::Upgrade(run.from.clone(), run.to.clone()),
        (None, Target::Version(to)) => Versions::Upgrade(
            inputs::installed_version(settings, options.from.clone())?,
            to.clone(),
        ),
        (None, Target::Nightly) => {
            let installed = inputs::installed_version(settings, options.from.clone())?;
            match nightly::target(settings, catalog, &installed)? {
                Some(to) => Versions::Upgrade(installed, to),
                None => Versions::NothingNewer(installed),
            }
        }
    })
}

/// An upgrade the scripts refuse is not started.
fn check_runnable(plan: &Plan) -> Result<()> {
    if plan.refusals.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = plan
        .refusals
        .iter()
        .map(|r| {
            format!(
                "[{}] {}",
                r.version.as_ref().map_or("-".into(), ToString::to_string),
                r.text
            )
        })
        .collect();
    Err(Refused(reasons.join("; ")).into())
}

/// The scripts refuse this upgrade (it needs a step the tool cannot take).
#[derive(Debug, thiserror::Error)]
#[error("this upgrade cannot be run: {0}")]
pub struct Refused(pub String);

/// Whether the package update is still to run (a resumed run past it needs no repository check).
fn packages_pending(journal: &JournalFile) -> bool {
    journal.read(|j| {
        j.current.as_ref().is_none_or(|r| {
            r.steps
                .iter()
                .any(|s| s.function == "update_packages" && s.state != StepState::Done)
        })
    })
}

/// Every release with manual steps must be acknowledged (config or --ack).
pub fn check_acknowledged(plan: &Plan, settings: &Settings, acks: &[Version]) -> Result<()> {
    let acknowledged: BTreeSet<&Version> = settings.acknowledged.iter().chain(acks).collect();
    let mut missing: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for step in &plan.manual {
        let label = step
            .version
            .as_ref()
            .map_or("-".to_owned(), Version::to_string);
        let done = step
            .version
            .as_ref()
            .is_some_and(|v| acknowledged.contains(v));
        if !done && seen.insert(label.clone()) {
            let count = plan
                .manual
                .iter()
                .filter(|m| m.version == step.version)
                .count();
            missing.push(format!("{label} ({count} step(s))"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "manual steps are not acknowledged: {}. Read them with `canopsis-upgrade plan --from {} --to {}`, do them, then acknowledge with --ack VERSION or [manual] acknowledged",
            missing.join(", "),
            plan.from,
            plan.to
        );
    }
    Ok(())
}

/// The live executor and what it shares with the step runner.
struct Live {
    executor: LiveExecutor,
    current_step: Arc<AtomicUsize>,
    label: Arc<Mutex<String>>,
}

/// The live executor, its backups in this run's directory.
fn live_executor(
    settings: &Settings,
    systemd: crate::systemd::Systemd,
    journal: &Arc<JournalFile>,
    notifier: &Arc<Notifier>,
    runtime: &tokio::runtime::Handle,
) -> Live {
    let current_step = Arc::new(AtomicUsize::new(0));
    let run_id = journal
        .read(|j| j.current.as_ref().map(|r| r.id.clone()))
        .unwrap_or_default();
    let backups = BackupStore::new(
        settings.state_dir.join("backups").join(&run_id),
        journal.clone(),
        current_step.clone(),
    );
    let label = Arc::new(Mutex::new(String::new()));
    let progress = {
        let (label, notifier) = (label.clone(), notifier.clone());
        move |action: &crate::action::Action, expected: Duration| {
            notifier.status(&format!("{}: {}", label.lock().unwrap(), action.describe()));
            // Time for this action, so a stop (or a runtime limit) waits for it to end.
            notifier.extend_timeout(expected + Duration::from_secs(60));
        }
    };
    let executor = LiveExecutor::new(live_settings(settings), systemd, runtime.clone(), backups)
        .with_progress(Arc::new(progress));
    Live {
        executor,
        current_step,
        label,
    }
}

fn live_settings(settings: &Settings) -> LiveSettings {
    LiveSettings {
        install: settings.install,
        compose_dir: settings.compose_dir.clone(),
        engine_env_file: settings.engine_env_file.clone(),
        dropin_dir: settings.dropin_dir.clone(),
        runtime_unit_files: settings.runtime_unit_files,
        canopsis_units: settings.canopsis_units.clone(),
        settle: settings.settle,
        rules: settings.sandbox_rules(),
    }
}
