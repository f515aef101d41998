//! What surrounds the steps of an upgrade: the Canopsis API (announcements, maintenance mode,
//! the version and health read back) and the broker (baseline, outage peak, drain).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jiff::Timestamp;

use crate::canopsis::announce::{self, Values};
use crate::canopsis::{self, ApiClient, Auth, BroadcastMessage};
use crate::config::{CredentialSource, Settings};
use crate::journal::QueueFigures;
use crate::rabbitmq::{
    self, Baseline, DrainCriteria, DrainMonitor, DrainReport, PollPlan, QueueSample, WatchError,
    Watcher,
};
use crate::version::Version;
use crate::window::Window;

/// The first release with maintenance mode.
const MAINTENANCE_SINCE: &str = "23.10.0";
/// The first release whose app-info (internal) tells the version.
const APP_INFO_SINCE: &str = "4.3.0";

/// The API and the broker, as configured.
pub struct Surroundings<'a> {
    settings: &'a Settings,
    runtime: tokio::runtime::Handle,
    api: ApiClient,
    watcher: Option<Watcher>,
}

/// What the announcement says, and until when.
pub struct Announcement<'a> {
    /// Installed version.
    pub from: &'a Version,
    /// Target.
    pub to: &'a Version,
    /// The window it covers.
    pub window: Window,
}

fn auth(settings: &Settings) -> Result<Auth> {
    let Some(kind) = settings.api.auth else {
        return Ok(Auth::None);
    };
    Ok(match &settings.api.credentials {
        CredentialSource::File(path) => Auth::from_file(path, kind)?,
        CredentialSource::Systemd(name) => Auth::from_systemd_credential(name, kind)?,
        CredentialSource::None => bail!("api.auth is set but no credentials are configured"),
    })
}

