//! The release catalog (`scripts/releases/index.toml` plus site indexes) and the upgrade path.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::version::Version;

/// The bundled index of every published release.
pub const BUNDLED_INDEX: &str = include_str!("../scripts/releases/index.toml");

/// One published release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its number.
    pub version: Version,
    /// Its publication date, when the note gives one.
    pub date: Option<toml::value::Date>,
    /// Why it must never be a target, when it was withdrawn.
    pub withdrawn: Option<String>,
}

/// Every release we know, in version order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    releases: BTreeMap<Version, Release>,
}

/// Why an index file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct IndexError {
    /// Where the index comes from (a path, or `bundled:` for ours).
    pub origin: String,
    /// 1-based line of the fault.
    pub line: usize,
    /// 1-based column of the fault.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Why there is no upgrade path between two versions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The target is older than the installed version.
    #[error("{to} is older than the installed {from}: downgrades are not supported")]
    Downgrade {
        /// The installed version.
        from: Version,
        /// The target.
        to: Version,
    },
    /// Nothing to do.
    #[error("{0} is already installed: nothing to upgrade")]
    AlreadyThere(Version),
    /// The installed version is not a known release.
    #[error("the installed version {0} is not a known Canopsis release (add it with [catalog] index_files if it is one)")]
    UnknownInstalled(Version),
    /// The target is past the newest release we know.
    #[error("{to} is newer than the newest known release {newest} (add it with [catalog] index_files if it is out)")]
    TargetTooNew {
        /// The target.
        to: Version,
        /// The newest release known.
        newest: Version,
    },
    /// The target is within the known range but was never published.
    #[error("{0} is not a published Canopsis release")]
    UnknownTarget(Version),
    /// The target was withdrawn by the Canopsis team.
    #[error("{version} cannot be a target: {reason}; choose a later release")]
    WithdrawnTarget {
        /// The target.
        version: Version,
        /// Why it was withdrawn.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    releases: BTreeMap<toml::Spanned<String>, EntryInput>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EntryInput {
    Date(toml::value::Datetime),
    Detailed(DetailedEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailedEntry {
    date: Option<toml::value::Datetime>,
    withdrawn: Option<String>,
}

impl Catalog {
    /// The catalog of the bundled index alone.
    pub fn bundled() -> Self {
        let mut catalog = Self::default();
        catalog
            .add_index("bundled:scripts/releases/index.toml", BUNDLED_INDEX)
            .expect("the bundled index is checked by the test suite");
        catalog
    }

    /// Adds (or replaces) the releases of one index file's text.
    pub fn add_index(&mut self, origin: &str, text: &str) -> Result<(), IndexError> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = crate::support::text::line_col(text, span.start);
            IndexError {
                origin: origin.to_owned(),
                line,
                column,
                message,
            }
        };
        let file: IndexFile = toml::from_str(text)
            .map_err(|e| at(e.span().unwrap_or(0..0), e.message().to_owned()))?;
        for (key, entry) in file.releases {
            let span = key.span();
            let key = key.into_inner();
            let version = Version::parse(&key).map_err(|e| at(span.clone(), e.to_string()))?;
            let (date, withdrawn) = match entry {
                EntryInput::Date(d) => (Some(d), None),
                EntryInput::Detailed(d) => (d.date, d.withdrawn),
            };
            let date = match date {
                Some(d) => match (d.date, d.time) {
                    (Some(date), None) => Some(date),
                    _ => {
                        return Err(at(
                            span,
                            format!("{key}: expected a plain date like 2022-02-18"),
                        ))
                    }
                },
                None => None,
            };
            self.releases.insert(
                version.clone(),
                Release {
                    version,
                    date,
                    withdrawn,
                },
            );
        }
        Ok(())
    }

    /// Every release, in version order.
    pub fn releases(&self) -> impl DoubleEndedIterator<Item = &Release> {
        self.releases.values()
    }

    /// The release of that number, if published.
    pub fn get(&self, version: &Version) -> Option<&Release> {
        self.releases.get(version)
    }

    /// The newest release known.
    pub fn newest(&self) -> Option<&Version> {
        self.releases.keys().next_back()
    }

    /// Every release `v` with `from < v <= to`, ascending: the releases whose procedures apply.
    // The error carries two versions (128 bytes) so that callers can match and print them; it
    // is built at most once per plan, so boxing would cost clarity for nothing.
    #[allow(clippy::result_large_err)]
    pub fn path(&self, from: &Version, to: &Version) -> Result<Vec<Version>, PathError> {
        if to == from {
            return Err(PathError::AlreadyThere(from.clone()));
        }
        if to < from {
            return Err(PathError::Downgrade {
                from: from.clone(),
                to: to.clone(),
            });
        }
        if !self.releases.contains_key(from) {
            return Err(PathError::UnknownInstalled(from.clone()));
        }
        let target = match self.releases.get(to) {
            Some(release) => release,
            None => {
                return Err(match self.newest() {
                    Some(newest) if to > newest => PathError::TargetTooNew {
                        to: to.clone(),
                        newest: newest.clone(),
                    },
                    _ => PathError::UnknownTarget(to.clone()),
                })
            }
        };
        if let Some(reason) = &target.withdrawn {
            return Err(PathError::WithdrawnTarget {
                version: to.clone(),
                reason: reason.clone(),
            });
        }
        use std::ops::Bound::{Excluded, Included};
        Ok(self
            .releases
            .range((Excluded(from), Included(to)))
            .map(|(v, _)| v.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::v;

    fn texts(path: &[Version]) -> Vec<&str> {
        path.iter().map(Version::as_str).collect()
    }

    #[test]
    fn bundled_index_lists_every_release_note() {
        let catalog = Catalog::bundled();
        assert_eq!(catalog.releases().count(), 126);
        assert_eq!(catalog.newest().unwrap().as_str(), "24.04.3");
        let r = catalog.get(&v("3.40.0")).unwrap();
        assert_eq!(r.date.unwrap().to_string(), "2020-05-04");
    }

    #[test]
    fn path_of_the_guides_example() {
        let path = Catalog::bundled().path(&v("3.38.0"), &v("3.40.0")).unwrap();
        assert_eq!(texts(&path), ["3.39.0", "3.39.1", "3.40.0"]);
    }

    #[test]
    fn path_crosses_eras_and_keeps_the_text() {
        let path = Catalog::bundled().path(&v("4.6.3"), &v("23.04.1")).unwrap();
        assert_eq!(path.first().unwrap().as_str(), "22.10.0");
        assert_eq!(path.last().unwrap().as_str(), "23.04.1");
        assert!(texts(&path).contains(&"22.10.13"));
        assert!(path.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_withdrawn_release_is_passed_through_but_never_a_target() {
        let catalog = Catalog::bundled();
        let path = catalog.path(&v("4.5.1"), &v("4.5.3")).unwrap();
        assert_eq!(texts(&path), ["4.5.2", "4.5.3"]);
        assert!(matches!(
            catalog.path(&v("4.5.1"), &v("4.5.2")),
            Err(PathError::WithdrawnTarget { .. })
        ));
    }

    #[test]
    fn refusals() {
        let catalog = Catalog::bundled();
        let err = |a: &str, b: &str| catalog.path(&v(a), &v(b)).unwrap_err();
        assert!(matches!(err("4.5.0", "4.4.0"), PathError::Downgrade { .. }));
        assert!(matches!(err("4.5.0", "4.5.0"), PathError::AlreadyThere(_)));
        assert!(matches!(
            err("4.5.99", "4.6.0"),
            PathError::UnknownInstalled(_)
        ));
        assert!(matches!(
            err("4.5.0", "4.5.99"),
            PathError::UnknownTarget(_)
        ));
        assert!(matches!(
            err("3.43.0", "3.44.0"),
            PathError::UnknownInstalled(_)
        ));
        let too_new = err("24.04.0", "24.10.0");
        assert_eq!(
            too_new.to_string(),
            "24.10.0 is newer than the newest known release 24.04.3 (add it with [catalog] index_files if it is out)"
        );
    }

    #[test]
    fn a_site_index_adds_a_release() {
        let mut catalog = Catalog::bundled();
        catalog
            .add_index("site.toml", "[releases]\n\"24.10.0-rc1\" = 2024-10-30\n")
            .unwrap();
        let path = catalog.path(&v("24.04.3"), &v("24.10.0-rc1")).unwrap();
        assert_eq!(texts(&path), ["24.10.0-rc1"]);
    }

    #[test]
    fn a_bad_index_names_line_and_column() {
        let mut catalog = Catalog::default();
        let err = catalog
            .add_index(
                "site.toml",
                "[releases]\n\"4.5.0\" = 2022-02-18\n\"4.x\" = 2022-03-01\n",
            )
            .unwrap_err();
        assert_eq!((err.line, err.column), (3, 1), "{err}");
        assert!(
            err.to_string()
                .starts_with("site.toml:3:1: malformed version"),
            "{err}"
        );
        let err = catalog
            .add_index("site.toml", "[releases]\n\"4.5.0\" = 2022-02-18\n[other]\n")
            .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    proptest::proptest! {
        #[test]
        fn a_path_is_every_release_strictly_after_up_to_the_target(i in 0usize..126, j in 0usize..126) {
            let catalog = Catalog::bundled();
            let all: Vec<&Version> = catalog.releases().map(|r| &r.version).collect();
            let (from, to) = (all[i], all[j]);
            match catalog.path(from, to) {
                Ok(path) => {
                    proptest::prop_assert!(i < j);
                    let expected: Vec<&Version> = all[i + 1..=j].to_vec();
                    proptest::prop_assert_eq!(path.iter().collect::<Vec<_>>(), expected);
                }
                Err(PathError::WithdrawnTarget { .. }) => proptest::prop_assert!(catalog.get(to).unwrap().withdrawn.is_some()),
                Err(_) => proptest::prop_assert!(i >= j),
            }
        }
    }
}
