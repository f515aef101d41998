//! The run after READY: maintenance mode left on by a crash switched off, then, window after
//! window, the wait, the announcement, the opening (maintenance mode, the broker's baseline),
//! the steps, and the close (verify, drain, outcome). It talks to the world only through the
//! traits of [`super::ports`].

use std::time::Duration;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use super::journaling;
use super::ports::{
    Announcement, BrokerWatch, DrainWatch, SiteApi, StatusReport, StepSource, WallClock,
};
use super::steps::{StepRunner, StepsOutcome};
use super::stop::StopSignal;
use super::RunOutcome;
use crate::config::Settings;
use crate::journal::{JournalFile, Run, RunStatus};
use crate::version::Version;
use crate::window::Window;

/// Everything the run after READY talks to.
pub struct Orchestrator<'a> {
    /// The configuration (windows, broadcast, API and broker policies).
    pub settings: &'a Settings,
    /// The journal, with the run under way in it.
    pub journal: &'a JournalFile,
    /// The site's Canopsis API.
    pub site: &'a dyn SiteApi,
    /// The site's broker.
    pub broker: &'a dyn BrokerWatch,
    /// systemd.
    pub status: &'a dyn StatusReport,
    /// The wall clock.
    pub clock: &'a dyn WallClock,
    /// SIGTERM.
    pub stop: &'a StopSignal,
    /// The steps of the plan.
    pub steps: &'a dyn StepSource,
    /// The version the run began from.
    pub from: &'a Version,
    /// The target.
    pub to: &'a Version,
    /// `--now`: no waiting for a window.
    pub now: bool,
}

