//! Finding the procedure scripts: bundled in the binary, replaced or extended by the site's
//! directories (`releases.d`: same-named files replace bundled ones; `addons.d`: add-ons).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Script, ScriptKind};
use crate::version::Version;

include!(concat!(env!("OUT_DIR"), "/bundled_scripts.rs"));

/// The file name of the standard procedure.
pub const STANDARD: &str = "standard.rhai";

/// Every script of an installation.
#[derive(Debug, Clone)]
pub struct ScriptSet {
    /// The standard procedure.
    pub standard: Script,
    /// One script per release that asks for something, by version.
    pub releases: BTreeMap<Version, Script>,
    /// The site's add-ons, by file name order.
    pub addons: Vec<Script>,
}

/// A script file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DiscoverError {
    /// The file or directory.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ScriptSet {
    /// The scripts bundled in the binary.
    pub fn bundled() -> Self {
        let mut standard = None;
        let mut releases = BTreeMap::new();
        for (rel, source) in BUNDLED_SCRIPTS {
            let origin = format!("bundled:{rel}");
            if *rel == STANDARD {
                standard = Some(Script::new(origin, ScriptKind::Standard, *source));
            } else if let Some(name) = rel.strip_prefix("releases/") {
                let version = release_version(name)
                    .expect("bundled script names are checked by the test suite");
                releases.insert(
                    version.clone(),
                    Script::new(origin, ScriptKind::Release(version), *source),
                );
            }
        }
        Self {
            standard: standard.expect("scripts/standard.rhai is bundled"),
            releases,
            addons: Vec::new(),
        }
    }

    /// Adds a release script (or the standard procedure) of a site directory, replacing the
    /// bundled one of the same name.
    pub fn add_release_file(&mut self, path: &Path, source: String) -> Result<(), DiscoverError> {
        let name = file_name(path);
        let origin = path.display().to_string();
        if name == STANDARD {
            self.standard = Script::new(origin, ScriptKind::Standard, source);
            return Ok(());
        }
        let version = release_version(&name).map_err(|message| DiscoverError {
            path: origin.clone(),
            message,
        })?;
        self.releases.insert(
            version.clone(),
            Script::new(origin, ScriptKind::Release(version), source),
        );
        Ok(())
    }

    /// Adds an add-on script.
    pub fn add_addon_file(&mut self, path: &Path, source: String) -> Result<(), DiscoverError> {
        let origin = path.display().to_string();
        let name = file_name(path);
        let stem = name.strip_suffix(".rhai").unwrap_or(&name);
        let valid = !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid {
            return Err(DiscoverError {
                path: origin,
                message: "an add-on's name may only hold letters, digits, - and _".into(),
            });
        }
        self.addons.push(Script::new(
            origin,
            ScriptKind::Addon(stem.to_owned()),
            source,
        ));
        Ok(())
    }

    /// Every script, standard first, then releases in order, then add-ons.
    pub fn all(&self) -> impl Iterator<Item = &Script> {
        std::iter::once(&self.standard)
            .chain(self.releases.values())
            .chain(self.addons.iter())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn release_version(name: &str) -> Result<Version, String> {
    let stem = name
        .strip_suffix(".rhai")
        .ok_or_else(|| "a release script must be named <version>.rhai".to_owned())?;
    Version::parse(stem).map_err(|e| format!("a release script must be named <version>.rhai: {e}"))
}

/// The bundled scripts plus those of the site's directories; every bad file is reported.
pub fn load(
    release_dirs: &[PathBuf],
    addon_dirs: &[PathBuf],
) -> Result<ScriptSet, Vec<DiscoverError>> {
    let mut set = ScriptSet::bundled();
    let mut errors = Vec::new();
    let read = |path: &Path| {
        if let Some(why) = crate::support::trust::untrusted_reason(path) {
            return Err(DiscoverError {
                path: path.display().to_string(),
                message: why,
            });
        }
        std::fs::read_to_string(path).map_err(|e| DiscoverError {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    };
    for (dirs, addon) in [(release_dirs, false), (addon_dirs, true)] {
        for dir in dirs {
            let files = match crate::support::fs::files_with_extension(dir, "rhai") {
                Ok(files) => files,
                Err(e) => {
                    errors.push(DiscoverError {
                        path: dir.display().to_string(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            for path in files {
                let added = read(&path).and_then(|source| match addon {
                    true => set.add_addon_file(&path, source),
                    false => set.add_release_file(&path, source),
                });
                errors.extend(added.err());
            }
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_release_script_is_named_by_a_version() {
        for (rel, _) in BUNDLED_SCRIPTS {
            if let Some(name) = rel.strip_prefix("releases/") {
                release_version(name).unwrap();
            }
        }
        let set = ScriptSet::bundled();
        assert_eq!(set.standard.origin, "bundled:standard.rhai");
    }

    #[test]
    fn a_site_file_replaces_the_bundled_one() {
        let mut set = ScriptSet::bundled();
        let v = Version::parse("3.40.0").unwrap();
        set.add_release_file(
            Path::new("/etc/canopsis-upgrade/releases.d/3.40.0.rhai"),
            "fn after_update() {}".into(),
        )
        .unwrap();
        assert_eq!(
            set.releases[&v].origin,
            "/etc/canopsis-upgrade/releases.d/3.40.0.rhai"
        );
        let err = set
            .add_release_file(Path::new("/etc/x/latest.rhai"), String::new())
            .unwrap_err();
        assert!(err.message.contains("<version>.rhai"), "{err}");
        assert!(set
            .add_addon_file(Path::new("/etc/a/bad name.rhai"), String::new())
            .is_err());
    }
}
