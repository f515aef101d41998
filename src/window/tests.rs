use std::time::Duration;

use super::*;

/// Days, start, length.
type SlotSpec<'a> = (&'a [&'a str], &'a str, &'a str);

fn schedule(zone: &str, slots: &[SlotSpec]) -> Schedule {
    Schedule::from_input(&input(Some(zone), slots)).unwrap()
}

fn input(zone: Option<&str>, slots: &[SlotSpec]) -> WindowInput {
    WindowInput {
        time_zone: zone.map(str::to_owned),
        slots: slots
            .iter()
            .map(|(days, start, length)| SlotInput {
                days: days.iter().map(|d| d.to_string()).collect(),
                start: start.to_string(),
                length: length.to_string(),
            })
            .collect(),
    }
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn win(start: &str, end: &str) -> Window {
    Window {
        start: ts(start),
        end: ts(end),
    }
}

const SAT: &[&str] = &["Sat"];
const SUN: &[&str] = &["Sun"];

#[test]
fn errors_name_the_slot_and_the_field() {
    let ok: SlotSpec = (SAT, "02:00", "2h");
    let cases: [(SlotSpec, WindowError); 5] = [
        (
            (&["Sun", "Satu"], "02:00", "2h"),
            WindowError::UnknownDay {
                slot: 1,
                value: "Satu".into(),
            },
        ),
        (
            (SAT, "25:00", "2h"),
            WindowError::BadStart {
                slot: 1,
                value: "25:00".into(),
                reason: "hour 25 is not in 0..=23".into(),
            },
        ),
        (
            (SAT, "02:00", "0m"),
            WindowError::ZeroLength {
                slot: 1,
                value: "0m".into(),
            },
        ),
        (
            (SAT, "02:00", "-2h"),
            WindowError::NegativeLength {
                slot: 1,
                value: "-2h".into(),
            },
        ),
        (
            (SAT, "02:00", "169h"),
            WindowError::TooLong {
                slot: 1,
                value: "169h".into(),
            },
        ),
    ];
    for (bad, expected) in cases {
        let err = Schedule::from_input(&input(Some("Europe/Paris"), &[ok, bad])).unwrap_err();
        assert_eq!(err, expected);
        assert!(err.to_string().starts_with("window.slot[1]."), "{err}");
    }
    let err = Schedule::from_input(&input(None, &[ok])).unwrap_err();
    assert_eq!(err, WindowError::MissingTimeZone);
    let err = Schedule::from_input(&input(Some("Mars/Olympus"), &[ok])).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("window.time_zone: unknown time zone \"Mars/Olympus\""));
}

#[test]
fn no_slot_means_no_restriction() {
    let s = Schedule::from_input(&WindowInput::default()).unwrap();
    assert!(s.is_always());
    assert_eq!(s.zone_name(), "UTC");
    let now = ts("2026-11-28T02:00:00Z");
    assert_eq!(s.window_at(now), None);
    assert_eq!(s.next_window(now), None);
    assert!(s.upcoming(now, 5).is_empty());
    // A zone without slots is still checked.
    assert!(Schedule::from_input(&input(Some("Nowhere/Town"), &[])).is_err());
}

#[test]
fn crossing_midnight() {
    let s = schedule("UTC", &[(SAT, "23:00", "3h")]);
    let w = win("2026-11-28T23:00:00Z", "2026-11-29T02:00:00Z");
    assert_eq!(s.window_at(ts("2026-11-29T01:00:00Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-11-28T23:00:00Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-11-29T02:00:00Z")), None, "half-open");
    assert_eq!(s.window_at(ts("2026-11-28T22:59:59Z")), None);
    assert_eq!(s.next_window(ts("2026-11-28T22:59:59Z")), Some(w));
    // After it, the next one is a week later.
    assert_eq!(
        s.next_window(ts("2026-11-29T02:00:00Z")),
        Some(win("2026-12-05T23:00:00Z", "2026-12-06T02:00:00Z"))
    );
}

#[test]
fn crossing_sunday_to_monday() {
    // Sun 2026-11-29 23:00 CET = 22:00 UTC, + 3h = Mon 02:00 CET = 01:00 UTC.
    let s = schedule("Europe/Paris", &[(SUN, "23:00", "3h")]);
    let w = win("2026-11-29T22:00:00Z", "2026-11-30T01:00:00Z");
    assert_eq!(s.window_at(ts("2026-11-30T00:30:00Z")), Some(w));
    assert_eq!(s.next_window(ts("2026-11-27T00:00:00Z")), Some(w));
    assert_eq!(
        s.next_window(ts("2026-11-30T01:00:00Z")),
        Some(win("2026-12-06T22:00:00Z", "2026-12-07T01:00:00Z"))
    );
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-11-29 23:00 CET -> Mon 2026-11-30 02:00 CET (22:00 UTC -> Mon 2026-11-30 01:00 UTC)"
    );
}

