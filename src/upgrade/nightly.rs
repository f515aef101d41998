//! The nightly mode: the newest release the configured policy allows, from the package
//! repository or the catalog.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::catalog::Catalog;
use crate::config::{NightlySource, Settings};
use crate::executor::command::{self, CommandRequest};
use crate::install::Edition;
use crate::policy::{self, VersionPolicy};
use crate::version::Version;

/// The nightly policy: `[nightly] policy`, or else the patches of the installed release line.
pub fn policy(settings: &Settings, installed: &Version) -> VersionPolicy {
    match &settings.nightly_policy {
        Some(policy) => policy.clone(),
        None => {
            let policy = VersionPolicy::patches_of(installed);
            tracing::info!(
                "no [nightly] policy: the patch releases of the installed line ({policy})"
            );
            policy
        }
    }
}

/// The target of a nightly run, or None when the installed version is the newest allowed.
pub fn target(
    settings: &Settings,
    catalog: &Catalog,
    installed: &Version,
) -> Result<Option<Version>> {
    let policy = &policy(settings, installed);
    let candidates: Vec<Version> = match settings.nightly_source {
        NightlySource::Catalog => catalog
            .releases()
            .filter(|r| r.withdrawn.is_none() && !r.version.is_prerelease())
            .map(|r| r.version.clone())
            .collect(),
        NightlySource::Repository => repository_versions(settings.edition)?
            .into_iter()
            // The repository may offer what the catalog does not know; only known, usable
            // releases are planned.
            .filter(|v| catalog.get(v).is_some_and(|r| r.withdrawn.is_none()))
            .collect(),
    };
    Ok(pick(policy, installed, &candidates))
}

/// Preflight of a package install: the standard procedure's `yum`/`dnf update` installs the
/// newest release of the repositories, so that must be the target (else the procedures of the
/// releases in between would be skipped, or the ones past the target never run).
pub fn check_repository_offers(settings: &Settings, to: &Version) -> Result<()> {
    let offered = match repository_versions(settings.edition) {
        Ok(offered) => offered,
        Err(e) => {
            tracing::warn!("cannot check what the repositories offer: {e:#}");
            return Ok(());
        }
    };
    check_offer(&offered, to)
}

/// The pure part of [`check_repository_offers`].
pub fn check_offer(offered: &[Version], to: &Version) -> Result<()> {
    match offered.iter().max() {
        None => anyhow::bail!("the canopsis repositories offer no Canopsis package"),
        Some(newest) if newest > to => anyhow::bail!(
            "the canopsis repositories offer {newest}: the package update would install it, not {to}; upgrade to {newest}, or pin the repositories to {to}"
        ),
        Some(_) if !offered.contains(to) => {
            let list: Vec<String> = offered.iter().map(ToString::to_string).collect();
            anyhow::bail!("{to} is not in the canopsis repositories (they offer {})", list.join(", "))
        }
        Some(_) => Ok(()),
    }
}

/// The newest allowed candidate above the installed version.
pub fn pick(
    policy: &VersionPolicy,
    installed: &Version,
    candidates: &[Version],
) -> Option<Version> {
    policy.newest(installed, candidates).cloned()
}

/// `dnf` (or `yum`) `list --showduplicates` of the edition's package, in the canopsis repos.
pub fn repository_versions(edition: Edition) -> Result<Vec<Version>> {
    let package = match edition {
        Edition::Community => "canopsis",
        Edition::Pro => "canopsis-pro",
    };
    let manager = if command::find_for_root("dnf").is_some() {
        "dnf"
    } else {
        "yum"
    };
    let request = CommandRequest::new(
        manager,
        [
            "--disablerepo=*",
            "--enablerepo=canopsis*",
            "list",
            "--showduplicates",
            "available",
            package,
        ],
        Duration::from_secs(300),
    );
    let result = command::run(&request)
        .with_context(|| format!("cannot list {package} in the repository"))?;
    if !result.success() {
        anyhow::bail!("{manager} list {package} failed: {}", result.stderr.trim());
    }
    Ok(policy::parse_repository_list(&result.stdout, package))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::v;

    #[test]
    fn the_repository_must_offer_the_target_as_its_newest() {
        check_offer(&[v("4.4.0"), v("4.5.0")], &v("4.5.0")).unwrap();
        let err = check_offer(&[v("4.5.0"), v("4.5.1")], &v("4.5.0")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the canopsis repositories offer 4.5.1"),
            "{err}"
        );
        let err = check_offer(&[v("4.4.0")], &v("4.5.0")).unwrap_err();
        assert!(
            err.to_string()
                .contains("4.5.0 is not in the canopsis repositories"),
            "{err}"
        );
        assert!(check_offer(&[], &v("4.5.0")).is_err());
    }
}
