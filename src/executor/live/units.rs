//! Unit actions over D-Bus: jobs on one unit, on the Canopsis units at once, unit files,
//! drop-ins, and the check that restarted units stay up.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{fail, not_of_family, LiveExecutor};
use crate::action::{Action, Answer, ExecError, Outcome, Query};
use crate::procedure::sandbox;
use crate::systemd::{self, JobKind, JobResult, Systemd};

impl LiveExecutor {
    /// Performs a unit action.
    pub(super) fn unit_action(&self, action: &Action) -> Result<Outcome, ExecError> {
        match action {
            Action::UnitStart { unit } => self.unit_job(JobKind::Start, unit),
            Action::UnitStop { unit } => self.unit_job(JobKind::Stop, unit),
            Action::UnitRestart { unit } => self.unit_job(JobKind::Restart, unit),
            Action::UnitEnable { unit } => self.unit_file(unit, true),
            Action::UnitDisable { unit } => self.unit_file(unit, false),
            Action::DaemonReload => self.daemon_reload(),
            Action::RestartCanopsis => self.all_units(JobKind::Restart, true),
            Action::RestartUnits { units } => self.some_units(units),
            Action::StopCanopsis => self.all_units(JobKind::Stop, false),
            Action::StartCanopsis => self.all_units(JobKind::Start, true),
            Action::UnitDropin { unit, name, text } => self.unit_dropin(unit, name, text),
            other => Err(not_of_family("unit", other)),
        }
    }

    /// Answers a question about a unit.
    pub(super) fn unit_query(&self, query: &Query) -> Result<Answer, ExecError> {
        match query {
            Query::UnitActive(unit) => Ok(Answer::Bool(
                self.block_on(self.systemd.state(unit))?.active_state == "active",
            )),
            Query::UnitExists(unit) => Ok(Answer::Bool(
                self.block_on(self.systemd.state(unit))?.exists(),
            )),
            other => Err(fail(format!(
                "internal error: {other:?} is not a unit question"
            ))),
        }
    }

    fn daemon_reload(&self) -> Result<Outcome, ExecError> {
        self.block_on(self.systemd.daemon_reload())
            .map(|()| Outcome::Done)
    }

    /// The Canopsis units systemd knows (loaded), but the meta unit canopsis.service and our own
    /// units (`canopsis*` matches canopsis-upgrade@4.5.0.service too).
    fn canopsis_units(&self) -> Result<Vec<String>, ExecError> {
        let units = self.block_on(self.systemd.list(&self.settings.canopsis_units))?;
        let names: Vec<String> = units
            .into_iter()
            .filter(|u| {
                u.exists()
                    && u.name.ends_with(".service")
                    && u.name != "canopsis.service"
                    && !sandbox::is_own_unit(&u.name)
            })
            .map(|u| u.name)
            .collect();
        if names.is_empty() {
            return Err(fail(format!(
                "no Canopsis unit is loaded (patterns {})",
                self.settings.canopsis_units.join(", ")
            )));
        }
        Ok(names)
    }

    /// Runs one job on every Canopsis unit at once; with `check`, every unit must then be
    /// running and stay so for the settle time.
    fn all_units(&self, kind: JobKind, check: bool) -> Result<Outcome, ExecError> {
        let units = self.canopsis_units()?;
        let results = self.block_on(self.systemd.jobs(kind, &units))?;
        all_succeeded(&kind.to_string(), &results)?;
        if check {
            self.block_on(settled(&self.systemd, &units, self.settings.settle))?;
        }
        Ok(Outcome::Done)
    }