impl Orchestrator<'_> {
    /// Runs what is left of the upgrade, window after window, until done, stopped or failed.
    pub fn run(&self) -> Result<RunOutcome> {
        // A crash may have left maintenance mode on: users must not stay locked out while we wait.
        if self.run_state(|r| r.maintenance_on) {
            self.site.set_maintenance(false)?;
            journaling::set_maintenance(self.journal, false)?;
        }
        let runner = StepRunner {
            steps: self.steps,
            journal: self.journal,
            status: self.status,
            clock: self.clock,
            stop: self.stop,
            restore_on_failure: self.settings.restore_on_failure,
        };
        let mut ran = 0;
        // After a pause: the window that was too short (the next one opens after it closes).
        let mut paused_in: Option<Window> = None;
        loop {
            let Some(window) = self.wait_for_window(paused_in.map(|w| w.end))? else {
                // Steps may have run in an earlier window of this process.
                return self.stopped(self.journal.read(journaling::first_not_done));
            };
            self.open(&window)?;
            let baseline = self
                .journal
                .read(|j| j.current.as_ref().and_then(|r| r.baseline.clone()));
            let sampler = baseline.and_then(|b| self.broker.sample_outage(&b));
            let outcome = runner.run(&window)?;
            let peak = sampler.map(|s| s.finish());
            match outcome {
                StepsOutcome::Completed { ran: now } => {
                    self.close_maintenance()?;
                    return self.complete(&window, ran + now, peak);
                }
                StepsOutcome::Paused {
                    next_step,
                    ran: now,
                } => {
                    ran += now;
                    paused_in = Some(window);
                    self.close_maintenance()?;
                    self.paused(next_step);
                }
                StepsOutcome::Stopped { next_step } => {
                    self.close_maintenance()?;
                    return self.stopped(next_step);
                }
                StepsOutcome::Failed(text) => return Err(self.failed(&window, text)),
            }
        }
    }

    /// A fact of the run under way (false when there is none).
    fn run_state(&self, read: impl FnOnce(&Run) -> bool) -> bool {
        self.journal.read(|j| j.current.as_ref().is_some_and(read))
    }

    fn say(&self, text: &str) {
        self.status.status(text);
        tracing::info!("{text}");
    }

    fn paused(&self, next_step: usize) {
        self.say(&format!(
            "the maintenance window closes before the rest of the plan can finish: paused before step {next_step}/{}, resuming in the next window",
            self.steps.count()
        ));
    }

    /// The window the steps run in, after announcing it and waiting for it (None: stopped
    /// while waiting). Without slots, or with `--now`, it is open from now on. `not_before`:
    /// the end of a window the run paused in (the same window would pause again at once).
    fn wait_for_window(&self, not_before: Option<Timestamp>) -> Result<Option<Window>> {
        let now = self.clock.now();
        let schedule = &self.settings.window;
        let window = match schedule.next_window(not_before.map_or(now, |t| t.max(now))) {
            Some(next) if !self.now => next,
            _ => return self.open_ended_window(now).map(Some),
        };
        let tz = schedule.time_zone();
        if self.settings.broadcast.enabled && !window.contains(now) {
            let at = crate::canopsis::announce::announce_at(
                window.start,
                self.settings.broadcast.lead_time,
            );
            if at > now && !self.announced(&window) {
                self.say(&format!(
                    "waiting to announce, at {}, the maintenance window {}",
                    at.to_zoned(tz.clone()).strftime("%a %Y-%m-%d %H:%M %Z"),
                    window.describe(tz)
                ));
                if !self.clock.sleep_until(at) {
                    return Ok(None);
                }
            }
        }
        self.announce(&window)?;
        if !window.contains(self.clock.now()) {
            self.say(&format!(
                "waiting for the maintenance window {}",
                window.describe(tz)
            ));
            if !self.clock.sleep_until(window.start) {
                return Ok(None);
            }
        }
        // The window as it stands now (overlapping slots merged).
        Ok(Some(schedule.window_at(self.clock.now()).unwrap_or(window)))
    }

    /// No window to wait for: open since the run began, so that a run resumed after a crash
    /// finds the same announcement (its id is made of the window's start).
    fn open_ended_window(&self, now: Timestamp) -> Result<Window> {
        let start = self
            .journal
            .read(|j| j.current.as_ref().map(|r| r.started_at))
            .map_or(now, |began| began.min(now));
        let estimate = self.steps.remaining_estimate(0) + Duration::from_secs(1800);
        let guessed_end = now + SignedDuration::try_from(estimate)?;
        self.announce(&Window {
            start,
            end: guessed_end,
        })?;
        Ok(Window {
            start,
            end: Timestamp::MAX,
        })
    }

    fn announcement(&self, window: &Window) -> Announcement<'_> {
        Announcement {
            from: self.from,
            to: self.to,
            window: *window,
        }
    }

    fn announced(&self, window: &Window) -> bool {
        let id = self.announcement(window).id();
        self.run_state(|r| r.announcement.as_deref() == Some(id.as_str()))
    }

    /// Announces the window once (a retry after a crash updates the same message).
    fn announce(&self, window: &Window) -> Result<()> {
        if !self.settings.broadcast.enabled || self.announced(window) {
            return Ok(());
        }
        match self.site.announce(&self.announcement(window)) {
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
        if self.site.maintenance_applies(self.from) && !self.run_state(|r| r.maintenance_on) {
            // Journaled first: a crash right after leaves it known, and switched off next time.
            journaling::set_maintenance(self.journal, true)?;
            if let Err(e) = self.site.set_maintenance(true) {
                return Err(self.failed(window, format!("{e:#}")));
            }
        }
        if self.broker.watches() && !self.run_state(|r| r.baseline.is_some()) {
            match self.broker.baseline() {
                Ok(baseline) => journaling::set_baseline(self.journal, baseline)?,
                Err(e) => return Err(self.failed(window, format!("{e:#}"))),
            }
        }
        Ok(())
    }

    /// Maintenance mode off, if this run switched it on.
    fn close_maintenance(&self) -> Result<()> {
        if self.run_state(|r| r.maintenance_on) {
            self.site.set_maintenance(false)?;
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
        self.status.stopping(&text);
        tracing::info!("{text}");
        Ok(RunOutcome::Stopped { next_step })
    }

    /// The run failed: maintenance off, the failure announced (both best effort), STATUS says why.
    fn failed(&self, window: &Window, text: String) -> anyhow::Error {
        if let Err(e) = journaling::set_status(self.journal, RunStatus::Failed) {
            tracing::error!("{e:#}");
        }
        if let Err(e) = self.close_maintenance() {
            tracing::error!("{e:#}");
        }
        if self.settings.broadcast.enabled {
            let announcement = self.announcement(window);
            // Users read this: what happened in their words; the details are the admin's.
            let announced = self.announced(window);
            let outcome = self.site.announce_outcome(
                &announcement,
                false,
                "stopped before its end",
                announced,
            );
            if let Err(e) = outcome {
                tracing::error!("{e:#}");
            }
        }
        self.status.status(&text);
        anyhow::anyhow!(text)
    }

    /// Every step done: read the version back, watch the drain, announce, and journal it.
    fn complete(
        &self,
        window: &Window,
        ran: usize,
        outage_peak: Option<u64>,
    ) -> Result<RunOutcome> {
        let verified = match self.site.verify(self.to) {
            Ok(text) => text,
            Err(e) => {
                return Err(self.failed(window, format!("the upgrade's steps are done but {e:#}")))
            }
        };
        tracing::info!("{verified}");
        let mut summary = format!("upgraded from {} to {}", self.from, self.to);
        if let Some(drained) = self.drain(window, outage_peak)? {
            summary.push_str("; ");
            summary.push_str(&drained);
        }
        if self.settings.broadcast.enabled {
            let announced = self.announced(window);
            if let Err(e) =
                self.site
                    .announce_outcome(&self.announcement(window), true, "done", announced)
            {
                tracing::warn!("{e:#}");
            }
        }
        journaling::finish(self.journal)?;
        self.say(&summary);
        Ok(RunOutcome::Completed {
            from: self.from.clone(),
            to: self.to.clone(),
            ran,
        })
    }

    /// The drain watch after the restart: what it saw, for the summary (None: not watched,
    /// or did not end and only a warning was asked).
    fn drain(&self, window: &Window, outage_peak: Option<u64>) -> Result<Option<String>> {
        let baseline = self
            .journal
            .read(|j| j.current.as_ref().and_then(|r| r.baseline.clone()));
        let Some(baseline) = baseline else {
            return Ok(None);
        };
        let mut on_status = |line: &str| self.status.status(line);
        match self.broker.watch_drain(&baseline, &mut on_status) {
            Some(DrainWatch::Drained(report)) => {
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
                Ok(Some(drained))
            }
            Some(DrainWatch::Stopped) => {
                tracing::warn!(
                    "stopped during the drain watch: the upgrade is done, the drain not verified"
                );
                Ok(Some("stopped before the drain was verified".to_owned()))
            }
            Some(DrainWatch::NotNormal(e)) if self.settings.rabbitmq.fail_on_drain_timeout => {
                Err(self.failed(
                    window,
                    format!(
                        "upgraded to {}, but RabbitMQ did not return to normal: {e}",
                        self.to
                    ),
                ))
            }
            Some(DrainWatch::NotNormal(e)) => {
                tracing::warn!(
                    "RabbitMQ did not return to normal: {e} (rabbitmq.on_drain_timeout = \"warn\")"
                );
                Ok(None)
            }
            None => Ok(None),
        }
    }
}
