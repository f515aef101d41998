//! Maintenance windows: weekly slots in an IANA time zone, turned into concrete windows.
//!
//! Written in the style of zincati's periodic strategy:
//!
//! ```toml
//! [window]
//! time_zone = "Europe/Paris"
//! [[window.slot]]
//! days = ["Sat", "Sun"]
//! start = "02:00"
//! length = "2h"
//! ```
//!
//! On every local calendar day whose weekday is in `days`, a slot opens at its local `start`
//! and stays open for `length`; a window is half-open, `[start, end)`. A window may cross
//! midnight and the end of the week (Sun 23:00 + 3h closes Mon 02:00). Lengths go up to 7 days.
//!
//! Everything here is pure: the instant is always passed in, and the time zone is always named
//! (the tz database is consulted, the system's own zone never is). `time_zone` is required as
//! soon as there is a slot; with no slot at all it may be left out.
//!
//! # No slot
//! A schedule without any slot puts no restriction on upgrades: [`Schedule::is_always`] is true,
//! and `window_at`, `next_window` and `upcoming` find nothing. Callers check `is_always` first.
//!
//! # Daylight saving time
//! The start is placed with jiff's `Disambiguation::Compatible` rules:
//! - a start time that does not exist (spring forward) is moved forward by the length of the
//!   gap: 02:30 in Europe/Paris on 2026-03-29 (02:00 CET -> 03:00 CEST) opens at 03:30 CEST,
//!   the same elapsed time past the gap's start as 02:30 is past 02:00;
//! - a start time that happens twice (fall back) takes the earlier instant: 02:30 on 2026-10-25
//!   in Europe/Paris opens at 02:30 CEST (00:30 UTC), not 02:30 CET;
//! - the length is elapsed time: a 2h window opening at 01:30 CEST on 2026-10-25 closes two real
//!   hours later, which reads 02:30 CET (the second 02:30). On a spring-forward day, a 2h window
//!   opening at 01:30 CET closes at 04:30 CEST on the wall clock.
//!
//! # Overlapping windows
//! Windows that overlap or touch (one closes exactly when another opens) are one window: they
//! are merged, in `window_at`, `next_window` and `upcoming` alike, so what is left of a window
//! is never underestimated. Merging looks about two weeks either side of the instant asked
//! about: a schedule that never closes for longer than that yields a window cut there, which
//! grows again when asked later.

mod input;
mod render;

use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

pub use input::{parse_day, parse_time, Slot, SlotInput, WindowError, WindowInput, MAX_LENGTH};
pub use render::{render_upcoming, upcoming_json};

/// One day of elapsed time, also the bound on how far a zone's offset moves in a day.
const DAY: SignedDuration = SignedDuration::from_hours(24);

/// Days scanned before the local date of `now` on a first look (a window lasts up to 7 days).
const BACK_DAYS: i64 = 9;
/// Days scanned after the local date of `now` on a first look.
const AHEAD_DAYS: i64 = 2;
/// How many days a look grows by when a merged window reaches the edge of what was scanned.
const GROW_DAYS: i64 = 8;
/// How many times a look may grow on each side (the merge horizon: about two weeks).
const MAX_GROWTH: u32 = 2;

/// Validated maintenance windows.
#[derive(Debug, Clone)]
pub struct Schedule {
    zone_name: String,
    tz: TimeZone,
    slots: Vec<Slot>,
    max_length: SignedDuration,
}

/// One concrete window, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Window {
    /// When it opens.
    pub start: Timestamp,
    /// When it closes (not included).
    pub end: Timestamp,
}

impl Window {
    /// Whether `now` is inside the window.
    pub fn contains(&self, now: Timestamp) -> bool {
        self.start <= now && now < self.end
    }

    /// Elapsed time from opening to closing.
    pub fn length(&self) -> Duration {
        to_std(self.end.duration_since(self.start))
    }

    /// What is left of the window at `now`: all of it before it opens, zero once it closed.
    pub fn remaining(&self, now: Timestamp) -> Duration {
        to_std(self.end.duration_since(now.max(self.start)))
    }
}

/// The window guard: a step may start only inside the window and when the estimated time of
/// the rest of the plan fits in what is left of it (finishing exactly at the close fits).
pub fn fits(remaining_estimate: Duration, window: &Window, now: Timestamp) -> bool {
    window.contains(now) && remaining_estimate <= window.remaining(now)
}

fn to_std(d: SignedDuration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// `date` moved by `days`, saturating at the ends of the supported range.
fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days())
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

/// Sorts `windows` and returns the union of those chained (overlapping or touching) that
/// contains `now`.
fn merged_containing(windows: &mut [Window], now: Timestamp) -> Option<Window> {
    windows.sort_by_key(|w| (w.start, w.end));
    let mut current: Option<Window> = None;
    for w in windows.iter() {
        match &mut current {
            Some(c) if w.start <= c.end => c.end = c.end.max(w.end),
            _ => {
                if current.is_some_and(|c| c.contains(now)) {
                    break;
                }
                current = Some(*w);
            }
        }
    }
    current.filter(|c| c.contains(now))
}

