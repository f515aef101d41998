//! Queueing jobs and waiting for their own results.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use zbus_systemd::systemd1::ManagerProxy;

use super::SystemdError;

/// What a job does to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// StartUnit.
    Start,
    /// StopUnit.
    Stop,
    /// RestartUnit.
    Restart,
    /// ReloadOrRestartUnit.
    ReloadOrRestart,
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobKind::Start => "start",
            JobKind::Stop => "stop",
            JobKind::Restart => "restart",
            JobKind::ReloadOrRestart => "reload-or-restart",
        })
    }
}

/// How a job ended (the `result` of JobRemoved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// done
    Done,
    /// skipped (e.g. stopping a unit that is not running)
    Skipped,
    /// failed, timeout, canceled, dependency, invalid...
    Other(String),
}

impl JobResult {
    /// From the signal's text.
    pub fn parse(text: &str) -> Self {
        match text {
            "done" => JobResult::Done,
            "skipped" => JobResult::Skipped,
            other => JobResult::Other(other.to_owned()),
        }
    }

    /// done or skipped.
    pub fn is_success(&self) -> bool {
        matches!(self, JobResult::Done | JobResult::Skipped)
    }
}

impl fmt::Display for JobResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobResult::Done => f.write_str("done"),
            JobResult::Skipped => f.write_str("skipped"),
            JobResult::Other(s) => f.write_str(s),
        }
    }
}

/// Queues every job, then waits for each one's JobRemoved; the result of each unit's job.
pub(super) async fn run(
    manager: &ManagerProxy<'static>,
    requests: &[(JobKind, String)],
    timeout: Duration,
) -> Result<BTreeMap<String, JobResult>, SystemdError> {
    // Subscribe before queueing: a fast job may end before its reply reaches us.
    let mut removed = manager.receive_job_removed().await?;
    let mut pending: HashMap<String, (JobKind, String)> = HashMap::new();
    for (kind, unit) in requests {
        let (name, mode) = (unit.clone(), "replace".to_owned());
        let job = match kind {
            JobKind::Start => manager.start_unit(name, mode).await?,
            JobKind::Stop => manager.stop_unit(name, mode).await?,
            JobKind::Restart => manager.restart_unit(name, mode).await?,
            JobKind::ReloadOrRestart => manager.reload_or_restart_unit(name, mode).await?,
        };
        pending.insert(job.to_string(), (*kind, unit.clone()));
    }
    let mut results = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !pending.is_empty() {
        let signal = match tokio::time::timeout_at(deadline, removed.next()).await {
            Ok(Some(signal)) => signal,
            Ok(None) => {
                return Err(SystemdError::Bus(zbus::Error::Failure(
                    "the bus closed while waiting for jobs".into(),
                )))
            }
            Err(_) => {
                let (kind, unit) = pending.into_values().next().expect("pending is not empty");
                return Err(SystemdError::JobTimeout {
                    kind,
                    unit,
                    after: timeout,
                });
            }
        };
        let args = signal.args()?;
        if let Some((_, unit)) = pending.remove(args.job.as_str()) {
            results.insert(unit, JobResult::parse(&args.result));
        }
    }
    Ok(results)
}

/// An error for the first job that did not succeed.
pub(super) fn require_done(
    kind: JobKind,
    results: BTreeMap<String, JobResult>,
) -> Result<(), SystemdError> {
    match results.into_iter().find(|(_, r)| !r.is_success()) {
        None => Ok(()),
        Some((unit, result)) => Err(SystemdError::Job { kind, unit, result }),
    }
}
