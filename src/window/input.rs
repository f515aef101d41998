//! The `[window]` table as written, and its validation into slots.

use std::time::Duration;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use serde::Deserialize;

/// The longest a slot may last.
pub const MAX_LENGTH: Duration = Duration::from_secs(7 * 24 * 3600);

/// The `[window]` table, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// The IANA time zone the slots are written in; required when there is a slot.
    pub time_zone: Option<String>,
    /// The `[[window.slot]]` entries.
    #[serde(rename = "slot", default)]
    pub slots: Vec<SlotInput>,
}

/// One `[[window.slot]]`, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    /// The days the slot starts on: "Mon".."Sun" or full English names, any case.
    pub days: Vec<String>,
    /// The local start time, "HH:MM" (or "HH:MM:SS").
    pub start: String,
    /// The elapsed length: "2h", "1h 30m", "1d", "PT2H".
    pub length: String,
}

/// A `[window]` table that cannot be used; slot indexes are 0-based, as in `window.slot[0]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A day name that is not a weekday.
    #[error("window.slot[{slot}].days: unknown day {value:?} (Mon..Sun or Monday..Sunday)")]
    UnknownDay {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
    },
    /// A slot with an empty `days` list.
    #[error("window.slot[{slot}].days: no day given, the slot would never open")]
    NoDays {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
    },
    /// A start that is not a time of day.
    #[error("window.slot[{slot}].start: bad time {value:?}: {reason}")]
    BadStart {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A length that is not a duration.
    #[error("window.slot[{slot}].length: {value:?} is not a duration like \"2h\" or \"1h 30m\": {reason}")]
    BadLength {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A length of zero.
    #[error("window.slot[{slot}].length: {value:?} is zero, the slot would never be open")]
    ZeroLength {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
    },
    /// A negative length.
    #[error("window.slot[{slot}].length: {value:?} is negative")]
    NegativeLength {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
    },
    /// A length over 7 days.
    #[error("window.slot[{slot}].length: {value:?} is longer than 7 days")]
    TooLong {
        /// The slot's index in `window.slot`, from 0.
        slot: usize,
        /// The value as written.
        value: String,
    },
    /// Slots without `time_zone`.
    #[error("window.time_zone: required when there are slots (an IANA name like \"Europe/Paris\" or \"UTC\")")]
    MissingTimeZone,
    /// A time zone the tz database does not know.
    #[error("window.time_zone: unknown time zone {name:?}: {reason}")]
    UnknownTimeZone {
        /// The name as written.
        name: String,
        /// Why it is refused.
        reason: String,
    },
}

/// One validated slot: the days it starts on, its local start, its elapsed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Starts on day `d` when bit `d` (Monday = 0) is set.
    pub(crate) days: u8,
    /// Local start time.
    pub(crate) start: Time,
    /// Elapsed length, in (0, 7 days].
    pub(crate) length: SignedDuration,
}

impl Slot {
    /// Whether the slot starts on this weekday.
    pub fn on(&self, day: Weekday) -> bool {
        self.days & (1 << day.to_monday_zero_offset()) != 0
    }

    /// The local start time.
    pub fn start(&self) -> Time {
        self.start
    }

    /// The elapsed length.
    pub fn length(&self) -> SignedDuration {
        self.length
    }
}

/// Resolves the time zone: an IANA name looked up in the tz database, never the system zone.
pub(crate) fn time_zone(input: &WindowInput) -> Result<(String, TimeZone), WindowError> {
    match &input.time_zone {
        Some(name) => TimeZone::get(name.trim())
            .map(|tz| (name.trim().to_owned(), tz))
            .map_err(|e| WindowError::UnknownTimeZone {
                name: name.clone(),
                reason: e.to_string(),
            }),
        None if input.slots.is_empty() => Ok(("UTC".to_owned(), TimeZone::UTC)),
        None => Err(WindowError::MissingTimeZone),
    }
}

