//! Numbers and durations for people: digits grouped by thousands, plurals, signed rates, and
//! durations in words ("2 min 5 s") or compact ("2d 3h 10m", for schedules).

use std::time::Duration;

/// `n` with a space between thousands: 12 345.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `n` `word`s, digits grouped: "1 message", "12 345 messages".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", group(n))
    }
}

/// A rate with its sign and grouped digits: -2 100, +300, -0.4.
pub fn format_rate(rate: f64) -> String {
    if !rate.is_finite() {
        return "?".to_owned();
    }
    let sign = if rate < 0.0 { "-" } else { "+" };
    let magnitude = rate.abs();
    if magnitude >= 9.95 {
        format!("{sign}{}", group(magnitude.round() as u64))
    } else if magnitude < 0.05 {
        "0".to_owned()
    } else {
        format!("{sign}{magnitude:.1}")
    }
}

/// A duration for people: 6 s, 2 min 5 s, 1 h 3 min (rounded to the second).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        },
        s => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
    }
}

/// "2d 3h 10m"; seconds only under a minute; "0s" for nothing.
pub fn compact_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{secs}s");
    }
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    let mut out = Vec::new();
    if days > 0 {
        out.push(format!("{days}d"));
    }
    if hours > 0 {
        out.push(format!("{hours}h"));
    }
    if mins > 0 {
        out.push(format!("{mins}m"));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1 000");
        assert_eq!(group(1_234_567), "1 234 567");
        assert_eq!(format_rate(0.0), "0");
        assert_eq!(format_rate(-9.96), "-10");
        assert_eq!(format_rate(f64::NAN), "?");
        assert_eq!(format_duration(Duration::from_millis(400)), "0 s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1 min");
        assert_eq!(
            format_duration(Duration::from_secs(3_600 + 180)),
            "1 h 3 min"
        );
        assert_eq!(format_duration(Duration::from_secs(7_200)), "2 h");
    }

    #[test]
    fn compact_durations() {
        assert_eq!(compact_duration(Duration::from_secs(59)), "59s");
        assert_eq!(compact_duration(Duration::from_secs(86_400 + 61)), "1d 1m");
    }
}
