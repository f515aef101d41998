//! RabbitMQ as the live run uses it: preflight, the baseline at window start, the outage's peak
//! sampled while the steps run, and the drain watch after the restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::ports::{BrokerWatch, DrainWatch, OutageSampling};
use super::stop::StopSignal;
use crate::config::Settings;
use crate::journal::QueueFigures;
use crate::rabbitmq::{
    self, Baseline, DrainCriteria, DrainMonitor, PollPlan, QueueSample, Watcher,
};

/// The site's broker, as configured (or not watched at all).
pub struct RabbitBroker<'a> {
    settings: &'a Settings,
    runtime: tokio::runtime::Handle,
    watcher: Option<Watcher>,
    stop: &'a StopSignal,
}

impl<'a> RabbitBroker<'a> {
    /// Builds the clients (credentials are read now: a missing file fails the preflight).
    pub fn new(
        settings: &'a Settings,
        runtime: tokio::runtime::Handle,
        stop: &'a StopSignal,
    ) -> Result<Self> {
        let watcher = match settings.rabbitmq.enabled {
            true => {
                let (management, target) = crate::rabbitmq::connection::from_settings(settings)?;
                Some(Watcher::new(management, target))
            }
            false => None,
        };
        Ok(Self {
            settings,
            runtime,
            watcher,
            stop,
        })
    }

    /// Preflight: the broker answers and the engine queues exist.
    pub fn preflight(&self) -> Result<()> {
        let Some(watcher) = &self.watcher else {
            return Ok(());
        };
        let queues = self
            .runtime
            .block_on(watcher.engine_queues())
            .context("RabbitMQ preflight")?;
        tracing::info!(
            "RabbitMQ: {} engine queue(s): {}",
            queues.len(),
            queues.join(", ")
        );
        Ok(())
    }
}

impl BrokerWatch for RabbitBroker<'_> {
    fn watches(&self) -> bool {
        self.watcher.is_some()
    }

    fn baseline(&self) -> Result<BTreeMap<String, QueueFigures>> {
        let Some(watcher) = &self.watcher else {
            return Ok(BTreeMap::new());
        };
        let counts = self
            .runtime
            .block_on(watcher.live_counts())
            .context("RabbitMQ baseline")?;
        rabbitmq::preflight_check(&counts, self.settings.rabbitmq.abnormal_backlog)
            .context("the RabbitMQ backlog is abnormal already: the upgrade does not start")?;
        Ok(counts
            .into_iter()
            .map(|(name, s)| (name, s.into()))
            .collect())
    }

    fn sample_outage(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
    ) -> Option<Box<dyn OutageSampling>> {
        let watcher = self.watcher.clone()?;
        let baseline = baseline.clone();
        let peak = Arc::new(Mutex::new(0u64));
        let seen = peak.clone();
        let task = self.runtime.spawn(async move {
            loop {
                if let Ok(counts) = watcher.live_counts().await {
                    let backlog = excess(&baseline, &counts);
                    let mut peak = seen.lock().unwrap();
                    *peak = (*peak).max(backlog);
                }
                // Passive declares are cheap: sample often, or the peak is missed by up to a
                // sampling period's worth of events.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Some(Box::new(OutageSampler { peak, task }))
    }

    fn watch_drain(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
        on_status: &mut dyn FnMut(&str),
    ) -> Option<DrainWatch> {
        let watcher = self.watcher.as_ref()?;
        let r = &self.settings.rabbitmq;
        let criteria = DrainCriteria::from_config(r);
        let monitor = DrainMonitor::new(Baseline::from(baseline), criteria);
        let deadline = tokio::time::Instant::now() + r.drain_timeout + Duration::from_secs(60);
        let plan = PollPlan::new(Duration::from_millis(500), Duration::from_secs(5));
        // The upgrade is done by now: a stop ends the watch at once, not at its deadline.
        let watched = self.runtime.block_on(async {
            tokio::select! {
                watched = watcher.watch_drain(monitor, plan, on_status, deadline) => Some(watched),
                () = self.stop.raised() => None,
            }
        });
        Some(match watched {
            Some(Ok(report)) => DrainWatch::Drained(report),
            Some(Err(e)) => DrainWatch::NotNormal(e.into()),
            None => DrainWatch::Stopped,
        })
    }
}

/// Messages above the baseline, summed over the baseline's queues.
fn excess(
    baseline: &BTreeMap<String, QueueFigures>,
    counts: &BTreeMap<String, QueueSample>,
) -> u64 {
    baseline
        .iter()
        .map(|(name, b)| {
            counts
                .get(name)
                .map_or(0, |c| c.messages.saturating_sub(b.messages))
        })
        .sum()
}

/// The background sampling of the outage.
struct OutageSampler {
    peak: Arc<Mutex<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl OutageSampling for OutageSampler {
    fn finish(self: Box<Self>) -> u64 {
        self.task.abort();
        *self.peak.lock().unwrap()
    }
}