#[test]
fn several_slots() {
    let s = schedule(
        "Europe/Paris",
        &[(&["saturday"], "02:00", "2h"), (&["WED"], "22:00", "1h")],
    );
    // Monday 2026-11-23; CET is UTC+1.
    assert_eq!(
        s.upcoming(ts("2026-11-23T00:00:00Z"), 3),
        [
            win("2026-11-25T21:00:00Z", "2026-11-25T22:00:00Z"),
            win("2026-11-28T01:00:00Z", "2026-11-28T03:00:00Z"),
            win("2026-12-02T21:00:00Z", "2026-12-02T22:00:00Z"),
        ]
    );
    // Inside the Saturday one, it comes first.
    let up = s.upcoming(ts("2026-11-28T02:59:59Z"), 2);
    assert_eq!(up[0], win("2026-11-28T01:00:00Z", "2026-11-28T03:00:00Z"));
    assert_eq!(up[1], win("2026-12-02T21:00:00Z", "2026-12-02T22:00:00Z"));
    assert!(s.upcoming(ts("2026-11-28T02:00:00Z"), 0).is_empty());
}

#[test]
fn overlapping_and_touching_slots_are_merged() {
    let s = schedule(
        "UTC",
        &[
            (SAT, "02:00", "2h"),
            (SAT, "03:00", "2h"),
            (SAT, "22:00", "2h"),
            (SUN, "00:00", "1h"),
            (SAT, "03:30", "30m"),
        ],
    );
    let morning = win("2026-11-28T02:00:00Z", "2026-11-28T05:00:00Z");
    let night = win("2026-11-28T22:00:00Z", "2026-11-29T01:00:00Z");
    assert_eq!(s.upcoming(ts("2026-11-27T12:00:00Z"), 2), [morning, night]);
    // Inside the first slot, the window lasts until the overlapping one closes.
    assert_eq!(s.window_at(ts("2026-11-28T02:30:00Z")), Some(morning));
    assert_eq!(s.window_at(ts("2026-11-29T00:30:00Z")), Some(night));
    assert_eq!(s.next_window(ts("2026-11-28T12:00:00Z")), Some(night));
}

#[test]
fn a_week_of_touching_days_is_one_window() {
    // Mon..Fri 00:00 + 24h: Mon 2026-11-23 00:00 -> Sat 2026-11-28 00:00.
    let s = schedule(
        "UTC",
        &[(&["Mon", "Tue", "Wed", "Thu", "Fri"], "00:00", "24h")],
    );
    let w = win("2026-11-23T00:00:00Z", "2026-11-28T00:00:00Z");
    assert_eq!(s.window_at(ts("2026-11-27T23:00:00Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-11-23T00:00:00Z")), Some(w));
    assert_eq!(
        s.next_window(ts("2026-11-28T00:00:00Z")).unwrap().start,
        ts("2026-11-30T00:00:00Z")
    );
}

#[test]
fn a_schedule_that_never_closes_is_cut_at_the_horizon() {
    let every = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let s = schedule("Europe/Paris", &[(every, "00:00", "30h")]);
    let now = ts("2026-07-01T12:00:00Z");
    let w = s.window_at(now).unwrap();
    assert!(w.contains(now));
    assert!(w.remaining(now) > Duration::from_secs(14 * 86_400), "{w:?}");
    assert_eq!(s.upcoming(now, 3), [w]);
}

