//! The flow of a step: manual steps, refusals, messages, failures, waits.

use rhai::INT;

use super::{api_fn, non_empty, Registrar};
use crate::action::Action;
use crate::procedure::host::{script_error, ApiResult, Host};

/// The longest `sleep()`, in seconds.
const MAX_SLEEP: f64 = 3600.0;

pub(super) fn register(r: &mut Registrar) {
    r.group = "Flow";
    api_fn!(
        r,
        "manual",
        "A step a person must do: shown by `plan`, and `run` refuses until it is acknowledged.",
        |h, text: &str| -> ApiResult<()> {
            let text = non_empty("text", text)?;
            h.perform(Action::Manual { text }).map(drop)
        }
    );
    api_fn!(
        r,
        "refuse",
        "This upgrade cannot be done by the tool (say why and what to do instead): `plan` shows it, `run` refuses before READY.",
        |h, text: &str| -> ApiResult<()> {
            let text = non_empty("text", text)?;
            h.perform(Action::Refusal { text }).map(drop)
        }
    );
    api_fn!(r, "log", "Logs a message.", |h, text: &str| h
        .say("info", text.into()));
    api_fn!(r, "warn", "Logs a warning.", |h, text: &str| h
        .say("warn", text.into()));
    api_fn!(
        r,
        "fail",
        "Stops the step with an error.",
        |_h, text: &str| -> ApiResult<()> { Err(script_error(format!("failed: {text}"))) }
    );
    api_fn!(
        r,
        "sleep",
        "Waits (at most one hour); planned as a wait action.",
        |h, seconds: INT| wait(&h, seconds as f64)
    );
    api_fn!(
        r,
        "sleep",
        "Waits a fractional number of seconds.",
        |h, seconds: f64| wait(&h, seconds)
    );
}

fn wait(host: &Host, seconds: f64) -> ApiResult<()> {
    if !(0.0..=MAX_SLEEP).contains(&seconds) {
        return Err(script_error(format!(
            "sleep({seconds}): must be between 0 and 3600 seconds"
        )));
    }
    host.perform(Action::Wait { seconds }).map(drop)
}
