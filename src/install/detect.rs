//! Detecting the installed Canopsis version: the RPM database, VERSION.txt, or the API.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{DetectSource, Settings};
use crate::install::Edition;
use crate::version::Version;

/// What was found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The installed version.
    pub version: Version,
    /// The edition, when the source tells it.
    pub edition: Option<Edition>,
    /// Which source answered.
    pub source: DetectSource,
}

/// No source answered; each one's reason is kept.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell the installed Canopsis version ({}); give it with --from", attempts(.0))]
pub struct DetectError(pub Vec<(DetectSource, String)>);

fn attempts(list: &[(DetectSource, String)]) -> String {
    list.iter()
        .map(|(s, r)| format!("{s}: {r}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for DetectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DetectSource::Rpm => "rpm",
            DetectSource::VersionFile => "version-file",
            DetectSource::Api => "api",
        })
    }
}

/// Asks each configured source in turn; the first answer wins.
pub async fn detect(settings: &Settings) -> Result<Detected, DetectError> {
    let mut failures = Vec::new();
    for &source in &settings.detect_sources {
        let attempt = match source {
            DetectSource::Rpm => from_rpm(settings.detect_timeout).await,
            DetectSource::VersionFile => from_version_file(&settings.version_file),
            DetectSource::Api => from_api(&settings.api_url, settings.detect_timeout).await,
        };
        match attempt {
            Ok((version, edition)) => {
                return Ok(Detected {
                    version,
                    edition,
                    source,
                })
            }
            Err(reason) => failures.push((source, reason)),
        }
    }
    Err(DetectError(failures))
}

/// The packages of each edition, as `rpm -q` names them.
const PACKAGES: [(&str, Edition); 2] = [
    ("canopsis-pro", Edition::Pro),
    ("canopsis", Edition::Community),
];

async fn from_rpm(timeout: Duration) -> Result<(Version, Option<Edition>), String> {
    let mut reasons = Vec::new();
    for (package, edition) in PACKAGES {
        let mut command = tokio::process::Command::new("rpm");
        command
            .args(["-q", "--queryformat", "%{VERSION}", package])
            .kill_on_drop(true);
        let output = match tokio::time::timeout(timeout, command.output()).await {
            Err(_) => return Err(format!("rpm -q {package} took longer than {timeout:?}")),
            Ok(Err(e)) => return Err(format!("cannot run rpm: {e}")),
            Ok(Ok(output)) => output,
        };
        if output.status.success() {
            let version = parse_rpm_version(&String::from_utf8_lossy(&output.stdout))?;
            return Ok((version, Some(edition)));
        }
        reasons.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    Err(reasons.join(", "))
}

/// The version printed by `rpm -q --queryformat %{VERSION}`.
pub fn parse_rpm_version(output: &str) -> Result<Version, String> {
    Version::parse(output.trim()).map_err(|e| format!("rpm printed {e}"))
}

fn from_version_file(path: &Path) -> Result<(Version, Option<Edition>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let version = parse_version_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((version, None))
}

/// The version in VERSION.txt (its first non-empty line).
pub fn parse_version_file(text: &str) -> Result<Version, String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or("the file is empty")?;
    Version::parse(line).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct AppInfo {
    version: Option<String>,
    edition: Option<String>,
}

/// The version and edition of an app-info answer.
pub fn parse_app_info(body: &str) -> Result<(Version, Option<Edition>), String> {
    let info: AppInfo = serde_json::from_str(body)
        .map_err(|e| format!("app-info is not the expected JSON: {e}"))?;
    let text = info.version.ok_or("app-info has no version field")?;
    let version = Version::parse(&text).map_err(|e| format!("app-info: {e}"))?;
    let edition = match info.edition.as_deref() {
        Some("pro") | Some("cat") => Some(Edition::Pro),
        Some("community") | Some("core") => Some(Edition::Community),
        _ => None,
    };
    Ok((version, edition))
}

async fn from_api(base: &str, timeout: Duration) -> Result<(Version, Option<Edition>), String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    // 4.5 and later; 4.3 and 4.4 had it under /internal.
    let mut last = String::new();
    for path in ["/api/v4/app-info", "/api/v4/internal/app_info"] {
        let url = format!("{base}{path}");
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            last = format!("{url}: 404 Not Found");
            continue;
        }
        let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{url}: {status}"));
        }
        return parse_app_info(&body).map_err(|e| format!("{url}: {e}"));
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_source() {
        assert_eq!(parse_rpm_version("4.5.14\n").unwrap().as_str(), "4.5.14");
        assert!(parse_rpm_version("package canopsis is not installed").is_err());
        assert_eq!(parse_version_file("\n4.4.0\n").unwrap().as_str(), "4.4.0");
        assert!(parse_version_file("  \n").is_err());
        let (v, e) =
            parse_app_info(r#"{"version":"23.10.2","edition":"pro","stack":"go"}"#).unwrap();
        assert_eq!((v.as_str(), e), ("23.10.2", Some(Edition::Pro)));
        assert!(parse_app_info(r#"{"edition":"pro"}"#)
            .unwrap_err()
            .contains("no version"));
        assert!(parse_app_info("<html>").is_err());
    }
}
