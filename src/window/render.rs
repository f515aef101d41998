//! Windows as text: one window in a zone and UTC, and the listing of `window [--next N]`.

use crate::support::format::compact_duration;
use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::{Schedule, Window};

/// "02:00", or "02:00:30" when there are seconds.
fn clock(z: &Zoned) -> String {
    if z.second() == 0 && z.subsec_nanosecond() == 0 {
        z.strftime("%H:%M").to_string()
    } else {
        z.strftime("%H:%M:%S").to_string()
    }
}

/// "Sat 2026-11-28 02:00 CET".
fn full(z: &Zoned) -> String {
    format!(
        "{} {} {}",
        z.strftime("%a %Y-%m-%d"),
        clock(z),
        z.strftime("%Z")
    )
}

/// "02:00 CET", with the date in front when it is not `day`'s.
fn after(z: &Zoned, day: jiff::civil::Date) -> String {
    if z.date() == day {
        format!("{} {}", clock(z), z.strftime("%Z"))
    } else {
        full(z)
    }
}

/// `start -> end`; the start's date is left out when it is `day`.
fn span(start: &Zoned, end: &Zoned, day: Option<jiff::civil::Date>) -> String {
    let first = match day {
        Some(d) => after(start, d),
        None => full(start),
    };
    format!("{first} -> {}", after(end, start.date()))
}

impl Window {
    /// "Sat 2026-11-28 02:00 CET -> 04:00 CET (01:00 UTC -> 03:00 UTC)"; dates are repeated
    /// only when they change.
    pub fn describe(&self, tz: &TimeZone) -> String {
        let (start, end) = (
            self.start.to_zoned(tz.clone()),
            self.end.to_zoned(tz.clone()),
        );
        let local = span(&start, &end, None);
        let (ustart, uend) = (
            self.start.to_zoned(TimeZone::UTC),
            self.end.to_zoned(TimeZone::UTC),
        );
        let utc = span(&ustart, &uend, Some(start.date()));
        if local == span(&ustart, &uend, None) {
            local
        } else {
            format!("{local} ({utc})")
        }
    }
}

/// An instant in the zone and in UTC: "Sat 2026-11-28 04:00 CET (03:00 UTC)".
fn instant(t: Timestamp, tz: &TimeZone) -> String {
    let (local, utc) = (t.to_zoned(tz.clone()), t.to_zoned(TimeZone::UTC));
    if full(&local) == full(&utc) {
        full(&local)
    } else {
        format!("{} ({})", full(&local), after(&utc, local.date()))
    }
}

/// The text of `window [--next N]`: where `now` stands, then the next `n` windows, one a line,
/// in the schedule's zone and in UTC.
pub fn render_upcoming(schedule: &Schedule, now: Timestamp, n: usize) -> String {
    let mut out = String::new();
    if schedule.is_always() {
        out.push_str("no maintenance window configured: upgrades may start at any time\n");
        return out;
    }
    let tz = schedule.time_zone();
    match schedule.window_at(now) {
        Some(w) => {
            let _ = writeln!(
                out,
                "now inside a window until {}, {} left",
                instant(w.end, tz),
                compact_duration(w.remaining(now))
            );
        }
        None => {
            if let Some(next) = schedule.next_window(now) {
                let wait = Window {
                    start: now,
                    end: next.start,
                };
                let _ = writeln!(
                    out,
                    "now outside the windows; the next one opens in {}",
                    compact_duration(wait.length())
                );
            }
        }
    }
    let windows = schedule.upcoming(now, n);
    if !windows.is_empty() {
        let _ = writeln!(out, "next windows ({}):", schedule.zone_name());
        for w in &windows {
            let _ = writeln!(out, "  {}", w.describe(tz));
        }
    }
    out
}

/// `window --format json`: the zone, whether a window is open now, and the next `n` windows
/// (UTC instants, local descriptions, lengths in seconds).
pub fn upcoming_json(schedule: &Schedule, now: Timestamp, n: usize) -> serde_json::Value {
    let tz = schedule.time_zone();
    let window = |w: &Window| {
        serde_json::json!({
            "start": w.start.to_string(),
            "end": w.end.to_string(),
            "length_secs": w.length().as_secs(),
            "local": w.describe(tz),
        })
    };
    serde_json::json!({
        "time_zone": schedule.zone_name(),
        "always": schedule.is_always(),
        "now": now.to_string(),
        "open_now": schedule.window_at(now).map(|w| window(&w)),
        "next": schedule.upcoming(now, n).iter().map(window).collect::<Vec<_>>(),
    })
}
