//! Units, over D-Bus: jobs on one unit or on the Canopsis units, unit files, drop-ins, state.

use rhai::Array;

use super::{api_fn, boolean, Registrar};
use crate::action::{Action, Query};
use crate::procedure::dropin;
use crate::procedure::host::{script_error, ApiResult};

pub(super) fn register(r: &mut Registrar) {
    r.group = "Units (over D-Bus; names without a type get .service; only units matching the configured patterns)";
    register_unit_jobs(r);
    api_fn!(
        r,
        "unit_dropin",
        "Writes /etc/systemd/system/<unit>.d/<name>.conf (replacing it) and reloads systemd.",
        |h, unit: &str, name: &str, text: &str| -> ApiResult<()> {
            let unit = h.unit(unit)?;
            dropin::check_unit_name(&unit).map_err(script_error)?;
            dropin::check_text(text).map_err(script_error)?;
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid {
                return Err(script_error(format!(
                    "unit_dropin: {name:?} must be a plain name (letters, digits, - and _)"
                )));
            }
            h.perform(Action::UnitDropin {
                unit,
                name: name.into(),
                text: text.into(),
            })
            .map(drop)
        }
    );
    register_unit_questions(r);
    api_fn!(
        r,
        "restart_units",
        "Restarts the given units at once (like `systemctl restart a b c`) and waits until all are active; a unit that does not exist is reported and skipped.",
        |h, units: Array| -> ApiResult<()> {
            if units.is_empty() {
                return Err(script_error("restart_units: no unit given"));
            }
            let units = units
                .into_iter()
                .map(|u| {
                    let name = u.into_immutable_string().map_err(|t| {
                        script_error(format!("restart_units: a unit is a {t}, expected a string"))
                    })?;
                    h.unit(&name)
                })
                .collect::<ApiResult<Vec<_>>>()?;
            h.perform(Action::RestartUnits { units }).map(drop)
        }
    );
    register_canopsis_jobs(r);
}

/// Whether a unit is active, or exists.
fn register_unit_questions(r: &mut Registrar) {
    api_fn!(
        r,
        "unit_active",
        "Whether a unit is active (a plan assumes yes).",
        |h, unit: &str| -> ApiResult<bool> {
            let unit = h.unit(unit)?;
            boolean(h.ask(Query::UnitActive(unit))?)
        }
    );
    api_fn!(
        r,
        "unit_exists",
        "Whether a unit is loaded or has a unit file (a plan assumes yes).",
        |h, unit: &str| -> ApiResult<bool> {
            let unit = h.unit(unit)?;
            boolean(h.ask(Query::UnitExists(unit))?)
        }
    );
}

/// Jobs and unit files of one unit: `unit_start(unit)`...
fn register_unit_jobs(r: &mut Registrar) {
    type Make = fn(String) -> Action;
    let one_unit: [(&str, &'static str, Make); 5] = [
        (
            "unit_start",
            "Starts a unit and waits for its job to finish.",
            |unit| Action::UnitStart { unit },
        ),
        (
            "unit_stop",
            "Stops a unit and waits for its job to finish.",
            |unit| Action::UnitStop { unit },
        ),
        (
            "unit_restart",
            "Restarts a unit and waits for its job to finish.",
            |unit| Action::UnitRestart { unit },
        ),
        ("unit_enable", "Enables a unit file.", |unit| {
            Action::UnitEnable { unit }
        }),
        (
            "unit_disable",
            "Disables a unit file; a unit that no longer exists is reported and skipped.",
            |unit| Action::UnitDisable { unit },
        ),
    ];
    for (name, doc, make) in one_unit {
        api_fn!(r, name, doc, |h, unit: &str| -> ApiResult<()> {
            let unit = h.unit(unit)?;
            h.perform(make(unit)).map(drop)
        });
    }
}

/// Actions on systemd or every Canopsis unit at once, without arguments.
fn register_canopsis_jobs(r: &mut Registrar) {
    type MakeAll = fn() -> Action;
    let whole: [(&str, &'static str, MakeAll); 4] = [
        ("daemon_reload", "Reloads systemd's unit files.", || Action::DaemonReload),
        (
            "restart_canopsis",
            "Restarts every Canopsis unit at once and waits until all are active (downtime = the slowest unit).",
            || Action::RestartCanopsis,
        ),
        ("stop_canopsis", "Stops every Canopsis unit.", || Action::StopCanopsis),
        ("start_canopsis", "Starts every Canopsis unit and waits until all are active.", || Action::StartCanopsis),
    ];
    for (name, doc, make) in whole {
        api_fn!(r, name, doc, |h| h.perform(make()).map(drop));
    }
}