/// Validates one slot (its index is only used in errors).
pub(crate) fn slot(index: usize, input: &SlotInput) -> Result<Slot, WindowError> {
    let mut days = 0u8;
    for name in &input.days {
        let day = parse_day(name).ok_or_else(|| WindowError::UnknownDay {
            slot: index,
            value: name.clone(),
        })?;
        days |= 1 << day.to_monday_zero_offset();
    }
    if days == 0 {
        return Err(WindowError::NoDays { slot: index });
    }
    let start = parse_time(&input.start).map_err(|reason| WindowError::BadStart {
        slot: index,
        value: input.start.clone(),
        reason,
    })?;
    let length = parse_length(index, &input.length)?;
    Ok(Slot {
        days,
        start,
        length,
    })
}

/// "Sat", "saturday", "SAT" -> Saturday.
pub fn parse_day(name: &str) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let name = name.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(full, _)| name == *full || name == full[..3])
        .map(|&(_, day)| day)
}

/// "02:00", "2:00", "23:59:30" -> a time of day; "24:00" and "25:00" are refused.
pub fn parse_time(text: &str) -> Result<Time, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err("expected HH:MM".to_owned());
    }
    let mut numbers = [0i8; 3];
    for (i, part) in parts.iter().enumerate() {
        // The hour takes one or two digits, minutes and seconds exactly two.
        let digits_ok = if i == 0 {
            (1..=2).contains(&part.len())
        } else {
            part.len() == 2
        };
        if !digits_ok || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected HH:MM".to_owned());
        }
        numbers[i] = part.parse().map_err(|_| "expected HH:MM".to_owned())?;
    }
    let [hour, minute, second] = numbers;
    if hour > 23 {
        return Err(format!("hour {hour} is not in 0..=23"));
    }
    if minute > 59 {
        return Err(format!("minute {minute} is not in 0..=59"));
    }
    if second > 59 {
        return Err(format!("second {second} is not in 0..=59"));
    }
    Time::new(hour, minute, second, 0).map_err(|e| e.to_string())
}

