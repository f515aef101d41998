//! The Canopsis version: lenient parsing of both numbering eras, ordering, original text.
//!
//! Canopsis numbered its releases semantically up to 4.6.x (`3.39.1`, `4.5.14`) and then by
//! date (`22.10.13`, `23.04.0`). `23.04.0` is not valid strict semver (leading zero), so we
//! parse leniently, order by the numbers, and always print the text as it was given.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a Canopsis version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed version {text:?}: {reason}")]
pub struct VersionError {
    /// The text that was refused.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A Canopsis release number, such as `3.39.1`, `23.04.0` or `24.10.0-rc1`.
#[derive(Debug, Clone)]
pub struct Version {
    /// The numbers and pre-release tag, for ordering.
    key: semver::Version,
    /// The text as given, for display (`23.04.0` stays `23.04.0`).
    text: String,
}

impl Version {
    /// Parses a version leniently: three dot-separated numbers (leading zeros allowed), an
    /// optional `-prerelease` tag; a leading `v` is accepted and dropped.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let fail = |reason| VersionError {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        if body.is_empty() {
            return Err(fail("empty"));
        }
        let (core, pre) = match body.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (body, None),
        };
        let mut numbers = [0u64; 3];
        let mut parts = core.split('.');
        for slot in &mut numbers {
            let part = parts
                .next()
                .ok_or_else(|| fail("expected three numbers, like 4.5.0 or 23.04.0"))?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("each part must be a number"));
            }
            *slot = part.parse().map_err(|_| fail("number too large"))?;
        }
        if parts.next().is_some() {
            return Err(fail("expected three numbers, like 4.5.0 or 23.04.0"));
        }
        let mut key = semver::Version::new(numbers[0], numbers[1], numbers[2]);
        if let Some(pre) = pre {
            key.pre =
                semver::Prerelease::new(pre).map_err(|_| fail("malformed pre-release tag"))?;
            if key.pre.is_empty() {
                return Err(fail("empty pre-release tag"));
            }
        }
        Ok(Self {
            key,
            text: body.to_owned(),
        })
    }

    /// The first number (`4` of 4.5.0, `23` of 23.04.0).
    pub fn major(&self) -> u64 {
        self.key.major
    }

    /// The second number (`5` of 4.5.0, `4` of 23.04.0).
    pub fn minor(&self) -> u64 {
        self.key.minor
    }

    /// The third number.
    pub fn patch(&self) -> u64 {
        self.key.patch
    }

    /// Whether this is a pre-release (alpha, beta, rc).
    pub fn is_prerelease(&self) -> bool {
        !self.key.pre.is_empty()
    }

    /// Whether the release is numbered by date (22.10 and later).
    pub fn is_date_numbered(&self) -> bool {
        self.key.major >= 22
    }

    /// The numbers as semver, for matching against a version requirement.
    pub fn as_semver(&self) -> &semver::Version {
        &self.key
    }

    /// The text as Canopsis prints it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// Equality and hashing follow the ordering: 23.04.0 and 23.4.0 are the same release.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Build metadata is not part of a Canopsis version, so semver's order is the order.
        self.key.cmp(&other.key)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Test shorthand for a version that must parse, like `v("4.5.0")`.
#[cfg(test)]
pub(crate) fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_eras_and_keeps_the_text() {
        for text in [
            "3.39.1",
            "4.5.0",
            "22.10.13",
            "23.04.0",
            "24.10.0-rc1",
            "24.10.0-alpha.2",
        ] {
            assert_eq!(v(text).to_string(), text);
        }
        assert_eq!(v("23.04.0").minor(), 4);
        assert_eq!(v("v4.5.0").to_string(), "4.5.0");
    }

    #[test]
    fn orders_numerically_across_eras() {
        let mut versions: Vec<_> = [
            "23.04.0", "4.5.14", "3.39.1", "22.10.13", "4.5.2", "3.5.0", "23.10.0",
        ]
        .into_iter()
        .map(v)
        .collect();
        versions.sort();
        let texts: Vec<_> = versions.iter().map(Version::as_str).collect();
        assert_eq!(
            texts,
            ["3.5.0", "3.39.1", "4.5.2", "4.5.14", "22.10.13", "23.04.0", "23.10.0"]
        );
    }

    #[test]
    fn prerelease_sorts_before_its_release() {
        assert!(v("24.10.0-rc1") < v("24.10.0"));
        assert!(v("24.10.0-alpha1") < v("24.10.0-rc1"));
        assert!(v("24.04.3") < v("24.10.0-rc1"));
        assert!(v("24.10.0-rc1").is_prerelease());
    }

    #[test]
    fn leading_zero_is_the_same_release() {
        assert_eq!(v("23.04.0"), v("23.4.0"));
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "",
            "4.5",
            "4.5.0.1",
            "4.x.0",
            "4..0",
            "4.5.0-",
            "four",
            "4.5.0-rc 1",
            "-1.2.3",
        ] {
            let err = Version::parse(text).unwrap_err();
            assert_eq!(err.text, text, "{err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn prints_what_it_parsed_and_orders_like_the_numbers(
            a in (0u64..40, 0u64..20, 0u64..30, proptest::bool::ANY),
            b in (0u64..40, 0u64..20, 0u64..30, proptest::bool::ANY),
        ) {
            // Month-style zero padding on the minor number, as 23.04.0 has.
            let text = |(x, y, z, pad): (u64, u64, u64, bool)| {
                if pad { format!("{x}.{y:02}.{z}") } else { format!("{x}.{y}.{z}") }
            };
            let (ta, tb) = (text(a), text(b));
            let (va, vb) = (v(&ta), v(&tb));
            proptest::prop_assert_eq!(va.to_string(), ta);
            proptest::prop_assert_eq!(va.cmp(&vb), (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        }
    }
}
