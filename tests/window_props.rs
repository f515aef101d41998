//! Property tests of the maintenance-window calendar against a brute-force oracle: every slot
//! occurrence enumerated day by day around the instant, placed with the DST rules restated
//! from the module doc (gap: the offset before the gap, so later; fold: the offset before the
//! fold, so earlier), then merged when they overlap or touch.

use canopsis_upgrade::window::{Schedule, SlotInput, Window, WindowInput};
use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

const ZONES: [&str; 5] = [
    "Europe/Paris",
    "America/New_York",
    "UTC",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAY: SignedDuration = SignedDuration::from_hours(24);

/// A generated slot, in numbers (the oracle never reads the strings).
#[derive(Debug, Clone)]
struct GenSlot {
    days: u8,
    hour: i8,
    minute: i8,
    length_minutes: i64,
    style: u8,
}

impl GenSlot {
    fn input(&self) -> SlotInput {
        let days = (0..7)
            .filter(|d| self.days & (1 << d) != 0)
            .map(|d| {
                let full = DAYS[d];
                match (self.style as usize + d) % 4 {
                    0 => full[..3].to_owned(),
                    1 => full.to_owned(),
                    2 => full[..3].to_uppercase(),
                    _ => full.to_lowercase(),
                }
            })
            .collect();
        let length = if self.length_minutes % 60 == 0 {
            format!("{}h", self.length_minutes / 60)
        } else {
            format!(
                "{}h {}m",
                self.length_minutes / 60,
                self.length_minutes % 60
            )
        };
        SlotInput {
            days,
            start: format!("{:02}:{:02}", self.hour, self.minute),
            length,
        }
    }

    fn length(&self) -> SignedDuration {
        SignedDuration::from_mins(self.length_minutes)
    }
}

fn slot() -> impl Strategy<Value = GenSlot> {
    (
        1u8..128,
        prop_oneof![0i8..24, 0i8..4, 22i8..24],
        prop_oneof![0i8..60, Just(0), Just(30), Just(15), Just(45)],
        prop_oneof![1i64..=1800, (1i64..=30).prop_map(|h| h * 60)],
        any::<u8>(),
    )
        .prop_map(|(days, hour, minute, length_minutes, style)| GenSlot {
            days,
            hour,
            minute,
            length_minutes,
            style,
        })
}

/// An occurrence: its window and the slot it came from.
#[derive(Debug, Clone, Copy)]
struct Occ {
    window: Window,
    slot: usize,
}

/// Every occurrence opening on the local dates around [from, to], brute force.
fn occurrences(tz: &TimeZone, slots: &[GenSlot], from: Timestamp, to: Timestamp) -> Vec<Occ> {
    let first = tz.to_datetime(from).date().checked_sub(1.day()).unwrap();
    let last = tz.to_datetime(to).date().checked_add(1.day()).unwrap();
    let mut out = Vec::new();
    let mut date: Date = first;
    while date <= last {
        let monday_zero = date.weekday().to_monday_zero_offset();
        for (i, s) in slots.iter().enumerate() {
            if s.days & (1 << monday_zero) == 0 {
                continue;
            }
            let dt = date.to_datetime(Time::new(s.hour, s.minute, 0, 0).unwrap());
            let offset = match tz.to_ambiguous_timestamp(dt).offset() {
                AmbiguousOffset::Unambiguous { offset } => offset,
                // Gap: read with the offset in force before it, the time lands past the gap.
                AmbiguousOffset::Gap { before, .. } => before,
                // Fold: the offset in force before it gives the earlier instant.
                AmbiguousOffset::Fold { before, .. } => before,
            };
            let start = offset.to_timestamp(dt).unwrap();
            let end = start.checked_add(s.length()).unwrap();
            out.push(Occ {
                window: Window { start, end },
                slot: i,
            });
        }
        date = date.tomorrow().unwrap();
    }
    out.sort_by_key(|o| (o.window.start, o.window.end));
    out
}

/// Occurrences merged when they overlap or touch, with how many went into each.
fn merge(occs: &[Occ]) -> Vec<(Window, Vec<Occ>)> {
    let mut out: Vec<(Window, Vec<Occ>)> = Vec::new();
    for o in occs {
        match out.last_mut() {
            Some((w, members)) if o.window.start <= w.end => {
                w.end = w.end.max(o.window.end);
                members.push(*o);
            }
            _ => out.push((o.window, vec![*o])),
        }
    }
    out
}

struct Case {
    schedule: Schedule,
    slots: Vec<GenSlot>,
    t: Timestamp,
}

fn case() -> impl Strategy<Value = (usize, Vec<GenSlot>, i64, u8, usize, i64)> {
    // 2026-01-01T00:00:00Z .. 2029-01-01T00:00:00Z.
    (
        0..ZONES.len(),
        prop::collection::vec(slot(), 1..=4),
        1_767_225_600i64..1_861_920_000,
        0u8..9,
        any::<usize>(),
        -172_800i64..172_800,
    )
}

/// Builds the schedule and picks the instant: random, near a DST transition, or on (or a
/// second around) an occurrence's edge.
fn build(zone: usize, slots: Vec<GenSlot>, secs: i64, mode: u8, pick: usize, jitter: i64) -> Case {
    let input = WindowInput {
        time_zone: Some(ZONES[zone].to_owned()),
        slots: slots.iter().map(GenSlot::input).collect(),
    };
    let schedule = Schedule::from_input(&input).unwrap();
    let tz = schedule.time_zone().clone();
    let mut t = Timestamp::from_second(secs).unwrap();
    if mode >= 6 {
        // Near the next transition, if the zone has any.
        if let Some(tr) = tz.following(t).next() {
            t = tr
                .timestamp()
                .checked_add(SignedDuration::from_secs(jitter))
                .unwrap();
        }
    }
    if !mode.is_multiple_of(6) {
        let occs = occurrences(&tz, &slots, t - DAY * 2, t + DAY * 8);
        let o = occs[pick % occs.len()].window;
        let second = SignedDuration::from_secs(1);
        t = match mode % 6 {
            1 => o.start,
            2 => o.end,
            3 => o.start - second,
            4 => o.end - second,
            _ => o.start + second,
        };
    }
    Case { schedule, slots, t }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let Case { schedule, slots, t } = case;
    let t = *t;
    let tz = schedule.time_zone();
    let (lo, hi) = (t - DAY * 8, t + DAY * 15);
    let occs = occurrences(tz, slots, lo, hi);
    let merged = merge(&occs);
    // Occurrences not enumerated open before `lo` (+ a day of offset slack) and last at most
    // 30h, or open after `hi` (- a day): a merged window away from both edges is exact.
    let reliable_lo = lo + DAY + SignedDuration::from_hours(31);
    let reliable_hi = hi - DAY * 2;
    let exact = |w: &Window| w.start > reliable_lo && w.end < reliable_hi;

    // (a) window_at(t) iff some occurrence contains t, and then t is in [start, end).
    let containing: Vec<&Occ> = occs.iter().filter(|o| o.window.contains(t)).collect();
    let at = schedule.window_at(t);
    prop_assert_eq!(
        at.is_some(),
        !containing.is_empty(),
        "window_at({}) = {:?}",
        t,
        at
    );
    let first = if let Some(w) = at {
        prop_assert!(w.contains(t), "{:?} does not contain {}", w, t);
        for o in &containing {
            prop_assert!(
                w.start <= o.window.start && o.window.end <= w.end,
                "{:?} {:?}",
                w,
                o
            );
        }
        let (m, _) = merged.iter().find(|(m, _)| m.contains(t)).unwrap();
        if exact(m) {
            prop_assert_eq!(w, *m);
        }
        w
    } else {
        // (b) otherwise the next one opens strictly after t, and nothing opens in between.
        let next = schedule
            .next_window(t)
            .expect("a schedule with slots has a next window");
        prop_assert!(next.start > t);
        let oracle_next = occs
            .iter()
            .map(|o| o.window.start)
            .filter(|&s| s > t)
            .min()
            .unwrap();
        prop_assert_eq!(next.start, oracle_next);
        let gap = next.start.duration_since(t);
        for k in 1..8 {
            let probe = t + gap / 8 * k;
            prop_assert_eq!(schedule.window_at(probe), None, "open at {}", probe);
        }
        prop_assert_eq!(
            schedule.window_at(next.start - SignedDuration::from_nanos(1)),
            None
        );
        prop_assert_eq!(schedule.window_at(next.start), Some(next));
        let (m, _) = merged.iter().find(|(m, _)| m.start == next.start).unwrap();
        if exact(m) {
            prop_assert_eq!(next, *m);
        }
        next
    };

    // (c) upcoming: sorted, apart (merged windows neither overlap nor touch), first as above,
    // and each one the oracle's merged window when that one is exact.
    let up = schedule.upcoming(t, 4);
    prop_assert!(!up.is_empty());
    prop_assert_eq!(up[0], first);
    for pair in up.windows(2) {
        prop_assert!(
            pair[0].start < pair[0].end && pair[0].end < pair[1].start,
            "{:?}",
            pair
        );
    }
    let expected: Vec<&(Window, Vec<Occ>)> = merged.iter().filter(|(m, _)| m.end > t).collect();
    for (i, w) in up.iter().enumerate() {
        let Some((m, members)) = expected.get(i) else {
            break;
        };
        if !exact(m) || !exact(w) {
            break;
        }
        prop_assert_eq!(w, m, "upcoming[{}]", i);
        // (d) a window that was not merged lasts its slot's length, in elapsed time.
        if members.len() == 1 {
            let length = w.end.duration_since(w.start);
            prop_assert_eq!(length, slots[members[0].slot].length());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1024)
    ))]

    #[test]
    fn windows_match_the_brute_force_oracle(
        (zone, slots, secs, mode, pick, jitter) in case()
    ) {
        check(&build(zone, slots, secs, mode, pick, jitter))?;
    }
}

