//! The Canopsis API as the live run uses it (announcements, maintenance mode, the version and
//! health read back), every call retried within the configured budget.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use jiff::Timestamp;

use super::ports::{Announcement, SiteApi};
use crate::canopsis::announce::Values;
use crate::canopsis::{self, ApiClient, Auth, BroadcastMessage};
use crate::config::{CredentialSource, Settings};
use crate::version::Version;

/// The first release with maintenance mode.
const MAINTENANCE_SINCE: &str = "23.10.0";
/// The first release whose app-info (internal) tells the version.
const APP_INFO_SINCE: &str = "4.3.0";

/// The site's Canopsis API, as configured.
pub struct CanopsisSite<'a> {
    settings: &'a Settings,
    runtime: tokio::runtime::Handle,
    api: ApiClient,
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

impl<'a> CanopsisSite<'a> {
    /// Builds the client (credentials are read now: a missing file fails the preflight).
    pub fn new(settings: &'a Settings, runtime: tokio::runtime::Handle) -> Result<Self> {
        let api = ApiClient::new(&settings.api_url, auth(settings)?, settings.api.timeout)?;
        Ok(Self {
            settings,
            runtime,
            api,
        })
    }

    /// Calls the API, retrying transient failures within the configured budget.
    fn with_retries<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, canopsis::ApiError>>,
    {
        let budget = self.settings.api.retry_budget;
        self.runtime
            .block_on(canopsis::retry(
                budget,
                Duration::from_millis(500),
                Duration::from_secs(15),
                op,
            ))
            .with_context(|| format!("Canopsis API: {what}"))
    }

    /// Preflight: the API answers (a warning, or an error when so configured).
    pub fn preflight(&self) -> Result<()> {
        if let Err(e) = self.runtime.block_on(self.api.app_info()) {
            let text = format!(
                "the Canopsis API at {} does not answer: {e}",
                self.api.base_url()
            );
            if self.settings.api.unreachable_before_is_error {
                bail!(text);
            }
            tracing::warn!("{text}; going on (api.unreachable_before = \"warn\")");
        }
        Ok(())
    }

    fn values<'v>(
        &'v self,
        a: &'v Announcement,
        status: &'v str,
        installed: &'v str,
    ) -> Values<'v> {
        Values {
            from: a.from.as_str(),
            to: a.to.as_str(),
            start: a.window.start,
            end: a.window.end,
            status,
            installed,
            tz: self.settings.window.time_zone(),
        }
    }

    /// The version running now, as app-info says (one call: the outcome must not wait).
    fn installed_now(&self) -> String {
        match self.runtime.block_on(self.api.app_info()) {
            Ok(info) => info
                .parsed_version()
                .map_or_else(|_| "(version unknown)".to_owned(), |v| v.to_string()),
            Err(e) => {
                tracing::warn!("the version running now cannot be read back: {e}");
                "(version unknown)".to_owned()
            }
        }
    }

    /// Writes the broadcast message (created, or updated when it exists).
    fn upsert(&self, what: &str, message: &BroadcastMessage) -> Result<canopsis::Written> {
        let (written, _) = self.with_retries(what, || self.api.upsert_broadcast(message))?;
        Ok(written)
    }
}

impl SiteApi for CanopsisSite<'_> {
    fn announce(&self, a: &Announcement) -> Result<String> {
        let b = &self.settings.broadcast;
        let message = BroadcastMessage {
            id: a.id(),
            message: b.message.render(&self.values(a, "", "")),
            color: b.color.clone(),
            start: Timestamp::now(),
            end: a.window.end,
        };
        let written = self.upsert("announcing the upgrade", &message)?;
        tracing::info!(
            "announcement {} {written:?}: {}",
            message.id,
            message.message
        );
        Ok(message.id)
    }

    fn announce_outcome(
        &self,
        a: &Announcement,
        success: bool,
        status: &str,
        announced: bool,
    ) -> Result<()> {
        let b = &self.settings.broadcast;
        let (template, installed) = match success {
            true => (&b.done_message, a.to.to_string()),
            // After a failure the packages may be new or old: say what runs.
            false => (&b.failure_message, self.installed_now()),
        };
        let now = Timestamp::now();
        let message = BroadcastMessage {
            id: a.id(),
            message: template.render(&self.values(a, status, &installed)),
            color: b.color.clone(),
            start: now,
            end: now + jiff::SignedDuration::try_from(b.done_duration).unwrap_or_default(),
        };
        if announced {
            // It exists: update it in place (no POST refused with a 400 first).
            self.with_retries("announcing the outcome", || {
                self.api.update_broadcast(&message.id, &message)
            })?;
        } else {
            self.upsert("announcing the outcome", &message)?;
        }
        tracing::info!("outcome announced: {}", message.message);
        Ok(())
    }

    fn maintenance_applies(&self, running: &Version) -> bool {
        self.settings.maintenance.enabled
            && *running >= Version::parse(MAINTENANCE_SINCE).expect("a valid version")
    }

    fn set_maintenance(&self, enabled: bool) -> Result<()> {
        let m = &self.settings.maintenance;
        let what = if enabled {
            "enabling maintenance mode"
        } else {
            "disabling maintenance mode"
        };
        let change = self.with_retries(what, || {
            self.api
                .set_maintenance(enabled, Some(&m.message), m.color.as_deref())
        })?;
        tracing::info!(
            "maintenance mode {}: {change:?}",
            if enabled { "on" } else { "off" }
        );
        Ok(())
    }

    /// app-info must report the target, the live healthcheck (where it exists) must be ok.
    /// Canopsis may still be starting: retried within the budget.
    fn verify(&self, to: &Version) -> Result<String> {
        if *to < Version::parse(APP_INFO_SINCE).expect("a valid version") {
            return Ok(format!("{to} has no app-info: version not read back"));
        }
        let version = self.with_retries("reading the version back", || async {
            let info = self.api.app_info().await?;
            Ok(info.parsed_version().ok())
        })?;
        match version {
            Some(v) if v == *to => {}
            Some(v) => bail!("app-info reports version {v}, not the target {to}"),
            None => bail!("app-info does not report a version"),
        }
        match self.with_retries("the live healthcheck", || self.api.healthcheck_live())? {
            Some(true) => Ok(format!("app-info reports {to}, healthcheck ok")),
            Some(false) => {
                bail!("app-info reports {to} but /api/v4/healthcheck/live is not ok")
            }
            None => Ok(format!(
                "app-info reports {to} (no live healthcheck before 23.10)"
            )),
        }
    }
}
