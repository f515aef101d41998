//! The orchestrator of a live upgrade: preflight, READY, then each step of the plan journaled
//! before and after it runs, resuming where an earlier run stopped. It holds no I/O of its own
//! beyond calling the other modules.

pub mod inputs;
mod journaling;
pub mod nightly;
pub mod stop;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::config::Settings;
use crate::executor::backup::{self, BackupStore};
use crate::executor::live::{Hold, LiveExecutor, LiveSettings};
use crate::journal::{JournalFile, RunStatus, StepState};
use crate::notify::Notifier;
use crate::plan::{Plan, Procedures, StepSpec};
use crate::systemd::Systemd;
use crate::version::Version;
use stop::StopSignal;

/// What to upgrade to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This version.
    Version(Version),
    /// The newest release the nightly policy allows (nothing to do is a success).
    Nightly,
}

/// What `run` was asked.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The target.
    pub target: Target,
    /// The installed version (detected when not given).
    pub from: Option<Version>,
    /// Releases whose manual steps the admin acknowledges on the command line.
    pub acks: Vec<Version>,
    /// Run even though a script under a step already done has changed.
    pub accept_changed: bool,
    /// Tests of crash and resume: stop after the first action of a step.
    pub hold: Option<Hold>,
}

/// How a run ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every step done.
    Completed {
        /// From.
        from: Version,
        /// To.
        to: Version,
        /// Steps run by this process (the others were done by an earlier run).
        ran: usize,
    },
    /// The nightly policy allows nothing newer than the installed version.
    NothingToDo {
        /// The installed version.
        installed: Version,
    },
    /// Stopped at a step boundary (SIGTERM); `run` again resumes.
    Stopped {
        /// The first step not done.
        next_step: usize,
    },
}

