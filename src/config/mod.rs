//! Configuration, parsed in stages: files (`files`) -> fragments -> merged input (`input`) ->
//! validated [`Settings`]. Everything has a default that fits a standard Community package
//! install, so no file at all is a valid configuration.

mod files;
mod input;
mod sections;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::install::{Edition, InstallMethod};
use crate::procedure::sandbox::{SandboxRules, COMMAND_RUNNERS};
use crate::procedure::Limits;
use crate::version::Version;

pub use files::Source;
pub use input::{Located, Origin};
pub use sections::{
    ApiSettings, BroadcastSettings, CredentialSource, MaintenanceSettings, RabbitmqSettings,
};

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value, or the syntax, at a known place.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A file that cannot be read.
    #[error("{file}: {reason}")]
    Read { file: String, reason: String },
    /// Settings that contradict each other.
    #[error("{0}")]
    Inconsistent(String),
}

/// Where the installed version is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectSource {
    /// `rpm -q canopsis` / `canopsis-pro`.
    Rpm,
    /// /opt/canopsis/VERSION.txt.
    VersionFile,
    /// The API's app-info.
    Api,
}

/// Where the nightly mode looks for newer releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NightlySource {
    /// `dnf`/`yum list` of the canopsis repositories.
    Repository,
    /// The release catalog (bundled index plus site indexes).
    Catalog,
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The edition.
    pub edition: Edition,
    /// The install method.
    pub install: InstallMethod,
    /// The Compose project directory (compose installs only).
    pub compose_dir: Option<PathBuf>,
    /// go-engines-vars.conf.
    pub engine_env_file: PathBuf,
    /// The Canopsis API's base URL.
    pub api_url: String,
    /// Where to look for the installed version, in order.
    pub detect_sources: Vec<DetectSource>,
    /// The version file of 4.x installs.
    pub version_file: PathBuf,
    /// How long one detection may take.
    pub detect_timeout: Duration,
    /// Site indexes adding releases to the catalog.
    pub index_files: Vec<PathBuf>,
    /// Directories of release scripts that replace or add to the bundled ones.
    pub release_dirs: Vec<PathBuf>,
    /// Directories of add-on scripts.
    pub addon_dirs: Vec<PathBuf>,
    /// File roots of the sandbox (the Compose directory is added to them).
    pub file_roots: Vec<PathBuf>,
    /// Unit patterns of the sandbox.
    pub unit_patterns: Vec<glob::Pattern>,
    /// Programs the scripts may run.
    pub allowed_commands: Vec<String>,
    /// Script limits.
    pub limits: Limits,
    /// Default timeout of one command.
    pub command_timeout: Duration,
    /// Releases whose manual steps the admin has done.
    pub acknowledged: Vec<Version>,
    /// Where the journal and the backups live.
    pub state_dir: PathBuf,
    /// The lock that keeps runs apart.
    pub lock_file: PathBuf,
    /// Put the files edited in a run back when a step fails.
    pub restore_on_failure: bool,
    /// The units `restart_canopsis()` acts on (patterns, as systemctl takes them).
    pub canopsis_units: Vec<String>,
    /// How long one systemd job may take.
    pub job_timeout: Duration,
    /// How long restarted units must stay up to count as running.
    pub settle: Duration,
    /// Where unit drop-ins are written.
    pub dropin_dir: PathBuf,
    /// Enable/disable unit files in /run instead of /etc.
    pub runtime_unit_files: bool,
    /// The nightly mode's version policy.
    pub nightly_policy: Option<crate::policy::Policy>,
    /// Where the nightly mode looks for releases.
    pub nightly_source: NightlySource,
    /// The maintenance windows (none: any time).
    pub window: crate::window::Schedule,
    /// The Canopsis API.
    pub api: ApiSettings,
    /// User announcements.
    pub broadcast: BroadcastSettings,
    /// Canopsis's maintenance mode.
    pub maintenance: MaintenanceSettings,
    /// The broker and the drain watch.
    pub rabbitmq: RabbitmqSettings,
    /// The files this configuration was read from.
    pub files: Vec<String>,
}