impl Schedule {
    /// Validates the `[window]` table.
    /// Every error of `input` (from_input stops at the first).
    pub fn input_errors(input: &WindowInput) -> Vec<WindowError> {
        let zone = input::time_zone(input).err();
        let slots = input
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| input::slot(i, s).err());
        zone.into_iter().chain(slots).collect()
    }

    /// The schedule of `input`, or its first error.
    pub fn from_input(input: &WindowInput) -> Result<Schedule, WindowError> {
        let (zone_name, tz) = input::time_zone(input)?;
        let slots = input
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| input::slot(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        let max_length = slots.iter().map(|s| s.length()).max().unwrap_or_default();
        Ok(Schedule {
            zone_name,
            tz,
            slots,
            max_length,
        })
    }

    /// The zone the slots are written in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The zone's name as written ("UTC" when there is no slot and none was given).
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The validated slots, in the order written.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// No slot at all: no restriction, upgrades may start at any time.
    pub fn is_always(&self) -> bool {
        self.slots.is_empty()
    }

    /// The window containing `now`, if any; windows that overlap or touch count as one, so
    /// it closes when the last of them does.
    pub fn window_at(&self, now: Timestamp) -> Option<Window> {
        if self.is_always() {
            return None;
        }
        let today = self.tz.to_datetime(now).date();
        let (mut back, mut ahead) = (BACK_DAYS, AHEAD_DAYS);
        let (mut grown_back, mut grown_ahead) = (0, 0);
        let mut found = Vec::new();
        loop {
            let (first, last) = (add_days(today, -back), add_days(today, ahead));
            found.clear();
            self.occurrences(first, last, &mut found);
            let window = merged_containing(&mut found, now)?;
            // A slot opening on a day before `first` opens before `first`'s midnight plus a
            // day (the offset moves by less than that), so it closes before `reach`; one
            // opening on a day after `last` opens after `last`'s midnight (same argument).
            let reach = self
                .midnight(first)
                .checked_add(DAY + self.max_length)
                .unwrap_or(Timestamp::MAX);
            let floor = self.midnight(last);
            let mut grow = false;
            if window.start <= reach && grown_back < MAX_GROWTH {
                back += GROW_DAYS;
                grown_back += 1;
                grow = true;
            }
            if window.end >= floor && grown_ahead < MAX_GROWTH {
                ahead += GROW_DAYS;
                grown_ahead += 1;
                grow = true;
            }
            if !grow {
                return Some(window);
            }
        }
    }

    /// The window containing `now`, else the next one to open (None only when `is_always`).
    pub fn next_window(&self, now: Timestamp) -> Option<Window> {
        if let Some(window) = self.window_at(now) {
            return Some(window);
        }
        let today = self.tz.to_datetime(now).date();
        // Every slot opens on some day of each week: two days of margin on both sides of a week.
        let mut found = Vec::new();
        self.occurrences(add_days(today, -2), add_days(today, 9), &mut found);
        let next = found.iter().map(|w| w.start).filter(|&s| s > now).min()?;
        // Nothing covers `now` and nothing opens between `now` and `next`: the merged window
        // containing `next` opens at `next`.
        self.window_at(next)
    }

    /// The next `n` windows, starting with the current one if any, in order, merged when
    /// they overlap or touch. Fewer when the schedule does not close within the merge horizon.
    pub fn upcoming(&self, now: Timestamp, n: usize) -> Vec<Window> {
        let mut out = Vec::with_capacity(n.min(64));
        let Some(mut current) = self.next_window(now) else {
            return out;
        };
        while out.len() < n {
            out.push(current);
            match self.next_window(current.end) {
                Some(next) if next.start > current.end => current = next,
                _ => break,
            }
        }
        out
    }

    /// The instant a local date begins (a midnight in a gap moves forward).
    fn midnight(&self, date: Date) -> Timestamp {
        self.tz
            .to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
            .compatible()
            .unwrap_or(if date.year() < 0 {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            })
    }

    /// Every slot's window opening on the local dates `first..=last`, unsorted.
    fn occurrences(&self, first: Date, last: Date, out: &mut Vec<Window>) {
        let mut date = first;
        while date <= last {
            let day = date.weekday();
            for slot in self.slots.iter().filter(|s| s.on(day)) {
                if let Some(w) = self.occurrence(slot, date) {
                    out.push(w);
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
    }

    /// The slot's window opening on `date`: the DST rules of the module doc.
    fn occurrence(&self, slot: &Slot, date: Date) -> Option<Window> {
        let start = self
            .tz
            .to_ambiguous_timestamp(date.to_datetime(slot.start()))
            .compatible()
            .ok()?;
        let end = start.checked_add(slot.length()).ok()?;
        Some(Window { start, end })
    }
}

#[cfg(test)]
mod tests;
