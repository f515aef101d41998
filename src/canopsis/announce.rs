//! The pure part of user announcements: message templates, their placeholders, the
//! deterministic broadcast `_id` and when to announce.

use std::fmt;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The announcement shown before and during the window, when the configuration gives none.
pub const DEFAULT_ANNOUNCEMENT: &str =
    "Canopsis will be upgraded from {from} to {to} between {start} and {end}; \
     it may be unavailable during that time.";
/// The message shown once the upgrade succeeded, when the configuration gives none.
pub const DEFAULT_DONE: &str = "Canopsis was upgraded to {to}: {status}";
/// The message shown when the upgrade failed, when the configuration gives none.
pub const DEFAULT_FAILURE: &str =
    "The upgrade of Canopsis to {to} did not complete; Canopsis {installed} is running. \
     The administrators have the details.";

/// A value a template can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{from}`: the installed version.
    From,
    /// `{to}`: the target version.
    To,
    /// `{start}`: the window start, in the local time zone.
    Start,
    /// `{end}`: the window end, in the local time zone.
    End,
    /// `{status}`: how it went, in words for users (done and failure messages only).
    Status,
    /// `{installed}`: the version running now, read back (done and failure messages only).
    Installed,
}

impl Placeholder {
    const ALL: [Placeholder; 6] = [
        Placeholder::From,
        Placeholder::To,
        Placeholder::Start,
        Placeholder::End,
        Placeholder::Status,
        Placeholder::Installed,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::From => "from",
            Placeholder::To => "to",
            Placeholder::Start => "start",
            Placeholder::End => "end",
            Placeholder::Status => "status",
            Placeholder::Installed => "installed",
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// Which message a template is for; only outcome messages know `{status}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Shown before and during the window.
    Announcement,
    /// Shown after the upgrade, done or failed.
    Outcome,
}

impl MessageKind {
    /// The placeholders this kind of message may use.
    pub fn placeholders(self) -> &'static [Placeholder] {
        match self {
            MessageKind::Announcement => &Placeholder::ALL[..4],
            MessageKind::Outcome => &Placeholder::ALL,
        }
    }
}

/// Why a template is refused (at config validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` is not a placeholder of this kind of message.
    #[error("unknown placeholder {{{name}}} at character {at} (known here: {known})")]
    Unknown {
        /// The name between the braces.
        name: String,
        /// Its position (0-based, in characters).
        at: usize,
        /// The placeholders allowed here.
        known: String,
    },
    /// A `{` without its `}`.
    #[error("'{{' at character {at} is not closed (write '{{{{' for a literal brace)")]
    Unclosed {
        /// Its position (0-based, in characters).
        at: usize,
    },
    /// A `}` without its `{`.
    #[error("'}}' at character {at} closes nothing (write '}}}}' for a literal brace)")]
    Unopened {
        /// Its position (0-based, in characters).
        at: usize,
    },
    /// Nothing to show: Canopsis refuses an empty message.
    #[error("the message is empty")]
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Placeholder),
}

/// A parsed message template: text with `{from}`, `{to}`, `{start}`, `{end}`, `{status}`;
/// `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What the placeholders stand for.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    /// The installed version.
    pub from: &'a str,
    /// The target version.
    pub to: &'a str,
    /// The window start.
    pub start: Timestamp,
    /// The window end.
    pub end: Timestamp,
    /// How it went (outcome messages).
    pub status: &'a str,
    /// The version running now (outcome messages).
    pub installed: &'a str,
    /// The zone `{start}` and `{end}` are shown in (the machine's, in production).
    pub tz: &'a TimeZone,
}

impl Template {
    /// Parses `text` for the given kind of message; unknown placeholders are an error that
    /// names them.
    pub fn parse(text: &str, kind: MessageKind) -> Result<Self, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::Unopened { at }),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => return Err(TemplateError::Unclosed { at }),
                            Some((_, c)) => name.push(c),
                        }
                    }
                    let known = kind.placeholders();
                    let field = known
                        .iter()
                        .copied()
                        .find(|p| p.name() == name.trim())
                        .ok_or_else(|| TemplateError::Unknown {
                            name,
                            at,
                            known: known
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                        })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(field));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The placeholders used, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(*f),
            Part::Text(_) => None,
        })
    }

    /// The message with the placeholders replaced.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(Placeholder::From) => out.push_str(values.from),
                Part::Field(Placeholder::To) => out.push_str(values.to),
                Part::Field(Placeholder::Start) => {
                    out.push_str(&format_local(values.start, values.tz))
                }
                Part::Field(Placeholder::End) => out.push_str(&format_local(values.end, values.tz)),
                Part::Field(Placeholder::Status) => out.push_str(values.status),
                Part::Field(Placeholder::Installed) => out.push_str(values.installed),
            }
        }
        out
    }
}