impl<'a> Surroundings<'a> {
    /// Builds the clients (credentials are read now: a missing file fails the preflight).
    pub fn new(settings: &'a Settings, runtime: tokio::runtime::Handle) -> Result<Self> {
        let api = ApiClient::new(&settings.api_url, auth(settings)?, settings.api.timeout)?;
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
            api,
            watcher,
        })
    }

    fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// Calls the API, retrying transient failures within the configured budget.
    fn with_retries<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, canopsis::ApiError>>,
    {
        let budget = self.settings.api.retry_budget;
        self.block_on(canopsis::retry(
            budget,
            Duration::from_millis(500),
            Duration::from_secs(15),
            op,
        ))
        .with_context(|| format!("Canopsis API: {what}"))
    }

    /// Preflight: the API answers (a warning, or an error when so configured), the broker
    /// answers and the engine queues exist.
    pub fn preflight(&self) -> Result<()> {
        if let Err(e) = self.block_on(self.api.app_info()) {
            let text = format!(
                "the Canopsis API at {} does not answer: {e}",
                self.api.base_url()
            );
            if self.settings.api.unreachable_before_is_error {
                bail!(text);
            }
            tracing::warn!("{text}; going on (api.unreachable_before = \"warn\")");
        }
        if let Some(watcher) = &self.watcher {
            let queues = self
                .block_on(watcher.engine_queues())
                .context("RabbitMQ preflight")?;
            tracing::info!(
                "RabbitMQ: {} engine queue(s): {}",
                queues.len(),
                queues.join(", ")
            );
        }
        Ok(())
    }

    /// The announcement's id, for the journal.
    pub fn announcement_id(announcement: &Announcement) -> String {
        announce::broadcast_id(announcement.to, announcement.window.start)
    }

    fn values<'v>(&'v self, a: &'v Announcement, status: &'v str) -> Values<'v> {
        Values {
            from: a.from.as_str(),
            to: a.to.as_str(),
            start: a.window.start,
            end: a.window.end,
            status,
            tz: self.settings.window.time_zone(),
        }
    }

    /// Creates (or, after a crash, updates) the broadcast message announcing the window.
    pub fn announce(&self, a: &Announcement) -> Result<String> {
        let b = &self.settings.broadcast;
        let message = BroadcastMessage {
            id: Self::announcement_id(a),
            message: b.message.render(&self.values(a, "")),
            color: b.color.clone(),
            start: Timestamp::now(),
            end: a.window.end,
        };
        let (written, _) = self.with_retries("announcing the upgrade", || {
            self.api.upsert_broadcast(&message)
        })?;
        tracing::info!(
            "announcement {} {written:?}: {}",
            message.id,
            message.message
        );
        Ok(message.id)
    }

    /// Replaces the announcement with the outcome, shown for `done_duration`.
    pub fn announce_outcome(&self, a: &Announcement, success: bool, status: &str) -> Result<()> {
        let b = &self.settings.broadcast;
        let template = if success {
            &b.done_message
        } else {
            &b.failure_message
        };
        let now = Timestamp::now();
        let message = BroadcastMessage {
            id: Self::announcement_id(a),
            message: template.render(&self.values(a, status)),
            color: b.color.clone(),
            start: now,
            end: now + jiff::SignedDuration::try_from(b.done_duration).unwrap_or_default(),
        };
        self.with_retries("announcing the outcome", || {
            self.api.upsert_broadcast(&message)
        })?;
        tracing::info!("outcome announced: {}", message.message);
        Ok(())
    }

    /// Whether maintenance mode applies to the running version.
    pub fn maintenance_applies(&self, running: &Version) -> bool {
        self.settings.maintenance.enabled
            && *running >= Version::parse(MAINTENANCE_SINCE).expect("a valid version")
    }

    /// Switches Canopsis's maintenance mode.
    pub fn set_maintenance(&self, enabled: bool) -> Result<()> {
        let m = &self.settings.maintenance;
        let change = self.with_retries(
            if enabled {
                "enabling maintenance mode"
            } else {
                "disabling maintenance mode"
            },
            || {
                self.api
                    .set_maintenance(enabled, Some(&m.message), m.color.as_deref())
            },
        )?;
        tracing::info!(
            "maintenance mode {}: {change:?}",
            if enabled { "on" } else { "off" }
        );
        Ok(())
    }

    /// After the upgrade: app-info must report the target, the live healthcheck (where it
    /// exists) must be ok. Canopsis may still be starting: retried within the budget.
    pub fn verify(&self, to: &Version) -> Result<String> {
        if *to < Version::parse(APP_INFO_SINCE).expect("a valid version") {
            return Ok(format!("{to} has no app-info: version not read back"));
        }
        let expected = to.clone();
        let version = self.with_retries("reading the version back", || async {
            let info = self.api.app_info().await?;
            Ok(info.parsed_version().ok())
        })?;
        match version {
            Some(v) if v == expected => {}
            Some(v) => bail!("app-info reports version {v}, not the target {expected}"),
            None => bail!("app-info does not report a version"),
        }
        match self.with_retries("the live healthcheck", || self.api.healthcheck_live())? {
            Some(true) => Ok(format!("app-info reports {expected}, healthcheck ok")),
            Some(false) => {
                bail!("app-info reports {expected} but /api/v4/healthcheck/live is not ok")
            }
            None => Ok(format!(
                "app-info reports {expected} (no live healthcheck before 23.10)"
            )),
        }
    }

    /// Whether the broker is watched.
    pub fn watches_broker(&self) -> bool {
        self.watcher.is_some()
    }

    /// The engine queues now, refusing an abnormal backlog (before the first step).
    pub fn baseline(&self) -> Result<BTreeMap<String, QueueFigures>> {
        let Some(watcher) = &self.watcher else {
            return Ok(BTreeMap::new());
        };
        let counts = self
            .block_on(watcher.live_counts())
            .context("RabbitMQ baseline")?;
        rabbitmq::preflight_check(&counts, self.settings.rabbitmq.abnormal_backlog)
            .context("the RabbitMQ backlog is abnormal already: the upgrade does not start")?;
        Ok(counts
            .into_iter()
            .map(|(name, s)| {
                (
                    name,
                    QueueFigures {
                        messages: s.messages,
                        consumers: s.consumers,
                    },
                )
            })
            .collect())
    }

    /// Samples the backlog in the background while the steps run; the peak so far is readable.
    pub fn sample_outage(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
    ) -> Option<OutageSampler> {
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
        Some(OutageSampler { peak, task })
    }

    /// Watches the drain after the restart until the queues are back to normal.
    pub fn watch_drain(
        &self,
        baseline: &BTreeMap<String, QueueFigures>,
        on_status: impl FnMut(&str),
    ) -> Option<Result<DrainReport, WatchError>> {
        let watcher = self.watcher.as_ref()?;
        let r = &self.settings.rabbitmq;
        let baseline = Baseline {
            queues: baseline
                .iter()
                .map(|(name, f)| {
                    (
                        name.clone(),
                        QueueSample {
                            messages: f.messages,
                            consumers: f.consumers,
                        },
                    )
                })
                .collect(),
        };
        let settings = DrainCriteria::from_config(r);
        let monitor = DrainMonitor::new(baseline, settings);
        let deadline = tokio::time::Instant::now() + r.drain_timeout + Duration::from_secs(60);
        let plan = PollPlan::new(Duration::from_millis(500), Duration::from_secs(5));
        Some(self.block_on(watcher.watch_drain(monitor, plan, on_status, deadline)))
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
pub struct OutageSampler {
    peak: Arc<Mutex<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl OutageSampler {
    /// Stops sampling; the peak backlog seen.
    pub fn finish(self) -> u64 {
        self.task.abort();
        *self.peak.lock().unwrap()
    }
}