    /// Restarts the given units at once (those that exist), then checks they stay up.
    fn some_units(&self, units: &[String]) -> Result<Outcome, ExecError> {
        let mut present = Vec::new();
        let mut missing = Vec::new();
        for unit in units {
            if self.block_on(self.systemd.state(unit))?.exists() {
                present.push(unit.clone());
            } else {
                tracing::warn!("{unit} does not exist: restart skipped");
                missing.push(unit.clone());
            }
        }
        if present.is_empty() {
            return Ok(Outcome::Skipped(format!(
                "none of {} exists: restart skipped",
                units.join(", ")
            )));
        }
        let results = self.block_on(self.systemd.jobs(JobKind::Restart, &present))?;
        all_succeeded("restart", &results)?;
        self.block_on(settled(&self.systemd, &present, self.settings.settle))?;
        if missing.is_empty() {
            Ok(Outcome::Done)
        } else {
            Ok(Outcome::Skipped(format!(
                "{} do(es) not exist: not restarted",
                missing.join(", ")
            )))
        }
    }

    fn unit_job(&self, kind: JobKind, unit: &str) -> Result<Outcome, ExecError> {
        let state = self.block_on(self.systemd.state(unit))?;
        if !state.exists() {
            tracing::warn!("{unit} does not exist: {kind} skipped");
            return Ok(Outcome::Skipped(format!(
                "{unit} does not exist: {kind} skipped"
            )));
        }
        self.block_on(self.systemd.job(kind, unit))?;
        Ok(Outcome::Done)
    }

    fn unit_file(&self, unit: &str, enable: bool) -> Result<Outcome, ExecError> {
        let runtime = self.settings.runtime_unit_files;
        let result = self.runtime.block_on(async {
            match enable {
                true => self.systemd.enable(unit, runtime).await,
                false => self.systemd.disable(unit, runtime).await,
            }
        });
        match result {
            Ok(()) => Ok(Outcome::Done),
            Err(e) if systemd::is_no_such_unit(&e) => {
                let what = if enable { "enable" } else { "disable" };
                tracing::warn!("{unit} does not exist: {what} skipped");
                Ok(Outcome::Skipped(format!(
                    "{unit} does not exist: {what} skipped"
                )))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// Writes `<dropin_dir>/<unit>.d/<name>.conf` and reloads systemd, unless it is already so.
    fn unit_dropin(&self, unit: &str, name: &str, text: &str) -> Result<Outcome, ExecError> {
        // Checked again here: an action may come from a plan made elsewhere.
        crate::procedure::dropin::check_unit_name(unit).map_err(fail)?;
        crate::procedure::dropin::check_text(text).map_err(fail)?;
        if crate::procedure::sandbox::is_own_unit(unit) {
            return Err(fail(format!(
                "sandbox: {unit} is one of the daemon's own units"
            )));
        }
        let dir = self.settings.dropin_dir.join(format!("{unit}.d"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!("{name}.conf"));
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            return Ok(Outcome::Done);
        }
        self.write(&path, text.as_bytes())?;
        self.daemon_reload()
    }
}

/// An error naming every unit whose job did not succeed (`what` failed: a (result), ...).
fn all_succeeded(what: &str, results: &BTreeMap<String, JobResult>) -> Result<(), ExecError> {
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, r)| !r.is_success())
        .map(|(u, r)| format!("{u} ({r})"))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(fail(format!("{what} failed: {}", failed.join(", "))))
    }
}

/// Every unit active, and not restarted by systemd during the settle time.
async fn settled(
    systemd: &Systemd,
    units: &[String],
    settle: Duration,
) -> Result<(), systemd::SystemdError> {
    let mut before = Vec::new();
    for unit in units {
        before.push(systemd.restart_marks(unit).await?);
    }
    tokio::time::sleep(settle).await;
    let mut down = Vec::new();
    for (unit, marks) in units.iter().zip(before) {
        let state = systemd.state(unit).await?;
        let now = systemd.restart_marks(unit).await?;
        if state.active_state != "active" {
            down.push((
                unit.clone(),
                format!("{}/{}", state.active_state, state.sub_state),
            ));
        } else if now != marks {
            down.push((
                unit.clone(),
                format!(
                    "restarted by systemd {} time(s): crash loop",
                    now.0.saturating_sub(marks.0).max(1)
                ),
            ));
        }
    }
    if down.is_empty() {
        Ok(())
    } else {
        Err(systemd::SystemdError::NotRunning(down))
    }
}