/// "2h", "1h 30m", "1d" (24 hours), "PT2H" -> an elapsed length in (0, 7 days].
fn parse_length(slot: usize, text: &str) -> Result<SignedDuration, WindowError> {
    let bad = |reason: String| WindowError::BadLength {
        slot,
        value: text.to_owned(),
        reason,
    };
    let span: Span = text
        .trim()
        .parse()
        .map_err(|e: jiff::Error| bad(e.to_string()))?;
    let length = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|e| bad(e.to_string()))?;
    let value = text.to_owned();
    if length.is_zero() {
        Err(WindowError::ZeroLength { slot, value })
    } else if length.is_negative() {
        Err(WindowError::NegativeLength { slot, value })
    } else if length > SignedDuration::try_from(MAX_LENGTH).expect("7 days fit") {
        Err(WindowError::TooLong { slot, value })
    } else {
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(days: &[&str], start: &str, length: &str) -> Result<Slot, WindowError> {
        slot(
            2,
            &SlotInput {
                days: days.iter().map(|d| d.to_string()).collect(),
                start: start.into(),
                length: length.into(),
            },
        )
    }

    #[test]
    fn days_short_and_full_names_any_case() {
        let s = one(&["Sat", "sunday", "MON", " Tue "], "02:00", "2h").unwrap();
        assert!(s.on(Weekday::Saturday) && s.on(Weekday::Sunday));
        assert!(s.on(Weekday::Monday) && s.on(Weekday::Tuesday));
        assert!(!s.on(Weekday::Wednesday));
        assert_eq!(parse_day("Satu"), None);
        assert_eq!(parse_day("s"), None);
        assert_eq!(parse_day(""), None);
    }

    #[test]
    fn unknown_day_names_slot_and_field() {
        let err = one(&["Sat", "Satu"], "02:00", "2h").unwrap_err();
        assert_eq!(
            err,
            WindowError::UnknownDay {
                slot: 2,
                value: "Satu".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "window.slot[2].days: unknown day \"Satu\" (Mon..Sun or Monday..Sunday)"
        );
        assert_eq!(
            one(&[], "02:00", "2h").unwrap_err(),
            WindowError::NoDays { slot: 2 }
        );
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("02:00").unwrap(), Time::constant(2, 0, 0, 0));
        assert_eq!(parse_time("2:30").unwrap(), Time::constant(2, 30, 0, 0));
        assert_eq!(
            parse_time("23:59:30").unwrap(),
            Time::constant(23, 59, 30, 0)
        );
        assert_eq!(parse_time("00:00").unwrap(), Time::midnight());
        for bad in [
            "25:00", "24:00", "12:60", "noon", "12", "12:5", "1:2:3:4", "-1:00", "+1:00", "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        let err = one(&["Sat"], "25:00", "2h").unwrap_err();
        assert_eq!(
            err.to_string(),
            "window.slot[2].start: bad time \"25:00\": hour 25 is not in 0..=23"
        );
    }

    #[test]
    fn lengths() {
        let l = |t: &str| one(&["Sat"], "02:00", t).map(|s| s.length);
        assert_eq!(l("2h").unwrap(), SignedDuration::from_hours(2));
        assert_eq!(l("1h 30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(l("PT2H").unwrap(), SignedDuration::from_hours(2));
        assert_eq!(l("1d 6h").unwrap(), SignedDuration::from_hours(30));
        assert_eq!(l("7d").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(l("1w").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(
            l("0s").unwrap_err(),
            WindowError::ZeroLength {
                slot: 2,
                value: "0s".into()
            }
        );
        assert_eq!(
            l("-1h").unwrap_err(),
            WindowError::NegativeLength {
                slot: 2,
                value: "-1h".into()
            }
        );
        assert_eq!(
            l("7d 1s").unwrap_err(),
            WindowError::TooLong {
                slot: 2,
                value: "7d 1s".into()
            }
        );
        let err = l("soon").unwrap_err();
        assert!(
            matches!(err, WindowError::BadLength { slot: 2, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("window.slot[2].length: \"soon\""),
            "{err}"
        );
        assert!(matches!(
            l("1mo").unwrap_err(),
            WindowError::BadLength { .. }
        ));
    }

    #[test]
    fn time_zone_is_required_with_slots_only() {
        let slot = SlotInput {
            days: vec!["Sat".into()],
            start: "02:00".into(),
            length: "2h".into(),
        };
        let mut input = WindowInput::default();
        assert_eq!(time_zone(&input).unwrap().0, "UTC");
        input.slots.push(slot);
        assert_eq!(time_zone(&input).unwrap_err(), WindowError::MissingTimeZone);
        input.time_zone = Some("Europe/Pariss".into());
        let err = time_zone(&input).unwrap_err();
        assert!(
            matches!(&err, WindowError::UnknownTimeZone { name, .. } if name == "Europe/Pariss")
        );
        assert!(err
            .to_string()
            .starts_with("window.time_zone: unknown time zone \"Europe/Pariss\""));
        input.time_zone = Some("Europe/Paris".into());
        assert_eq!(
            time_zone(&input).unwrap().1.iana_name(),
            Some("Europe/Paris")
        );
    }

    #[test]
    fn toml_shape() {
        #[derive(Deserialize)]
        struct Root {
            window: WindowInput,
        }
        let text = "[window]\ntime_zone = \"Europe/Paris\"\n[[window.slot]]\ndays = [\"Sat\", \"Sun\"]\nstart = \"02:00\"\nlength = \"2h\"\n[[window.slot]]\ndays = [\"Wed\"]\nstart = \"22:00\"\nlength = \"3h\"\n";
        let root: Root = toml::from_str(text).unwrap();
        assert_eq!(root.window.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(root.window.slots.len(), 2);
        assert_eq!(root.window.slots[1].days, ["Wed"]);
        let unknown = "[window]\ntime_zone = \"UTC\"\n[[window.slot]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength = \"2h\"\nend = \"04:00\"\n";
        let err = toml::from_str::<Root>(unknown).err().unwrap();
        assert!(err.to_string().contains("unknown field `end`"), "{err}");
        let empty: Root = toml::from_str("[window]\n").unwrap();
        assert_eq!(empty.window, WindowInput::default());
    }
}
