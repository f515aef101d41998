//! `[window]`: the maintenance windows (validated by [`crate::window`]).

use crate::config::input::Located;
use crate::config::ConfigError;
use crate::window::{Schedule, WindowInput};

/// Validates `[window]`: no table or no slot means "any time".
pub(in crate::config) fn validate(
    l: Option<Located<WindowInput>>,
) -> Result<Schedule, ConfigError> {
    match l {
        None => Ok(Schedule::from_input(&Default::default()).expect("no slot is always valid")),
        Some(l) => Schedule::from_input(&l.value).map_err(|e| l.origin.error(e.to_string())),
    }
}
