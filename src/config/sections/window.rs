//! `[window]`: the maintenance windows (validated by [`crate::window`]), each value located so
//! that an error names the line and column of the value itself.

use serde::Deserialize;
use toml::Spanned;

use crate::config::input::{Located, Locator, Origin};
use crate::config::ConfigError;
use crate::window::{Schedule, SlotInput, WindowError, WindowInput};

/// `[window]`'s keys and `[[window.slot]]`'s.
#[cfg(test)]
pub(in crate::config) const KEYS: &[&str] = &["time_zone", "days", "start", "length"];

/// `[window]` as written in one file, with the places of its values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct WindowFragment {
    time_zone: Option<Spanned<String>>,
    #[serde(rename = "slot", default)]
    slots: Vec<SlotFragment>,
}

/// One `[[window.slot]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotFragment {
    days: Spanned<Vec<String>>,
    start: Spanned<String>,
    length: Spanned<String>,
}

/// `[window]` merged (a later file's table replaces it whole), with where each value is.
#[derive(Debug)]
pub(in crate::config) struct LocatedWindow {
    /// The table, without places.
    pub input: WindowInput,
    time_zone: Option<Origin>,
    /// Per slot: where `days`, `start` and `length` are.
    slots: Vec<[Origin; 3]>,
}

/// Locates one file's `[window]`.
pub(in crate::config) fn locate(
    fragment: Spanned<WindowFragment>,
    at: &Locator,
) -> Located<LocatedWindow> {
    let origin = at(fragment.span());
    let fragment = fragment.into_inner();
    let slots = fragment
        .slots
        .iter()
        .map(|s| [at(s.days.span()), at(s.start.span()), at(s.length.span())])
        .collect();
    let input = WindowInput {
        time_zone: fragment.time_zone.as_ref().map(|t| t.get_ref().clone()),
        slots: fragment
            .slots
            .into_iter()
            .map(|s| SlotInput {
                days: s.days.into_inner(),
                start: s.start.into_inner(),
                length: s.length.into_inner(),
            })
            .collect(),
    };
    Located {
        value: LocatedWindow {
            input,
            time_zone: fragment.time_zone.map(|t| at(t.span())),
            slots,
        },
        key: "window",
        origin,
    }
}

impl LocatedWindow {
    /// Where the value an error is about was written (None: the table itself).
    fn origin_of(&self, error: &WindowError) -> Option<&Origin> {
        use WindowError::*;
        let (slot, field) = match error {
            UnknownDay { slot, .. } | NoDays { slot } => (*slot, 0),
            BadStart { slot, .. } => (*slot, 1),
            BadLength { slot, .. }
            | ZeroLength { slot, .. }
            | NegativeLength { slot, .. }
            | TooLong { slot, .. } => (*slot, 2),
            UnknownTimeZone { .. } => return self.time_zone.as_ref(),
            MissingTimeZone => return None,
        };
        self.slots.get(slot).map(|s| &s[field])
    }
}

/// Validates `[window]`: no table or no slot means "any time".
pub(in crate::config) fn validate(
    l: Option<Located<LocatedWindow>>,
) -> Result<Schedule, ConfigError> {
    match l {
        None => Ok(Schedule::from_input(&Default::default()).expect("no slot is always valid")),
        Some(l) => Schedule::from_input(&l.value.input).map_err(|_| {
            // Every error of the table, each where its value was written.
            let errors = Schedule::input_errors(&l.value.input)
                .iter()
                .map(|e| {
                    l.value
                        .origin_of(e)
                        .unwrap_or(&l.origin)
                        .error(e.to_string())
                })
                .collect();
            ConfigError::all(errors)
        }),
    }
}