/// The programs of a Canopsis install and its databases.
pub const DEFAULT_COMMANDS: &[&str] = &[
    "yum",
    "dnf",
    "rpm",
    "canopsinit",
    "canoctl",
    "/opt/canopsis/bin/canopsis-reconfigure",
    "/opt/canopsis/bin/init",
    "/opt/canopsis/bin/migrate-metrics",
    "/opt/canopsis/bin/migrate-instruction-metrics",
    "psql",
    "redis-cli",
    "mongo",
    "mongosh",
    "docker",
    "docker-compose",
];

impl Settings {
    /// The sandbox rules of these settings.
    pub fn policy(&self) -> SandboxRules {
        SandboxRules::new(
            &self.file_roots,
            self.unit_patterns.clone(),
            self.allowed_commands.clone(),
        )
    }

    /// Parses and validates config texts, in merge order.
    pub fn from_sources(sources: &[Source]) -> Result<Self, ConfigError> {
        let mut merged = input::Merged::default();
        for source in sources {
            let fragment = input::parse(&source.file, &source.text)?;
            merged.apply(&source.file, &source.text, fragment);
        }
        let mut settings = validate(merged)?;
        settings.files = sources.iter().map(|s| s.file.clone()).collect();
        Ok(settings)
    }

    /// Loads the layered configuration below `root` (`/` on a real machine).
    pub fn load_layered(root: &Path) -> Result<Self, ConfigError> {
        Self::from_sources(&files::layered(root)?)
    }

    /// Loads one explicit file.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_sources(&files::explicit(path)?)
    }

    /// The texts of the site indexes.
    pub fn read_indexes(&self) -> Result<Vec<Source>, ConfigError> {
        self.index_files
            .iter()
            .map(|p| files::read_index(p))
            .collect()
    }
}

