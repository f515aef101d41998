//! What the orchestrator talks to, as small traits: the site's API, the broker, systemd's
//! status, the clock and the steps. The live run plugs in the real ones; the unit tests plug in
//! fakes, so that resume, pause, recovery and stop are tested without root or a network.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use jiff::Timestamp;

use crate::journal::QueueFigures;
use crate::rabbitmq::DrainReport;
use crate::version::Version;
use crate::window::Window;

/// What the announcement says, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Announcement<'a> {
    /// Installed version.
    pub from: &'a Version,
    /// Target.
    pub to: &'a Version,
    /// The window it covers.
    pub window: Window,
}

impl Announcement<'_> {
    /// The broadcast message's id: made of the target and the window's start, so that a run
    /// resumed after a crash finds (and updates) the same message.
    pub fn id(&self) -> String {
        crate::canopsis::announce::broadcast_id(self.to, self.window.start)
    }
}

/// The Canopsis API as the run uses it: announcements, maintenance mode, the version read back.
pub trait SiteApi {
    /// Creates (or updates) the announcement of the window; its id.
    fn announce(&self, announcement: &Announcement) -> Result<String>;
    /// Replaces the announcement with the outcome (`status`: words for users, no internals);
    /// `announced`: the announcement exists, so the outcome updates it.
    fn announce_outcome(
        &self,
        announcement: &Announcement,
        success: bool,
        status: &str,
        announced: bool,
    ) -> Result<()>;
    /// Whether maintenance mode exists (and is configured) on the running version.
    fn maintenance_applies(&self, running: &Version) -> bool;
    /// Switches maintenance mode.
    fn set_maintenance(&self, enabled: bool) -> Result<()>;
    /// After the steps: the version read back and the health; a line saying what was seen.
    fn verify(&self, to: &Version) -> Result<String>;
}

/// The backlog sampled in the background while the steps run.
pub trait OutageSampling {
    /// Stops sampling; the peak backlog seen (messages above the baseline).
    fn finish(self: Box<Self>) -> u64;
}

/// RabbitMQ as the run uses it: the baseline, the outage's peak, the drain.
pub trait BrokerWatch {
    /// Whether the broker is watched at all.
    fn watches(&self) -> bool;
    /// The engine queues now, refusing an abnormal backlog.
    fn baseline(&self) -> Result<BTreeMap<String, QueueFigures>>;
    /// Starts sampling the backlog while the steps run.
    fn sample_outage(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
    ) -> Option<Box<dyn OutageSampling>>;
    /// Watches the drain after the restart until the queues are back to normal, or a stop
    /// (None: not watched).
    fn watch_drain(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
        on_status: &mut dyn FnMut(&str),
    ) -> Option<DrainWatch>;
}

/// How the drain watch ended.
#[derive(Debug)]
pub enum DrainWatch {
    /// Back to normal.
    Drained(DrainReport),
    /// Not back to normal (timeout, stuck queue, broker lost): why.
    NotNormal(anyhow::Error),
    /// A stop came first: the drain was not verified.
    Stopped,
}

/// What systemd is told (sd_notify).
pub trait StatusReport {
    /// What is going on.
    fn status(&self, status: &str);
    /// We are stopping.
    fn stopping(&self, status: &str);
}

impl StatusReport for crate::systemd::Notifier {
    fn status(&self, status: &str) {
        crate::systemd::Notifier::status(self, status);
    }
    fn stopping(&self, status: &str) {
        crate::systemd::Notifier::stopping(self, status);
    }
}

/// The wall clock, and sleeping on it unless stopped.
pub trait WallClock {
    /// Now.
    fn now(&self) -> Timestamp;
    /// Sleeps until `at`; false when a stop came first.
    fn sleep_until(&self, at: Timestamp) -> bool;
}

/// The steps of the plan, as the orchestrator runs them.
pub trait StepSource {
    /// How many steps the plan has.
    fn count(&self) -> usize;
    /// "3/17 4.5.0 after_update": what STATUS says while step `index` (0-based) runs.
    fn label(&self, index: usize) -> String;
    /// The estimated time of the steps from `index` (0-based) on, for the window guard.
    fn remaining_estimate(&self, index: usize) -> Duration;
    /// Runs step `index`: what it logged, or why it failed.
    fn run(&self, index: usize, label: &str) -> Result<Vec<String>, String>;
}
