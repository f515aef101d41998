//! systemd over D-Bus (org.freedesktop.systemd1): jobs and their results, unit state, unit
//! files, daemon-reload. Never `systemctl`.
//!
//! A job is waited for by its own JobRemoved signal: we subscribe before queueing it, so the
//! signal cannot be missed, and we match it by job path, so other jobs do not confuse us.

pub mod envfile;
mod jobs;
mod notify;

use std::collections::BTreeMap;
use std::time::Duration;

use zbus::proxy::CacheProperties;
use zbus_systemd::systemd1::{ManagerProxy, ServiceProxy, UnitProxy};

pub use jobs::{JobKind, JobResult};
pub use notify::Notifier;

/// A systemd operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    /// The bus or systemd did not answer.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// A job ended otherwise than `done`.
    #[error("{kind} {unit}: job {result}")]
    Job {
        /// What was asked.
        kind: JobKind,
        /// Of which unit.
        unit: String,
        /// How the job ended.
        result: JobResult,
    },
    /// A job did not end in time.
    #[error("{kind} {unit}: no result after {after:?}")]
    JobTimeout {
        /// What was asked.
        kind: JobKind,
        /// Of which unit.
        unit: String,
        /// How long it was waited for.
        after: Duration,
    },
    /// Units not active after their jobs finished.
    #[error("not running after the restart: {}", .0.iter().map(|(u, s)| format!("{u} ({s})")).collect::<Vec<_>>().join(", "))]
    NotRunning(Vec<(String, String)>),
}

/// The state of one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    /// The unit's name.
    pub name: String,
    /// loaded, not-found, masked...
    pub load_state: String,
    /// active, inactive, failed, activating...
    pub active_state: String,
    /// running, dead, auto-restart...
    pub sub_state: String,
}

/// A service's `Result` property: success, exit-code, signal, timeout, start-limit-hit...
pub type ServiceResult = String;

impl UnitState {
    /// Whether the unit is known to systemd (a unit file exists).
    pub fn exists(&self) -> bool {
        self.load_state != "not-found"
    }
}

/// A connection to systemd.
#[derive(Clone)]
pub struct Systemd {
    connection: zbus::Connection,
    manager: ManagerProxy<'static>,
    job_timeout: Duration,
}

impl Systemd {
    /// Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set) and subscribes to
    /// systemd's signals.
    pub async fn connect(job_timeout: Duration) -> Result<Self, SystemdError> {
        Self::on(zbus::Connection::system().await?, job_timeout).await
    }

    /// Connects to the bus at `address` (`unix:path=...`).
    pub async fn connect_to(address: &str, job_timeout: Duration) -> Result<Self, SystemdError> {
        let connection = zbus::connection::Builder::address(address).build().await?;
        Self::on(connection, job_timeout).await
    }

    async fn on(connection: zbus::Connection, job_timeout: Duration) -> Result<Self, SystemdError> {
        let manager = ManagerProxy::builder(&connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        // JobRemoved is only sent to subscribed clients.
        manager.subscribe().await?;
        Ok(Self {
            connection,
            manager,
            job_timeout,
        })
    }

    /// How long one job may take.
    pub fn job_timeout(&self) -> Duration {
        self.job_timeout
    }

    /// Runs one job and waits for its result.
    pub async fn job(&self, kind: JobKind, unit: &str) -> Result<(), SystemdError> {
        let results =
            jobs::run(&self.manager, &[(kind, unit.to_owned())], self.job_timeout).await?;
        jobs::require_done(kind, results)
    }

    /// Queues one job per unit, all at once, and waits for every one of them: the downtime of a
    /// restart is the slowest unit's, not the sum.
    pub async fn jobs(
        &self,
        kind: JobKind,
        units: &[String],
    ) -> Result<BTreeMap<String, JobResult>, SystemdError> {
        let requests: Vec<_> = units.iter().map(|u| (kind, u.clone())).collect();
        jobs::run(&self.manager, &requests, self.job_timeout).await
    }

    /// The state of a unit (loading it if needed: a unit that does not exist is `not-found`).
    pub async fn state(&self, unit: &str) -> Result<UnitState, SystemdError> {
        let path = self.manager.load_unit(unit.to_owned()).await?;
        let proxy = UnitProxy::builder(&self.connection)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        Ok(UnitState {
            name: unit.to_owned(),
            load_state: proxy.load_state().await?,
            active_state: proxy.active_state().await?,
            sub_state: proxy.sub_state().await?,
        })
    }

    /// The `Result` of a service (why it last stopped or failed).
    pub async fn service_result(&self, unit: &str) -> Result<ServiceResult, SystemdError> {
        Ok(self.service(unit).await?.result().await?)
    }

    /// How many times systemd restarted a service by itself, and its main PID: a unit that
    /// changes either while we watch is crash-looping under Restart=always.
    pub async fn restart_marks(&self, unit: &str) -> Result<(u32, u32), SystemdError> {
        let service = self.service(unit).await?;
        Ok((service.n_restarts().await?, service.exec_main_pid().await?))
    }

    async fn service(&self, unit: &str) -> Result<ServiceProxy<'static>, SystemdError> {
        let path = self.manager.load_unit(unit.to_owned()).await?;
        Ok(ServiceProxy::builder(&self.connection)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// The loaded units whose names match any of the patterns (fnmatch, as systemctl).
    pub async fn list(&self, patterns: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        let units = self
            .manager
            .list_units_by_patterns(Vec::new(), patterns.to_vec())
            .await?;
        let mut states: Vec<UnitState> = units
            .into_iter()
            .map(
                |(name, _, load_state, active_state, sub_state, ..)| UnitState {
                    name,
                    load_state,
                    active_state,
                    sub_state,
                },
            )
            .collect();
        states.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(states)
    }

    /// Reloads the unit files (systemctl daemon-reload); returns when systemd is done.
    pub async fn daemon_reload(&self) -> Result<(), SystemdError> {
        Ok(self.manager.reload().await?)
    }

    /// Enables a unit file (in /run when `runtime`).
    pub async fn enable(&self, unit: &str, runtime: bool) -> Result<(), SystemdError> {
        self.manager
            .enable_unit_files(vec![unit.to_owned()], runtime, false)
            .await?;
        Ok(())
    }

    /// Disables a unit file (in /run when `runtime`).
    pub async fn disable(&self, unit: &str, runtime: bool) -> Result<(), SystemdError> {
        self.manager
            .disable_unit_files(vec![unit.to_owned()], runtime)
            .await?;
        Ok(())
    }
}

/// Whether a D-Bus error says the unit does not exist.
pub fn is_no_such_unit(err: &SystemdError) -> bool {
    match err {
        SystemdError::Bus(zbus::Error::MethodError(name, _, _)) => {
            matches!(
                name.as_str(),
                "org.freedesktop.systemd1.NoSuchUnit" | "org.freedesktop.DBus.Error.FileNotFound"
            )
        }
        _ => false,
    }
}