/// A time as people read it in a banner: "Sat 28 Nov 02:00 CET".
pub fn format_local(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%a %-d %b %H:%M %Z")
        .to_string()
}

/// The broadcast `_id` of an upgrade: the same target and window give the same id, so a retry
/// after a crash finds the message it created, e.g. `canopsis-upgrade-4.5.0-20261128T0100Z`.
pub fn broadcast_id(target: &impl fmt::Display, window_start: Timestamp) -> String {
    format!(
        "canopsis-upgrade-{target}-{}",
        window_start.strftime("%Y%m%dT%H%MZ")
    )
}

/// When to announce a window: `lead_time` before it starts (the earliest time there is, if
/// that is before it).
pub fn announce_at(window_start: Timestamp, lead_time: Duration) -> Timestamp {
    SignedDuration::try_from(lead_time)
        .ok()
        .and_then(|lead| window_start.checked_sub(lead).ok())
        .unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn renders_every_placeholder_in_the_local_zone() {
        let tz = paris();
        let values = Values {
            from: "4.4.0",
            installed: "4.4.0",
            to: "4.5.0",
            start: at("2026-11-28T01:00:00Z"),
            end: at("2026-11-28T03:30:00Z"),
            status: "all engines running",
            tz: &tz,
        };
        let t = Template::parse(DEFAULT_ANNOUNCEMENT, MessageKind::Announcement).unwrap();
        assert_eq!(
            t.render(&values),
            "Canopsis will be upgraded from 4.4.0 to 4.5.0 between Sat 28 Nov 02:00 CET and \
             Sat 28 Nov 04:30 CET; it may be unavailable during that time."
        );
        let done = Template::parse(DEFAULT_DONE, MessageKind::Outcome).unwrap();
        assert_eq!(
            done.render(&values),
            "Canopsis was upgraded to 4.5.0: all engines running"
        );
        let failure = Template::parse(DEFAULT_FAILURE, MessageKind::Outcome).unwrap();
        assert_eq!(
            failure.render(&values),
            "The upgrade of Canopsis to 4.5.0 did not complete; Canopsis 4.4.0 is running. \
             The administrators have the details."
        );
        assert!(Template::parse("{installed}", MessageKind::Announcement).is_err());
        let summer = format_local(at("2026-07-04T00:00:00Z"), &tz);
        assert_eq!(summer, "Sat 4 Jul 02:00 CEST");
    }

    #[test]
    fn braces_can_be_escaped() {
        let t = Template::parse("{{to}} is {to}}}", MessageKind::Announcement).unwrap();
        let tz = TimeZone::UTC;
        let values = Values {
            from: "a",
            installed: "a",
            to: "b",
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            status: "",
            tz: &tz,
        };
        assert_eq!(t.render(&values), "{to} is b}");
        assert_eq!(t.placeholders().collect::<Vec<_>>(), [Placeholder::To]);
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let e = Template::parse("from {form} to {to}", MessageKind::Announcement).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown placeholder {form} at character 5 (known here: {from}, {to}, {start}, {end})"
        );
        // {status} only means something once the upgrade is over.
        let e = Template::parse("{status}", MessageKind::Announcement).unwrap_err();
        assert!(matches!(e, TemplateError::Unknown { ref name, .. } if name == "status"));
        assert!(Template::parse("{status}", MessageKind::Outcome).is_ok());
    }

    #[test]
    fn refuses_unbalanced_braces_and_empty_text() {
        assert_eq!(
            Template::parse("at {start", MessageKind::Announcement),
            Err(TemplateError::Unclosed { at: 3 })
        );
        assert_eq!(
            Template::parse("a } b", MessageKind::Announcement),
            Err(TemplateError::Unopened { at: 2 })
        );
        assert_eq!(
            Template::parse("  ", MessageKind::Outcome),
            Err(TemplateError::Empty)
        );
    }

    #[test]
    fn the_broadcast_id_depends_on_target_and_window_only() {
        let start = at("2026-11-28T01:00:00Z");
        assert_eq!(
            broadcast_id(&"4.5.0", start),
            "canopsis-upgrade-4.5.0-20261128T0100Z"
        );
        let v = crate::version::Version::parse("23.04.0").unwrap();
        assert_eq!(
            broadcast_id(&v, at("2026-03-01T22:30:59Z")),
            "canopsis-upgrade-23.04.0-20260301T2230Z"
        );
        assert_ne!(broadcast_id(&"4.5.0", start), broadcast_id(&"4.5.1", start));
    }

    #[test]
    fn announces_lead_time_before_the_window() {
        let start = at("2026-11-28T01:00:00Z");
        assert_eq!(
            announce_at(start, Duration::from_secs(3 * 86_400)),
            at("2026-11-25T01:00:00Z")
        );
        assert_eq!(announce_at(start, Duration::ZERO), start);
        assert_eq!(announce_at(start, Duration::MAX), Timestamp::MIN);
    }
}
