//! The orchestrator of a live upgrade: preflight, READY, then each step of the plan journaled
//! before and after it runs, resuming where an earlier run stopped. It holds no I/O of its own
//! beyond calling the other modules.

pub mod inputs;
mod journaling;
pub mod nightly;
mod steps;
pub mod stop;
mod surroundings;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jiff::{SignedDuration, Timestamp};

use crate::config::Settings;
use crate::executor::backup::BackupStore;
#[cfg(feature = "fault-injection")]
use crate::executor::fault::Hold;
use crate::executor::live::LiveExecutor;
use crate::journal::{JournalFile, RunStatus};
use crate::notify::Notifier;
use crate::plan::Procedures;
use crate::systemd::Systemd;
use crate::version::Version;
use crate::window::Window;
use steps::StepsOutcome;
use stop::StopSignal;
use surroundings::{Announcement, Surroundings};

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
    /// Start at once, without waiting for a maintenance window.
    pub now: bool,
    /// Tests of crash and resume: stop after the first action of a step.
    #[cfg(feature = "fault-injection")]
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
    if !plan.refusals.is_empty() {
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
        bail!("this upgrade cannot be run: {}", reasons.join("; "));
    }
    steps::check_acknowledged(&plan, settings, &options.acks)?;
    if let Some(run) = &unfinished {
        journaling::check_resumable(run, &plan, options.accept_changed)?;
    }
    let packages_pending = journal.read(|j| {
        j.current.as_ref().is_none_or(|r| {
            r.steps.iter().any(|s| {
                s.function == "update_packages" && s.state != crate::journal::StepState::Done
            })
        })
    });
    if settings.install == crate::install::InstallMethod::Packages && packages_pending {
        nightly::check_repository_offers(settings, &to)?;
    }
    let surroundings = Surroundings::new(settings, runtime.clone())?;
    surroundings.preflight()?;
    let systemd = runtime
        .block_on(Systemd::connect(settings.job_timeout))
        .context("cannot reach systemd on the system bus")?;
    if unfinished.is_none() {
        journaling::begin(&journal, &plan)?;
    }
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
    let live = LiveExecutor::new(
        steps::live_settings(settings),
        systemd,
        runtime.clone(),
        backups,
    );
    #[cfg(feature = "fault-injection")]
    let live = live.with_hold(options.hold.clone(), current_step.clone());
    let live = live.with_progress(Arc::new(progress));
    let procedures = Procedures::prepare(
        &catalog,
        &scripts,
        inputs::procedure(settings, from.clone(), to.clone()),
        Arc::new(live),
    )?;
    let total = procedures.steps().len();
    let first = journal.read(journaling::first_not_done);
    notifier.ready(&format!(
        "ready: {from} -> {to}, {total} steps, starting at step {first}"
    ));
    tracing::info!("upgrade {from} -> {to}: {total} steps, starting at step {first}");

    // A crash may have left maintenance mode on: users must not stay locked out while we wait.
    if journal.read(|j| j.current.as_ref().is_some_and(|r| r.maintenance_on)) {
        surroundings.set_maintenance(false)?;
        journaling::set_maintenance(&journal, false)?;
    }

    let runner = steps::StepRunner {
        procedures: &procedures,
        plan: &plan,
        journal: &journal,
        current_step: &current_step,
        label: &label,
        notifier,
        stop,
        restore_on_failure: settings.restore_on_failure,
    };
    let phases = Phases {
        settings,
        surroundings: &surroundings,
        journal: &journal,
        notifier,
        stop,
        runtime,
        from: &from,
        to: &to,
        now: options.now,
        estimate: plan.remaining_estimate(0),
    };
    let mut ran = 0;
    // After a pause: the window that was too short (the next one opens after it closes).
    let mut paused_in: Option<Window> = None;
    loop {
        let Some(window) = phases.wait_for_window(paused_in.map(|w| w.end))? else {
            // Steps may have run in an earlier window of this process.
            return phases.stopped(journal.read(journaling::first_not_done));
        };
        phases.open(&window)?;
        let sampler = journal
            .read(|j| j.current.as_ref().and_then(|r| r.baseline.clone()))
            .and_then(|baseline| surroundings.sample_outage(&baseline));
        let outcome = runner.run(&window)?;
        let peak = sampler.map(|s| s.finish());
        match outcome {
            StepsOutcome::Completed { ran: now } => {
                ran += now;
                phases.close_maintenance()?;
                return phases.complete(&window, ran, peak);
            }
            StepsOutcome::Paused {
                next_step,
                ran: now,
            } => {
                ran += now;
                paused_in = Some(window);
                phases.close_maintenance()?;
                let text = format!("the maintenance window closes before the rest of the plan can finish: paused before step {next_step}/{total}, resuming in the next window");
                notifier.status(&text);
                tracing::info!("{text}");
            }
            StepsOutcome::Stopped { next_step } => {
                phases.close_maintenance()?;
                return phases.stopped(next_step);
            }
            StepsOutcome::Failed(text) => return Err(phases.failed(&window, text)),
        }
    }
}