fn validate(mut m: input::Merged) -> Result<Settings, ConfigError> {
    let window = sections::window(&m)?;
    let api = sections::api(&mut m)?;
    let broadcast = sections::broadcast(&mut m)?;
    let maintenance = sections::maintenance(&mut m)?;
    let rabbitmq = sections::rabbitmq(&mut m)?;
    let install = m.install.method.map(|l| l.value).unwrap_or_default();
    let compose_dir = match (install, m.install.compose_dir) {
        (InstallMethod::Compose, None) => {
            return Err(ConfigError::Inconsistent(
                "install.compose_dir is required when install.method = \"compose\"".into(),
            ))
        }
        (_, Some(dir)) => Some(absolute(dir)?),
        (_, None) => None,
    };
    let api_url = match m.install.api_url {
        Some(url) => {
            let parsed = reqwest::Url::parse(&url.value)
                .map_err(|e| url.origin.error(format!("install.api_url: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(url
                    .origin
                    .error("install.api_url must be an http:// or https:// URL"));
            }
            url.value.trim_end_matches('/').to_owned()
        }
        None => "http://localhost:8082".into(),
    };
    let detect_sources = match m.detect.sources {
        Some(l) => {
            let mut sources = Vec::new();
            for name in &l.value {
                sources.push(match name.as_str() {
                    "rpm" => DetectSource::Rpm,
                    "version-file" => DetectSource::VersionFile,
                    "api" => DetectSource::Api,
                    other => {
                        return Err(l.origin.error(format!(
                            "detect.sources: unknown source {other:?} (rpm, version-file, api)"
                        )))
                    }
                });
            }
            if sources.is_empty() {
                return Err(l
                    .origin
                    .error("detect.sources must name at least one source"));
            }
            sources
        }
        None => vec![
            DetectSource::Rpm,
            DetectSource::VersionFile,
            DetectSource::Api,
        ],
    };
    let mut file_roots = match m.sandbox.file_roots {
        Some(l) => all_absolute("sandbox.file_roots", l)?,
        None => vec![PathBuf::from("/opt/canopsis")],
    };
    if let Some(dir) = &compose_dir {
        file_roots.push(dir.clone());
    }
    let unit_patterns = match m.sandbox.unit_patterns {
        Some(l) => l
            .value
            .iter()
            .map(|p| {
                glob::Pattern::new(p)
                    .map_err(|e| l.origin.error(format!("sandbox.unit_patterns: {p:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![glob::Pattern::new("canopsis*").expect("a valid pattern")],
    };
    let allowed_commands = match m.sandbox.allowed_commands {
        Some(l) => {
            for program in &l.value {
                let base = program.rsplit('/').next().unwrap_or(program);
                if COMMAND_RUNNERS.contains(&base) {
                    return Err(l.origin.error(format!(
                        "sandbox.allowed_commands: {program} runs other programs and can never be allowed"
                    )));
                }
                if program.is_empty() || (program.contains('/') && !program.starts_with('/')) {
                    return Err(l.origin.error(format!(
                        "sandbox.allowed_commands: {program:?} must be a program name or an absolute path"
                    )));
                }
            }
            l.value
        }
        None => DEFAULT_COMMANDS.iter().map(|s| s.to_string()).collect(),
    };
    let defaults = Limits::default();
    let limits = Limits {
        max_operations: positive(
            "sandbox.max_operations",
            m.sandbox.max_operations,
            defaults.max_operations,
        )?,
        max_call_levels: positive(
            "sandbox.max_call_levels",
            m.sandbox.max_call_levels,
            defaults.max_call_levels,
        )?,
        max_expr_depth: positive(
            "sandbox.max_expr_depth",
            m.sandbox.max_expr_depth,
            defaults.max_expr_depth,
        )?,
        max_string_size: positive(
            "sandbox.max_string_size",
            m.sandbox.max_string_size,
            defaults.max_string_size,
        )?,
        max_array_size: positive(
            "sandbox.max_array_size",
            m.sandbox.max_array_size,
            defaults.max_array_size,
        )?,
        max_map_size: positive(
            "sandbox.max_map_size",
            m.sandbox.max_map_size,
            defaults.max_map_size,
        )?,
        max_actions: positive(
            "sandbox.max_actions",
            m.sandbox.max_actions,
            defaults.max_actions,
        )?,
        timeout: duration(
            "sandbox.script_timeout",
            m.sandbox.script_timeout,
            defaults.timeout,
        )?,
    };
    let acknowledged = match m.manual.acknowledged {
        Some(l) => l
            .value
            .iter()
            .map(|v| {
                Version::parse(v).map_err(|e| l.origin.error(format!("manual.acknowledged: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let engine_env_file = match (m.install.engine_env_file, &compose_dir) {
        (Some(l), _) => absolute(l)?,
        // The containers' environment file of the reference compose files.
        (None, Some(dir)) => dir.join("compose.env"),
        (None, None) => "/opt/canopsis/etc/go-engines-vars.conf".into(),
    };
    Ok(Settings {
        edition: m.install.edition.map(|l| l.value).unwrap_or_default(),
        install,
        compose_dir,
        engine_env_file,
        api_url,
        detect_sources,
        version_file: match m.detect.version_file {
            Some(l) => absolute(l)?,
            None => "/opt/canopsis/VERSION.txt".into(),
        },
        detect_timeout: duration("detect.timeout", m.detect.timeout, Duration::from_secs(10))?,
        index_files: match m.catalog.index_files {
            Some(l) => all_absolute("catalog.index_files", l)?,
            None => Vec::new(),
        },
        release_dirs: match m.scripts.release_dirs {
            Some(l) => all_absolute("scripts.release_dirs", l)?,
            None => vec!["/etc/canopsis-upgrade/releases.d".into()],
        },
        addon_dirs: match m.scripts.addon_dirs {
            Some(l) => all_absolute("scripts.addon_dirs", l)?,
            None => vec!["/etc/canopsis-upgrade/addons.d".into()],
        },
        file_roots,
        unit_patterns,
        allowed_commands,
        limits,
        command_timeout: duration(
            "sandbox.command_timeout",
            m.sandbox.command_timeout,
            Duration::from_secs(1800),
        )?,
        acknowledged,
        state_dir: match m.run.state_dir {
            Some(l) => absolute(l)?,
            None => "/var/lib/canopsis-upgrade".into(),
        },
        lock_file: match m.run.lock_file {
            Some(l) => absolute(l)?,
            None => "/run/canopsis-upgrade.lock".into(),
        },
        restore_on_failure: match m.run.on_failure {
            None => true,
            Some(l) => match l.value.as_str() {
                "restore" => true,
                "keep" => false,
                other => {
                    return Err(l.origin.error(format!(
                        "run.on_failure: {other:?} is not \"restore\" or \"keep\""
                    )))
                }
            },
        },
        canopsis_units: match m.systemd.canopsis_units {
            Some(l) if l.value.is_empty() => {
                return Err(l
                    .origin
                    .error("systemd.canopsis_units must name at least one pattern"))
            }
            Some(l) => l.value,
            None => vec!["canopsis*".into()],
        },
        job_timeout: duration(
            "systemd.job_timeout",
            m.systemd.job_timeout,
            Duration::from_secs(600),
        )?,
        settle: duration("systemd.settle", m.systemd.settle, Duration::from_secs(3))?,
        dropin_dir: match m.systemd.dropin_dir {
            Some(l) => absolute(l)?,
            None => "/etc/systemd/system".into(),
        },
        runtime_unit_files: m.systemd.runtime_unit_files.is_some_and(|l| l.value),
        nightly_policy: match m.nightly.policy {
            Some(l) => Some(
                crate::policy::Policy::parse(&l.value)
                    .map_err(|e| l.origin.error(format!("nightly.policy: {e}")))?,
            ),
            None => None,
        },
        nightly_source: match m.nightly.source {
            None => NightlySource::Repository,
            Some(l) => match l.value.as_str() {
                "repository" => NightlySource::Repository,
                "catalog" => NightlySource::Catalog,
                other => {
                    return Err(l.origin.error(format!(
                        "nightly.source: {other:?} is not \"repository\" or \"catalog\""
                    )))
                }
            },
        },
        window,
        api,
        broadcast,
        maintenance,
        rabbitmq,
        files: Vec::new(),
    })
}

fn absolute(l: Located<PathBuf>) -> Result<PathBuf, ConfigError> {
    if l.value.is_absolute() {
        Ok(l.value)
    } else {
        Err(l
            .origin
            .error(format!("{} is not an absolute path", l.value.display())))
    }
}

fn all_absolute(key: &str, l: Located<Vec<PathBuf>>) -> Result<Vec<PathBuf>, ConfigError> {
    if let Some(bad) = l.value.iter().find(|p| !p.is_absolute()) {
        return Err(l
            .origin
            .error(format!("{key}: {} is not an absolute path", bad.display())));
    }
    Ok(l.value)
}

fn positive<T: Copy + PartialOrd + Default + std::fmt::Display>(
    key: &str,
    l: Option<Located<T>>,
    default: T,
) -> Result<T, ConfigError> {
    match l {
        Some(l) if l.value <= T::default() => {
            Err(l.origin.error(format!("{key} must be greater than 0")))
        }
        Some(l) => Ok(l.value),
        None => Ok(default),
    }
}

/// Parses "10s", "2h", "1h 30m" (jiff's friendly format) or ISO 8601 ("PT10S").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is not a duration like \"30s\" or \"2h\": {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text:?} must not be negative"))
}

fn duration(
    key: &str,
    l: Option<Located<String>>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match l {
        Some(l) => {
            let d = parse_duration(&l.value).map_err(|e| l.origin.error(format!("{key}: {e}")))?;
            if d.is_zero() {
                return Err(l.origin.error(format!("{key} must be longer than zero")));
            }
            Ok(d)
        }
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_sources(&[Source {
            file: "/etc/canopsis-upgrade/config.toml".into(),
            text: text.into(),
        }])
    }

    #[test]
    fn no_file_gives_a_standard_community_package_install() {
        let s = Settings::from_sources(&[]).unwrap();
        assert_eq!(s.edition, Edition::Community);
        assert_eq!(s.install, InstallMethod::Packages);
        assert_eq!(s.file_roots, [PathBuf::from("/opt/canopsis")]);
        assert_eq!(s.api_url, "http://localhost:8082");
        assert_eq!(s.detect_sources.len(), 3);
        assert!(s.allowed_commands.iter().any(|c| c == "canoctl"));
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let err = from("[install]\nedition = \"pro\"\nmehtod = \"packages\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/canopsis-upgrade/config.toml:3:1: unknown field `mehtod`"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_name_where_they_were_written() {
        let cases = [
            (
                "[install]\nedition = \"enterprise\"\n",
                2,
                "unknown variant",
            ),
            (
                "[sandbox]\nallowed_commands = [\"yum\", \"bash\"]\n",
                2,
                "can never be allowed",
            ),
            (
                "[sandbox]\nscript_timeout = \"soon\"\n",
                2,
                "not a duration",
            ),
            (
                "[sandbox]\nfile_roots = [\"opt/canopsis\"]\n",
                2,
                "not an absolute path",
            ),
            ("[sandbox]\nmax_operations = 0\n", 2, "greater than 0"),
            (
                "\n[manual]\nacknowledged = [\"24.4\"]\n",
                3,
                "malformed version",
            ),
            (
                "[detect]\nsources = [\"rpm\", \"guess\"]\n",
                2,
                "unknown source",
            ),
            ("[install]\napi_url = \"localhost:8082\"\n", 2, "http"),
            ("[install]\nedition = \"pro\"\n[install]\n", 3, "duplicate"),
        ];
        for (text, line, needle) in cases {
            let err = from(text).unwrap_err();
            match &err {
                ConfigError::At {
                    line: l, message, ..
                } => {
                    assert_eq!(*l, line, "{text}: {err}");
                    assert!(message.contains(needle), "{text}: {err}");
                }
                other => panic!("{text}: {other}"),
            }
        }
    }

    #[test]
    fn api_credentials_come_from_a_file_or_a_systemd_credential_never_the_config() {
        let err = from("[api]\nauth = \"basic\"\n").unwrap_err();
        assert!(
            err.to_string().contains("secrets never go in the config"),
            "{err}"
        );
        let s = from("[api]\nauth = \"login\"\ncredential = \"canopsis-api\"\n").unwrap();
        assert_eq!(
            s.api.credentials,
            CredentialSource::Systemd("canopsis-api".into())
        );
        let err = from("[api]\ncredential = \"x\"\ncredentials_file = \"/etc/x\"\n").unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn compose_needs_its_directory_which_becomes_a_root() {
        let err = from("[install]\nmethod = \"compose\"\n").unwrap_err();
        assert!(err.to_string().contains("compose_dir is required"), "{err}");
        let s = from("[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n").unwrap();
        assert!(s.file_roots.contains(&PathBuf::from("/srv/canopsis")));
    }

    #[test]
    fn later_fragments_win_field_by_field() {
        let s = Settings::from_sources(&[
            Source {
                file: "a".into(),
                text: "[install]\nedition = \"pro\"\n[sandbox]\nscript_timeout = \"30s\"\n".into(),
            },
            Source {
                file: "b".into(),
                text: "[sandbox]\nscript_timeout = \"1m\"\n".into(),
            },
        ])
        .unwrap();
        assert_eq!(s.edition, Edition::Pro);
        assert_eq!(s.limits.timeout, Duration::from_secs(60));
    }
}