#[test]
fn spring_forward_europe_paris() {
    // 2026-03-29: 02:00 CET (UTC+1) -> 03:00 CEST (UTC+2).
    let s = schedule("Europe/Paris", &[(SUN, "02:30", "2h")]);
    // 02:30 does not exist: 03:30 CEST = 01:30 UTC; 2 elapsed hours -> 03:30 UTC (05:30 CEST).
    let w = win("2026-03-29T01:30:00Z", "2026-03-29T03:30:00Z");
    assert_eq!(s.next_window(ts("2026-03-28T12:00:00Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-03-29T01:29:59Z")), None);
    assert_eq!(s.window_at(ts("2026-03-29T03:29:59Z")), Some(w));
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-03-29 03:30 CEST -> 05:30 CEST (01:30 UTC -> 03:30 UTC)"
    );
    // The week after: 02:30 CEST = 00:30 UTC.
    assert_eq!(
        s.next_window(ts("2026-03-29T03:30:00Z")),
        Some(win("2026-04-05T00:30:00Z", "2026-04-05T02:30:00Z"))
    );
    // The week before: 02:30 CET = 01:30 UTC.
    assert_eq!(
        s.next_window(ts("2026-03-21T00:00:00Z")),
        Some(win("2026-03-22T01:30:00Z", "2026-03-22T03:30:00Z"))
    );

    // 01:30 CET = 00:30 UTC; 2 elapsed hours -> 02:30 UTC, which reads 04:30 CEST.
    let s = schedule("Europe/Paris", &[(SUN, "01:30", "2h")]);
    let w = s.next_window(ts("2026-03-28T12:00:00Z")).unwrap();
    assert_eq!(w, win("2026-03-29T00:30:00Z", "2026-03-29T02:30:00Z"));
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-03-29 01:30 CET -> 04:30 CEST (00:30 UTC -> 02:30 UTC)"
    );

    // Just past the gap, 03:15 CEST = 01:15 UTC: it opens before the 02:30 slot does.
    let s = schedule("Europe/Paris", &[(SUN, "03:15", "1h")]);
    assert_eq!(
        s.next_window(ts("2026-03-28T12:00:00Z")),
        Some(win("2026-03-29T01:15:00Z", "2026-03-29T02:15:00Z"))
    );

    // Across the change: Sat 23:00 CET = 22:00 UTC, 5h -> 03:00 UTC = 05:00 CEST.
    let s = schedule("Europe/Paris", &[(SAT, "23:00", "5h")]);
    assert_eq!(
        s.window_at(ts("2026-03-29T02:59:59Z")),
        Some(win("2026-03-28T22:00:00Z", "2026-03-29T03:00:00Z"))
    );
}

#[test]
fn fall_back_europe_paris() {
    // 2026-10-25: 03:00 CEST (UTC+2) -> 02:00 CET (UTC+1); 02:00..03:00 happens twice.
    let s = schedule("Europe/Paris", &[(SUN, "02:30", "1h")]);
    // The earlier 02:30 (CEST) = 00:30 UTC; 1h later = 01:30 UTC = 02:30 CET.
    let w = win("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z");
    assert_eq!(s.next_window(ts("2026-10-24T12:00:00Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-10-25T01:29:59Z")), Some(w));
    assert_eq!(s.window_at(ts("2026-10-25T01:30:00Z")), None);
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-10-25 02:30 CEST -> 02:30 CET (00:30 UTC -> 01:30 UTC)"
    );

    // 01:30 CEST = 23:30 UTC the day before; 2 elapsed hours -> 01:30 UTC, the second 02:30.
    let s = schedule("Europe/Paris", &[(SUN, "01:30", "2h")]);
    let w = s.next_window(ts("2026-10-24T12:00:00Z")).unwrap();
    assert_eq!(w, win("2026-10-24T23:30:00Z", "2026-10-25T01:30:00Z"));
    assert_eq!(w.length(), Duration::from_secs(2 * 3600));
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-10-25 01:30 CEST -> 02:30 CET (Sat 2026-10-24 23:30 UTC -> Sun 2026-10-25 01:30 UTC)"
    );

    // 03:00 exists once, in CET: 02:00 UTC.
    let s = schedule("Europe/Paris", &[(SUN, "03:00", "1h")]);
    assert_eq!(
        s.next_window(ts("2026-10-24T12:00:00Z")),
        Some(win("2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"))
    );
}

#[test]
fn spring_forward_new_york() {
    // 2026-03-08: 02:00 EST (UTC-5) -> 03:00 EDT (UTC-4).
    let s = schedule("America/New_York", &[(SUN, "02:30", "1h")]);
    // 02:30 does not exist: 03:30 EDT = 07:30 UTC.
    assert_eq!(
        s.next_window(ts("2026-03-07T12:00:00Z")),
        Some(win("2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"))
    );
    // 01:00 EST = 06:00 UTC, 3h -> 09:00 UTC = 05:00 EDT.
    let s = schedule("America/New_York", &[(SUN, "01:00", "3h")]);
    assert_eq!(
        s.window_at(ts("2026-03-08T08:59:00Z")),
        Some(win("2026-03-08T06:00:00Z", "2026-03-08T09:00:00Z"))
    );
}

#[test]
fn fall_back_new_york() {
    // 2026-11-01: 02:00 EDT (UTC-4) -> 01:00 EST (UTC-5); 01:00..02:00 happens twice.
    let s = schedule("America/New_York", &[(SUN, "01:30", "1h")]);
    // The earlier 01:30 (EDT) = 05:30 UTC; 1h -> 06:30 UTC = 01:30 EST.
    let w = win("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z");
    assert_eq!(s.next_window(ts("2026-10-31T12:00:00Z")), Some(w));
    assert_eq!(
        w.describe(s.time_zone()),
        "Sun 2026-11-01 01:30 EDT -> 01:30 EST (05:30 UTC -> 06:30 UTC)"
    );
    // 00:30 EDT = 04:30 UTC, 2h -> 06:30 UTC.
    let s = schedule("America/New_York", &[(SUN, "00:30", "2h")]);
    assert_eq!(
        s.window_at(ts("2026-11-01T06:29:59Z")),
        Some(win("2026-11-01T04:30:00Z", "2026-11-01T06:30:00Z"))
    );
    // 02:00 exists once, in EST: 07:00 UTC.
    let s = schedule("America/New_York", &[(SUN, "02:00", "1h")]);
    assert_eq!(
        s.next_window(ts("2026-10-31T12:00:00Z")),
        Some(win("2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"))
    );
}