/// The phases around the steps: waiting for the window, opening it, closing it.
struct Phases<'a> {
    settings: &'a Settings,
    surroundings: &'a Surroundings<'a>,
    journal: &'a JournalFile,
    notifier: &'a Arc<Notifier>,
    stop: &'a StopSignal,
    runtime: &'a tokio::runtime::Handle,
    from: &'a Version,
    to: &'a Version,
    now: bool,
    estimate: Duration,
}

impl Phases<'_> {
    fn sleep_until(&self, at: Timestamp) -> bool {
        // A long wait (for a window hours away) should cost next to nothing.
        if at.duration_since(Timestamp::now()) > SignedDuration::from_secs(60) {
            let bytes = crate::idle::shed();
            tracing::debug!("waiting: {} KiB of code paged out", bytes / 1024);
        }
        self.runtime.block_on(self.stop.sleep_until(at))
    }

    /// The window the steps run in, after announcing it and waiting for it (None: stopped
    /// while waiting). Without slots, or with `--now`, it is open from now on. `not_before`:
    /// the end of a window the run paused in (the same window would pause again at once).
    fn wait_for_window(&self, not_before: Option<Timestamp>) -> Result<Option<Window>> {
        let now = Timestamp::now();
        let schedule = &self.settings.window;
        let window = match schedule.next_window(not_before.map_or(now, |t| t.max(now))) {
            Some(next) if !self.now => next,
            _ => {
                // Open since the run began: a run resumed after a crash finds the same
                // announcement (its id is made of the window's start).
                let start = self
                    .journal
                    .read(|j| j.current.as_ref().map(|r| r.started_at))
                    .map_or(now, |began| began.min(now));
                let guessed_end =
                    now + SignedDuration::try_from(self.estimate + Duration::from_secs(1800))?;
                self.announce(&Window {
                    start,
                    end: guessed_end,
                })?;
                return Ok(Some(Window {
                    start,
                    end: Timestamp::MAX,
                }));
            }
        };
        let tz = schedule.time_zone();
        if self.settings.broadcast.enabled && !window.contains(now) {
            let at = crate::canopsis::announce::announce_at(
                window.start,
                self.settings.broadcast.lead_time,
            );
            if at > now && !self.announced(&window) {
                let text = format!(
                    "waiting to announce, at {}, the maintenance window {}",
                    at.to_zoned(tz.clone()).strftime("%a %Y-%m-%d %H:%M %Z"),
                    window.describe(tz)
                );
                self.notifier.status(&text);
                tracing::info!("{text}");
                if !self.sleep_until(at) {
                    return Ok(None);
                }
            }
        }
        self.announce(&window)?;
        if !window.contains(Timestamp::now()) {
            let text = format!("waiting for the maintenance window {}", window.describe(tz));
            self.notifier.status(&text);
            tracing::info!("{text}");
            if !self.sleep_until(window.start) {
                return Ok(None);
            }
        }
        // The window as it stands now (overlapping slots merged).
        Ok(Some(schedule.window_at(Timestamp::now()).unwrap_or(window)))
    }

    fn announced(&self, window: &Window) -> bool {
        let id = Surroundings::announcement_id(&self.announcement(window));
        self.journal.read(|j| {
            j.current
                .as_ref()
                .is_some_and(|r| r.announcement.as_deref() == Some(id.as_str()))
        })
    }

    fn announcement(&self, window: &Window) -> Announcement<'_> {
        Announcement {
            from: self.from,
            to: self.to,
            window: *window,
        }
    }

    /// Announces the window once (a retry after a crash updates the same message).
    fn announce(&self, window: &Window) -> Result<()> {
        if !self.settings.broadcast.enabled || self.announced(window) {
            return Ok(());
        }
        match self.surroundings.announce(&self.announcement(window)) {
            Ok(id) => journaling::set_announcement(self.journal, Some(id)),
            Err(e) if !self.settings.api.unreachable_before_is_error => {
                tracing::warn!("{e:#}; the upgrade goes on without an announcement");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// At window start: maintenance mode on, the broker's baseline (refusing an abnormal one).
    fn open(&self, window: &Window) -> Result<()> {
        if self.surroundings.maintenance_applies(self.from)
            && !self
                .journal
                .read(|j| j.current.as_ref().is_some_and(|r| r.maintenance_on))
        {
            // Journaled first: a crash right after leaves it known, and switched off next time.
            journaling::set_maintenance(self.journal, true)?;
            if let Err(e) = self.surroundings.set_maintenance(true) {
                return Err(self.failed(window, format!("{e:#}")));
            }
        }
        let has_baseline = self
            .journal
            .read(|j| j.current.as_ref().is_some_and(|r| r.baseline.is_some()));
        if self.surroundings.watches_broker() && !has_baseline {
            match self.surroundings.baseline() {
                Ok(baseline) => journaling::set_baseline(self.journal, baseline)?,
                Err(e) => return Err(self.failed(window, format!("{e:#}"))),
            }
        }
        Ok(())
    }

    /// Maintenance mode off, if this run switched it on.
    fn close_maintenance(&self) -> Result<()> {
        if self
            .journal
            .read(|j| j.current.as_ref().is_some_and(|r| r.maintenance_on))
        {
            self.surroundings.set_maintenance(false)?;
            journaling::set_maintenance(self.journal, false)?;
        }
        Ok(())
    }

    fn stopped(&self, next_step: usize) -> Result<RunOutcome> {
        let text = format!(
            "stopped before step {next_step}/{}; run again to resume",
            self.journal
                .read(|j| j.current.as_ref().map_or(0, |r| r.steps.len()))
        );
        self.notifier.stopping(&text);
        tracing::info!("{text}");
        Ok(RunOutcome::Stopped { next_step })
    }

    /// The run failed: maintenance off, the failure announced (both best effort), STATUS says why.
    fn failed(&self, window: &Window, text: String) -> anyhow::Error {
        let _ = journaling::set_status(self.journal, RunStatus::Failed);
        if let Err(e) = self.close_maintenance() {
            tracing::error!("{e:#}");
        }
        if self.settings.broadcast.enabled {
            if let Err(e) =
                self.surroundings
                    .announce_outcome(&self.announcement(window), false, &text)
            {
                tracing::error!("{e:#}");
            }
        }
        self.notifier.status(&text);
        anyhow::anyhow!(text)
    }

    /// Every step done: read the version back, watch the drain, announce, and journal it.
    fn complete(
        &self,
        window: &Window,
        ran: usize,
        outage_peak: Option<u64>,
    ) -> Result<RunOutcome> {
        let verified = match self.surroundings.verify(self.to) {
            Ok(text) => text,
            Err(e) => {
                return Err(self.failed(window, format!("the upgrade's steps are done but {e:#}")))
            }
        };
        tracing::info!("{verified}");
        let mut summary = format!("upgraded from {} to {}", self.from, self.to);
        let baseline = self
            .journal
            .read(|j| j.current.as_ref().and_then(|r| r.baseline.clone()));
        if let Some(baseline) = baseline {
            let notifier = self.notifier.clone();
            let watched = self
                .surroundings
                .watch_drain(&baseline, move |line| notifier.status(line));
            match watched {
                Some(Ok(report)) => {
                    let peak = outage_peak.unwrap_or(0).max(report.peak);
                    let drained = format!(
                        "backlog peak {peak} messages, drained in {:.1} s{}",
                        report.drain_time.as_secs_f64(),
                        report
                            .rate
                            .map(|r| format!(" at {r:.0}/s"))
                            .unwrap_or_default()
                    );
                    tracing::info!(
                        "{drained} ({} samples, {:.0} requests/min)",
                        report.samples,
                        report.requests_per_minute
                    );
                    summary.push_str("; ");
                    summary.push_str(&drained);
                }
                Some(Err(e)) if self.settings.rabbitmq.fail_on_drain_timeout => {
                    return Err(self.failed(
                        window,
                        format!(
                            "upgraded to {}, but RabbitMQ did not return to normal: {e}",
                            self.to
                        ),
                    ));
                }
                Some(Err(e)) => tracing::warn!(
                    "RabbitMQ did not return to normal: {e} (rabbitmq.on_drain_timeout = \"warn\")"
                ),
                None => {}
            }
        }
        if self.settings.broadcast.enabled {
            if let Err(e) =
                self.surroundings
                    .announce_outcome(&self.announcement(window), true, "done")
            {
                tracing::warn!("{e:#}");
            }
        }
        journaling::finish(self.journal)?;
        self.notifier.status(&summary);
        tracing::info!("{summary}");
        Ok(RunOutcome::Completed {
            from: self.from.clone(),
            to: self.to.clone(),
            ran,
        })
    }
}