/// Runs (or resumes) an upgrade. `stop` is raised by SIGTERM; steps are never interrupted.
pub fn run(
    settings: &Settings,
    options: &RunOptions,
    notifier: &Arc<Notifier>,
    stop: &StopSignal,
    runtime: &tokio::runtime::Handle,
) -> Result<RunOutcome> {
    // ---- preflight: any error here ends the process before READY ----
    let _lock = crate::lock::RunLock::acquire(&settings.lock_file)?;
    std::fs::create_dir_all(&settings.state_dir)
        .with_context(|| format!("cannot create {}", settings.state_dir.display()))?;
    let journal = Arc::new(JournalFile::open(&settings.state_dir.join("journal.json"))?);
    let unfinished = journal.read(|j| j.current.clone());
    let catalog = inputs::catalog(settings)?;
    let (from, to) = match (&unfinished, &options.target) {
        (Some(run), Target::Version(to)) if *to != run.to => bail!(
            "an unfinished upgrade from {} to {} is in the journal {}: run it again with --to {} to finish it",
            run.from,
            run.to,
            journal.path().display(),
            run.to
        ),
        // The installed version may be half-way: the journal knows where the run began.
        (Some(run), _) => (run.from.clone(), run.to.clone()),
        (None, Target::Version(to)) => (inputs::installed_version(settings, options.from.clone())?, to.clone()),
        (None, Target::Nightly) => {
            let installed = inputs::installed_version(settings, options.from.clone())?;
            match nightly::target(settings, &catalog, &installed)? {
                Some(to) => (installed, to),
                None => {
                    let policy = settings.nightly_policy.as_ref().map(ToString::to_string).unwrap_or_default();
                    let text = format!("nothing to do: {installed} is the newest release {policy} allows");
                    notifier.ready(&text);
                    tracing::info!("{text}");
                    return Ok(RunOutcome::NothingToDo { installed });
                }
            }
        }
    };
    let scripts = inputs::scripts(settings)?;
    let plan = inputs::dry_run_plan(settings, &catalog, &scripts, from.clone(), to.clone())?;
    check_acknowledged(&plan, settings, &options.acks)?;
    match &unfinished {
        Some(run) => journaling::check_resumable(run, &plan, options.accept_changed)?,
        None => journaling::begin(&journal, &plan)?,
    }
    let systemd = runtime
        .block_on(Systemd::connect(settings.job_timeout))
        .context("cannot reach systemd on the system bus")?;
    let current_step = Arc::new(AtomicUsize::new(0));
    let run_id = journal
        .read(|j| j.current.as_ref().map(|r| r.id.clone()))
        .unwrap_or_default();
    let backups = BackupStore::new(
        settings.state_dir.join("backups").join(&run_id),
        journal.clone(),
        current_step.clone(),
    );
    let label = Arc::new(std::sync::Mutex::new(String::new()));
    let progress = {
        let (label, notifier) = (label.clone(), notifier.clone());
        move |action: &crate::action::Action, expected: std::time::Duration| {
            notifier.status(&format!("{}: {}", label.lock().unwrap(), action.describe()));
            // Time for this action, so a stop (or a runtime limit) waits for it to end.
            notifier.extend_timeout(expected + std::time::Duration::from_secs(60));
        }
    };
    let live = LiveExecutor::new(
        live_settings(settings),
        systemd,
        runtime.clone(),
        backups,
        current_step.clone(),
        options.hold.clone(),
    )
    .with_progress(Arc::new(progress));
    let procedures = Procedures::prepare(
        &catalog,
        &scripts,
        inputs::procedure(settings, from.clone(), to.clone()),
        Arc::new(live),
    )?;
    let total = procedures.steps().len();
    let first = journal.read(|j| journaling::first_not_done(j));
    notifier.ready(&format!(
        "ready: {from} -> {to}, {total} steps, starting at step {first}"
    ));
    tracing::info!("upgrade {from} -> {to}: {total} steps, starting at step {first}");

    // ---- the steps ----
    let mut ran = 0;
    for (index, spec) in procedures.steps().iter().enumerate() {
        let number = index + 1;
        if journal.read(|j| {
            j.current
                .as_ref()
                .is_some_and(|r| r.steps[index].state == StepState::Done)
        }) {
            continue;
        }
        if stop.is_raised() {
            journaling::set_status(&journal, RunStatus::Stopped)?;
            let text = format!("stopped before step {number}/{total}; run again to resume");
            notifier.stopping(&text);
            tracing::info!("{text}");
            return Ok(RunOutcome::Stopped { next_step: number });
        }
        let step = step_label(spec, number, total);
        *label.lock().unwrap() = step.clone();
        let label = step;
        current_step.store(number, Ordering::SeqCst);
        journaling::step_started(&journal, index)?;
        notifier.status(&label);
        tracing::info!("{label}");
        let started = Instant::now();
        match procedures.run_step(spec) {
            Ok(record) => {
                for message in &record.messages {
                    tracing::info!("{label}: {}: {}", message.level, message.text);
                }
                journaling::step_done(&journal, index)?;
                ran += 1;
                tracing::info!("{label}: done in {:.1} s", started.elapsed().as_secs_f64());
            }
            Err(error) => {
                let reason = error.to_string();
                journaling::step_failed(&journal, index, &reason)?;
                let restored = if settings.restore_on_failure {
                    restore(&journal)?
                } else {
                    String::new()
                };
                let text = format!("failed at {label}: {reason}{restored}");
                notifier.status(&text);
                bail!(text);
            }
        }
    }
    journaling::finish(&journal)?;
    let text = format!("upgraded from {from} to {to}");
    notifier.status(&text);
    tracing::info!("{text}");
    Ok(RunOutcome::Completed { from, to, ran })
}

/// "3/17 4.5.0 after_update", the prefix of every STATUS of a step.
fn step_label(spec: &StepSpec, number: usize, total: usize) -> String {
    let version = spec
        .version
        .as_ref()
        .map(|v| format!("{v} "))
        .unwrap_or_default();
    let function = if spec.hook == spec.function.function() {
        String::new()
    } else {
        format!(" {}", spec.function.function())
    };
    format!("{number}/{total} {version}{}{function}", spec.hook)
}

/// Every release with manual steps must be acknowledged (config or --ack).
fn check_acknowledged(plan: &Plan, settings: &Settings, acks: &[Version]) -> Result<()> {
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

fn restore(journal: &JournalFile) -> Result<String> {
    let backups = journal.read(|j| {
        j.current
            .as_ref()
            .map(|r| r.backups.clone())
            .unwrap_or_default()
    });
    if backups.is_empty() {
        return Ok(String::new());
    }
    let failures = backup::restore(&backups);
    journaling::after_restore(journal, &backups)?;
    if failures.is_empty() {
        Ok(format!("; {} file(s) restored", backups.len()))
    } else {
        let list: Vec<String> = failures
            .iter()
            .map(|(p, e)| format!("{}: {e}", p.display()))
            .collect();
        Ok(format!("; could not restore {}", list.join(", ")))
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
        policy: settings.policy(),
    }
}
