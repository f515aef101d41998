//! The orchestrator of a live upgrade: preflight ([`preflight`]: everything before READY), then
//! the [`Orchestrator`] walks the windows and the steps, each journaled before and after it runs,
//! resuming where an earlier run stopped. The orchestrator talks to the API, the broker, systemd,
//! the clock and the steps only through the traits of [`ports`], so it is unit-tested with fakes.

mod broker;
mod clock;
mod idle;
pub mod inputs;
mod journaling;
pub mod nightly;
mod orchestrator;
mod ports;
mod preflight;
mod site;
mod steps;
pub mod stop;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::Result;

use crate::config::Settings;
#[cfg(feature = "fault-injection")]
use crate::executor::fault::Hold;
use crate::systemd::Notifier;
use crate::version::Version;
use clock::LiveClock;
use orchestrator::Orchestrator;
use preflight::Preflight;
pub use preflight::Refused;
use steps::LiveSteps;
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
    let prepared = match preflight::prepare(settings, options, notifier, stop, runtime)? {
        Preflight::Ready(prepared) => prepared,
        Preflight::Done(outcome) => return Ok(outcome),
    };
    let steps = LiveSteps {
        procedures: &prepared.procedures,
        plan: &prepared.plan,
        current_step: &prepared.current_step,
        label: &prepared.label,
    };
    let clock = LiveClock { runtime, stop };
    let run_id = prepared
        .journal
        .read(|j| j.current.as_ref().map(|r| r.id.clone()))
        .unwrap_or_default();
    // Into the caller's span, if it has these fields (the command line's `run` span).
    let span = tracing::Span::current();
    span.record("run_id", run_id.as_str());
    span.record("from", prepared.from.as_str());
    span.record("to", prepared.to.as_str());
    Orchestrator {
        settings,
        journal: &prepared.journal,
        site: &prepared.site,
        broker: &prepared.broker,
        status: notifier.as_ref(),
        clock: &clock,
        stop,
        steps: &steps,
        from: &prepared.from,
        to: &prepared.to,
        now: options.now,
    }
    .run()
}