#[test]
fn half_hour_dst_lord_howe() {
    // 2026-10-04: 02:00 (UTC+10:30) -> 02:30 (UTC+11). 02:15 does not exist: it becomes
    // 02:45 +11:00 = 15:45 UTC the day before.
    let s = schedule("Australia/Lord_Howe", &[(SUN, "02:15", "1h")]);
    assert_eq!(
        s.next_window(ts("2026-10-02T00:00:00Z")),
        Some(win("2026-10-03T15:45:00Z", "2026-10-03T16:45:00Z"))
    );
    // 2026-04-05: 02:00 (UTC+11) -> 01:30 (UTC+10:30). 01:45 happens twice: the earlier is
    // 01:45 +11:00 = 14:45 UTC the day before.
    let s = schedule("Australia/Lord_Howe", &[(SUN, "01:45", "1h")]);
    assert_eq!(
        s.next_window(ts("2026-04-03T00:00:00Z")),
        Some(win("2026-04-04T14:45:00Z", "2026-04-04T15:45:00Z"))
    );
}

#[test]
fn describe_in_the_zone_and_in_utc() {
    let w = win("2026-11-28T01:00:00Z", "2026-11-28T03:00:00Z");
    let paris = TimeZone::get("Europe/Paris").unwrap();
    assert_eq!(
        w.describe(&paris),
        "Sat 2026-11-28 02:00 CET -> 04:00 CET (01:00 UTC -> 03:00 UTC)"
    );
    assert_eq!(
        w.describe(&TimeZone::UTC),
        "Sat 2026-11-28 01:00 UTC -> 03:00 UTC"
    );
    let w = win("2026-11-28T01:00:30Z", "2026-11-28T03:00:00Z");
    assert_eq!(
        w.describe(&TimeZone::UTC),
        "Sat 2026-11-28 01:00:30 UTC -> 03:00 UTC"
    );
}

#[test]
fn remaining_and_the_guard() {
    let w = win("2026-11-28T02:00:00Z", "2026-11-28T04:00:00Z");
    let hour = Duration::from_secs(3600);
    let at = ts("2026-11-28T03:00:00Z");
    assert_eq!(w.remaining(at), hour);
    assert_eq!(w.remaining(ts("2026-11-28T01:00:00Z")), 2 * hour);
    assert_eq!(w.remaining(ts("2026-11-28T05:00:00Z")), Duration::ZERO);
    assert!(fits(hour, &w, at));
    assert!(fits(Duration::ZERO, &w, at));
    assert!(!fits(hour + Duration::from_secs(1), &w, at));
    assert!(
        !fits(Duration::ZERO, &w, ts("2026-11-28T01:59:59Z")),
        "not open yet"
    );
    assert!(
        !fits(Duration::ZERO, &w, ts("2026-11-28T04:00:00Z")),
        "closed"
    );
}

#[test]
fn render() {
    let s = schedule(
        "Europe/Paris",
        &[(SAT, "02:00", "2h"), (&["Wed"], "22:00", "1h")],
    );
    let inside = render_upcoming(&s, ts("2026-11-28T02:00:00Z"), 2);
    assert_eq!(
        inside,
        "now inside a window until Sat 2026-11-28 04:00 CET (03:00 UTC), 1h left\n\
         next windows (Europe/Paris):\n  \
         Sat 2026-11-28 02:00 CET -> 04:00 CET (01:00 UTC -> 03:00 UTC)\n  \
         Wed 2026-12-02 22:00 CET -> 23:00 CET (21:00 UTC -> 22:00 UTC)\n"
    );
    let outside = render_upcoming(&s, ts("2026-11-23T20:30:00Z"), 1);
    assert_eq!(
        outside,
        "now outside the windows; the next one opens in 2d 30m\n\
         next windows (Europe/Paris):\n  \
         Wed 2026-11-25 22:00 CET -> 23:00 CET (21:00 UTC -> 22:00 UTC)\n"
    );
    let always = Schedule::from_input(&WindowInput::default()).unwrap();
    assert_eq!(
        render_upcoming(&always, ts("2026-11-23T20:30:00Z"), 3),
        "no maintenance window configured: upgrades may start at any time\n"
    );
}