/// The oracle itself, on the fall-back example of the module doc.
#[test]
fn oracle_places_fall_back_starts_early() {
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let slot = GenSlot {
        days: 1 << 6,
        hour: 1,
        minute: 30,
        length_minutes: 120,
        style: 0,
    };
    let t: Timestamp = "2026-10-25T00:00:00Z".parse().unwrap();
    let occs = occurrences(&tz, &[slot], t - DAY, t + DAY);
    assert_eq!(occs.len(), 1);
    assert_eq!(
        occs[0].window.start,
        "2026-10-24T23:30:00Z".parse().unwrap()
    );
    assert_eq!(occs[0].window.end, "2026-10-25T01:30:00Z".parse().unwrap());
}

/// Every day at 00:00 for 24h: one endless window, cut by the merge horizon.
#[test]
fn a_schedule_that_never_closes() {
    for zone in ZONES {
        let input = WindowInput {
            time_zone: Some(zone.into()),
            slots: vec![SlotInput {
                days: DAYS.iter().map(|d| d.to_string()).collect(),
                start: "00:00".into(),
                length: "30h".into(),
            }],
        };
        let s = Schedule::from_input(&input).unwrap();
        let t: Timestamp = "2027-03-28T01:30:00Z".parse().unwrap();
        let w = s.window_at(t).unwrap();
        assert!(w.contains(t));
        assert_eq!(s.upcoming(t, 5), [w]);
    }
}
