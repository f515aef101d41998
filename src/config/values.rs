//! The checks every section shares: durations, positive numbers, absolute paths, non-empty
//! lists. Each takes the located value (or none: the default) and names its key in errors.

use std::path::PathBuf;
use std::time::Duration;

use super::input::Located;
use super::ConfigError;

/// Parses "10s", "2h", "1h 30m" (jiff's friendly format) or ISO 8601 ("PT10S").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is not a duration like \"30s\" or \"2h\": {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text:?} must not be negative"))
}

/// A duration longer than zero, or `default`.
pub(super) fn duration(
    l: Option<Located<String>>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(l) = l else { return Ok(default) };
    let d = parse_duration(&l.value).map_err(|e| l.error(e))?;
    if d.is_zero() {
        return Err(l
            .origin
            .error(format!("{} must be longer than zero", l.key)));
    }
    Ok(d)
}

/// A number greater than zero, or `default`.
pub(super) fn positive<T: Copy + PartialOrd + Default>(
    l: Option<Located<T>>,
    default: T,
) -> Result<T, ConfigError> {
    match l {
        Some(l) if l.value <= T::default() => {
            Err(l.origin.error(format!("{} must be greater than 0", l.key)))
        }
        Some(l) => Ok(l.value),
        None => Ok(default),
    }
}

/// An absolute path, if one is written.
pub(super) fn optional_absolute(
    l: Option<Located<PathBuf>>,
) -> Result<Option<PathBuf>, ConfigError> {
    match l {
        Some(l) => {
            check_absolute(&l, &l.value)?;
            Ok(Some(l.value))
        }
        None => Ok(None),
    }
}

/// An absolute path, or `default`.
pub(super) fn absolute(
    l: Option<Located<PathBuf>>,
    default: impl Into<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    Ok(optional_absolute(l)?.unwrap_or_else(|| default.into()))
}

/// A list of absolute paths, or `default`.
pub(super) fn all_absolute(
    l: Option<Located<Vec<PathBuf>>>,
    default: &[&str],
) -> Result<Vec<PathBuf>, ConfigError> {
    match l {
        Some(l) => {
            for path in &l.value {
                check_absolute(&l, path)?;
            }
            Ok(l.value)
        }
        None => Ok(default.iter().map(PathBuf::from).collect()),
    }
}

fn check_absolute<T>(l: &Located<T>, path: &std::path::Path) -> Result<(), ConfigError> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(l.error(format_args!("{} is not an absolute path", path.display())))
    }
}

/// A list with at least one `what` in it, or `default`.
pub(super) fn non_empty<T>(
    l: Option<Located<Vec<T>>>,
    what: &str,
    default: impl FnOnce() -> Vec<T>,
) -> Result<Vec<T>, ConfigError> {
    match l {
        Some(l) if l.value.is_empty() => Err(l
            .origin
            .error(format!("{} must name at least one {what}", l.key))),
        Some(l) => Ok(l.value),
        None => Ok(default()),
    }
}

/// Each element of a list converted by `convert` (its error prefixed with the key), or empty.
pub(super) fn each<T, U>(
    l: Option<Located<Vec<T>>>,
    convert: impl Fn(&T) -> Result<U, String>,
) -> Result<Vec<U>, ConfigError> {
    match l {
        Some(l) => l
            .value
            .iter()
            .map(|item| convert(item).map_err(|e| l.error(e)))
            .collect(),
        None => Ok(Vec::new()),
    }
}

/// The written value, or `default`.
pub(super) fn or<T>(l: Option<Located<T>>, default: T) -> T {
    l.map_or(default, |l| l.value)
}
