//! The nightly mode's version policy: which newer release to upgrade to, found in the package
//! repository (`yum`/`dnf list --showduplicates`) or the catalog.

use crate::version::Version;

/// Why a policy is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version policy {text:?}: {reason}")]
pub struct VersionPolicyError {
    /// The policy as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

/// Which versions an unattended upgrade may go to, like `~4.5` (patches of 4.5 only) or
/// `~23.10`, `>=23.10, <24.0`. Canopsis's zero-padded months are accepted (`~23.04`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPolicy {
    text: String,
    requirement: semver::VersionReq,
}

impl VersionPolicy {
    /// Parses a policy.
    pub fn parse(text: &str) -> Result<Self, VersionPolicyError> {
        let fail = |reason: String| VersionPolicyError {
            text: text.to_owned(),
            reason,
        };
        if text.trim().is_empty() {
            return Err(fail("empty".into()));
        }
        let requirement = semver::VersionReq::parse(&strip_leading_zeros(text))
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            requirement,
        })
    }

    /// The patch releases of `installed`'s release line: `~4.5` on 4.5.x, `~23.10` on
    /// 23.10.x (the nightly mode's policy when none is configured).
    pub fn patches_of(installed: &Version) -> Self {
        let minor = if installed.is_date_numbered() {
            format!("{:02}", installed.minor())
        } else {
            installed.minor().to_string()
        };
        Self::parse(&format!("~{}.{minor}", installed.major()))
            .expect("~MAJOR.MINOR is a valid requirement")
    }

    /// Whether a version is allowed.
    pub fn allows(&self, version: &Version) -> bool {
        self.requirement.matches(version.as_semver())
    }

    /// The newest candidate newer than `installed` that the policy allows.
    pub fn newest<'a>(
        &self,
        installed: &Version,
        candidates: impl IntoIterator<Item = &'a Version>,
    ) -> Option<&'a Version> {
        candidates
            .into_iter()
            .filter(|v| *v > installed && self.allows(v))
            .max()
    }
}

impl std::fmt::Display for VersionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `23.04` -> `23.4`, so that semver's requirement parser takes it (it means the same).
fn strip_leading_zeros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut at_number_start = true;
    while let Some(c) = chars.next() {
        if at_number_start && c == '0' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            continue;
        }
        at_number_start = !c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// The versions of `package` in the output of `yum list --showduplicates` or `dnf list
/// --showduplicates` (`canopsis.x86_64   4.5.3-1.el7   canopsis-repo`); other lines ignored.
pub fn parse_repository_list(output: &str, package: &str) -> Vec<Version> {
    let mut versions: Vec<Version> = output
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let evr = fields.next()?;
            let base = name.rsplit_once('.').map_or(name, |(n, _arch)| n);
            if base != package {
                return None;
            }
            // epoch:version-release
            let version = evr.rsplit_once(':').map_or(evr, |(_, v)| v);
            let version = version.split_once('-').map_or(version, |(v, _release)| v);
            Version::parse(version).ok()
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::v;

    #[test]
    fn tilde_allows_patches_only() {
        let policy = VersionPolicy::parse("~4.5").unwrap();
        assert!(policy.allows(&v("4.5.14")));
        assert!(!policy.allows(&v("4.6.0")));
        let policy = VersionPolicy::parse("~23.04").unwrap();
        assert!(policy.allows(&v("23.04.14")));
        assert!(!policy.allows(&v("23.10.0")));
        assert!(VersionPolicy::parse("~4.x.y").is_err());
        assert!(VersionPolicy::parse(" ").is_err());
    }

    #[test]
    fn picks_the_newest_allowed_release() {
        let candidates = [v("4.5.3"), v("4.5.14"), v("4.6.0"), v("4.5.1")];
        let policy = VersionPolicy::parse("~4.5").unwrap();
        assert_eq!(
            policy.newest(&v("4.5.3"), &candidates),
            Some(&candidates[1])
        );
        assert_eq!(policy.newest(&v("4.5.14"), &candidates), None);
    }

    #[test]
    fn reads_yum_and_dnf_listings() {
        let yum = "Loaded plugins: fastestmirror\nAvailable Packages\ncanopsis.x86_64        4.5.3-1.el7      canopsis\ncanopsis.x86_64    4.5.14-1.el7   canopsis\ncanopsis-pro.x86_64  4.6.0-1.el7  canopsis-pro\n";
        assert_eq!(
            parse_repository_list(yum, "canopsis"),
            [v("4.5.3"), v("4.5.14")]
        );
        let dnf = "Available Packages\ncanopsis-pro.x86_64   1:24.04.3-1.el8   canopsis-pro\ncanopsis-pro.x86_64   24.04.1-1.el8   canopsis-pro\n";
        let versions = parse_repository_list(dnf, "canopsis-pro");
        assert_eq!(
            versions.iter().map(Version::as_str).collect::<Vec<_>>(),
            ["24.04.1", "24.04.3"]
        );
    }

    #[test]
    fn the_default_policy_is_the_patches_of_the_installed_line() {
        use crate::version::v;
        let policy = VersionPolicy::patches_of(&v("23.04.7"));
        assert_eq!(policy.to_string(), "~23.04");
        assert!(policy.allows(&v("23.04.14")));
        assert!(!policy.allows(&v("23.10.0")));
        let policy = VersionPolicy::patches_of(&v("4.5.3"));
        assert_eq!(policy.to_string(), "~4.5");
        assert!(policy.allows(&v("4.5.14")) && !policy.allows(&v("4.6.0")));
    }
}
