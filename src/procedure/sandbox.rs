//! What a script may touch: files below the configured roots (after resolving symlinks), units
//! matching the configured patterns, and allow-listed programs. Pure checks, apart from the
//! symlink resolution that needs the filesystem.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Programs that run other programs: never allowed, whatever the configuration says.
pub const COMMAND_RUNNERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "env",
    "sudo",
    "su",
    "runuser",
    "xargs",
    "nohup",
    "timeout",
    "nice",
    "ionice",
    "setsid",
    "stdbuf",
    "chroot",
    "nsenter",
    "unshare",
    "systemd-run",
    "systemctl",
    "python",
    "python3",
    "perl",
];

/// The variables besides `CPS_*` that a script may set for a command and that pass from the
/// engines' file: none of them makes a program load code or configuration from elsewhere.
pub const DOCUMENTED_ENV: &[&str] = &["TZ", "LANG", "LC_ALL", "GOMAXPROCS", "GOMEMLIMIT", "GOGC"];

/// Whether a name is upper case, digits and `_`, as Canopsis's variables are.
fn is_upper_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether a variable of the engines' environment file passes to commands: `CPS_*` and the
/// documented ones; never PATH, HOME, LD_*...
pub fn is_engine_env(name: &str) -> bool {
    is_upper_name(name) && (name.starts_with("CPS_") || DOCUMENTED_ENV.contains(&name))
}

/// Whether a script may set `name` for a command (allow-list): the engines' variables, and
/// names starting with `_` (a script's own, which no program reads).
pub fn is_allowed_script_env(name: &str) -> bool {
    is_engine_env(name) || (is_upper_name(name) && name.starts_with('_') && name.len() > 1)
}

/// A refused operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A file outside every root.
    #[error("sandbox: {path} is outside the allowed file roots ({roots})")]
    PathOutsideRoots {
        /// The path, as given (and what it resolves to).
        path: String,
        /// The allowed roots.
        roots: String,
    },
    /// A relative path.
    #[error("sandbox: {0} is not an absolute path")]
    RelativePath(String),
    /// A path that cannot be resolved.
    #[error("sandbox: cannot resolve {path}: {reason}")]
    Unresolvable {
        /// The path, as given (and what it resolves to).
        path: String,
        /// Why.
        reason: String,
    },
    /// A unit outside the patterns.
    #[error("sandbox: unit {unit} does not match the allowed unit patterns ({patterns})")]
    UnitNotAllowed {
        /// The unit.
        unit: String,
        /// The allowed patterns.
        patterns: String,
    },
    /// A malformed unit name.
    #[error("sandbox: {0:?} is not a unit name")]
    BadUnitName(String),
    /// A write, copy or link onto a program.
    #[error("sandbox: {path} {reason}: a script cannot replace a program")]
    ProgramReplaced {
        /// The path.
        path: String,
        /// What makes it a program.
        reason: String,
    },
    /// A program not on the allow list.
    #[error("sandbox: program {program} is not allowed (allowed: {allowed})")]
    CommandNotAllowed {
        /// The program.
        program: String,
        /// The allow list.
        allowed: String,
    },
}

/// The sandbox's rules.
#[derive(Debug, Clone)]
pub struct SandboxRules {
    file_roots: Vec<PathBuf>,
    unit_patterns: Vec<glob::Pattern>,
    allowed_commands: Vec<String>,
}

impl SandboxRules {
    /// Builds the rules; roots are resolved now, so a symlinked root still works.
    pub fn new(
        file_roots: &[PathBuf],
        unit_patterns: Vec<glob::Pattern>,
        allowed_commands: Vec<String>,
    ) -> Self {
        let file_roots = file_roots
            .iter()
            .map(|root| resolve(root).unwrap_or_else(|_| root.clone()))
            .collect();
        Self {
            file_roots,
            unit_patterns,
            allowed_commands,
        }
    }

    /// The real path of `path` when it is below a root.
    pub fn check_path(&self, path: &str) -> Result<PathBuf, Violation> {
        let given = Path::new(path);
        if !given.is_absolute() {
            return Err(Violation::RelativePath(path.to_owned()));
        }
        let real = resolve(given).map_err(|e| Violation::Unresolvable {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if self.file_roots.iter().any(|root| real.starts_with(root)) {
            Ok(real)
        } else {
            let shown = if real == given {
                path.to_owned()
            } else {
                format!("{path} (really {})", real.display())
            };
            Err(Violation::PathOutsideRoots {
                path: shown,
                roots: join(self.file_roots.iter().map(|r| r.display().to_string())),
            })
        }
    }

    /// The full unit name (`.service` added when no type is given) when it matches a pattern;
    /// our own units never do.
    pub fn check_unit(&self, unit: &str) -> Result<String, Violation> {
        let name = normalize_unit(unit)?;
        if !is_own_unit(&name) && self.unit_patterns.iter().any(|p| p.matches(&name)) {
            Ok(name)
        } else {
            Err(Violation::UnitNotAllowed {
                unit: name,
                patterns: join(self.unit_patterns.iter().map(|p| p.as_str().to_owned())),
            })
        }
    }

    /// Accepts a program only when it is on the allow list, exactly as written there.
    pub fn check_command(&self, program: &str) -> Result<(), Violation> {
        let base = program.rsplit('/').next().unwrap_or(program);
        if !COMMAND_RUNNERS.contains(&base) && self.allowed_commands.iter().any(|a| a == program) {
            Ok(())
        } else {
            Err(Violation::CommandNotAllowed {
                program: program.to_owned(),
                allowed: join(self.allowed_commands.iter().cloned()),
            })
        }
    }

    /// Refuses writing (or copying over) `real` when it is an executable file or a program of
    /// the allow-list: `run()` would then run what the script wrote, as root.
    pub fn check_writable(&self, real: &Path) -> Result<(), Violation> {
        let refuse = |reason: &str| {
            Err(Violation::ProgramReplaced {
                path: real.display().to_string(),
                reason: reason.to_owned(),
            })
        };
        if self.is_allowed_program(real) {
            return refuse("is an allowed program");
        }
        if is_executable(real) {
            return refuse("is executable");
        }
        Ok(())
    }

    /// Refuses a link at `link` (its directory resolved) over a program, unless it points at
    /// another program the package installed in the same directory (4.5.0: engine-axe ->
    /// engine-axe-community): root's, executable, writable by nobody else, or not there yet.
    pub fn check_link(&self, link: &Path, target: &Path) -> Result<(), Violation> {
        let over_program = self.is_allowed_program(link) || is_executable(link);
        if !over_program && !is_executable(target) {
            return Ok(());
        }
        // A target still missing (the package brings it later) cannot run anything a script
        // made: a script cannot make a file executable.
        let package_made = is_package_program(target) || std::fs::symlink_metadata(target).is_err();
        if target.parent() == link.parent() && package_made && !self.is_allowed_program(link) {
            return Ok(());
        }
        Err(Violation::ProgramReplaced {
            path: link.display().to_string(),
            reason: format!(
                "would become a link to {} ({}), not a program installed beside it by the package",
                target.display(),
                describe(target)
            ),
        })
    }

    /// Whether `real` is a program of the allow-list (absolute entries as written, bare names
    /// in the fixed PATH).
    fn is_allowed_program(&self, real: &Path) -> bool {
        self.allowed_commands.iter().any(|program| {
            if program.starts_with('/') {
                Path::new(program) == real
            } else {
                real.file_name().is_some_and(|n| n == program.as_str())
                    && real
                        .parent()
                        .is_some_and(|d| PROGRAM_DIRS.iter().any(|p| Path::new(p) == d))
            }
        })
    }

    /// Whether a path (already resolved) lies below a root that exists on this machine.
    pub fn root_exists_for(&self, real: &Path) -> bool {
        self.file_roots
            .iter()
            .any(|root| real.starts_with(root) && root.exists())
    }
}

/// Where bare program names are found (the fixed PATH of commands).
pub const PROGRAM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Whether `path` (or what it links to) is a file with an execute bit.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A program as a package installs it: a regular file (not a link), executable, root's,
/// writable by root alone.
fn is_package_program(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        m.file_type().is_file() && m.mode() & 0o111 != 0 && m.uid() == 0 && m.mode() & 0o022 == 0
    })
}

/// Kind, mode and owner of a path, for messages.
fn describe(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => "a symlink".into(),
        Ok(m) => format!("mode {:o}, owner uid {}", m.mode() & 0o7777, m.uid()),
        Err(e) => e.to_string(),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Whether a unit is one of canopsis-upgrade's own (which `canopsis*` also matches).
pub fn is_own_unit(name: &str) -> bool {
    unescape_unit(name).starts_with("canopsis-upgrade")
}

/// A unit name with systemd's `\xHH` escapes decoded (`canopsis\x2dupgrade` is
/// `canopsis-upgrade`).
fn unescape_unit(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "timer",
    "path",
    "mount",
    "automount",
    "swap",
    "slice",
    "scope",
    "device",
];

/// `canopsis-engine-go@engine-fifo` -> `canopsis-engine-go@engine-fifo.service`.
pub fn normalize_unit(unit: &str) -> Result<String, Violation> {
    let valid = !unit.is_empty()
        && unit.len() <= 255
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b));
    if !valid {
        return Err(Violation::BadUnitName(unit.to_owned()));
    }
    let has_type = unit
        .rsplit_once('.')
        .is_some_and(|(_, t)| UNIT_TYPES.contains(&t));
    Ok(if has_type {
        unit.to_owned()
    } else {
        format!("{unit}.service")
    })
}

/// Resolves every symlink of an absolute path, like realpath(3), but also for paths whose last
/// components do not exist yet (a file a step is about to create).
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    resolve_depth(path, 0)
}

fn resolve_depth(path: &Path, depth: usize) -> io::Result<PathBuf> {
    const MAX_LINKS: usize = 40;
    if depth > MAX_LINKS {
        return Err(io::Error::other("too many levels of symbolic links"));
    }
    let mut real = PathBuf::from("/");
    let mut missing = false;
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Prefix(_) => return Err(io::Error::other("unsupported path prefix")),
            // `real` never holds a symlink, so going up is lexical from here on.
            Component::ParentDir => {
                real.pop();
            }
            Component::Normal(name) => {
                let next = real.join(name);
                if missing {
                    real = next;
                    continue;
                }
                match std::fs::symlink_metadata(&next) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        let target = std::fs::read_link(&next)?;
                        real = resolve_depth(&real.join(target), depth + 1)?;
                    }
                    Ok(_) => real = next,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        missing = true;
                        real = next;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(root: &Path) -> SandboxRules {
        SandboxRules::new(
            &[root.to_path_buf()],
            vec![glob::Pattern::new("canopsis*").unwrap()],
            vec![
                "yum".into(),
                "/opt/canopsis/bin/canopsis-reconfigure".into(),
                "bash".into(),
            ],
        )
    }

    #[test]
    fn paths_below_a_root_pass_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("opt");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        let p = rules(&root);
        let inside = format!("{}/etc/canopsis.toml", root.display());
        assert!(p.check_path(&inside).is_ok());
        let new_file = format!("{}/etc/new/sub/file", root.display());
        assert!(p.check_path(&new_file).is_ok());
        assert!(matches!(
            p.check_path("/etc/shadow"),
            Err(Violation::PathOutsideRoots { .. })
        ));
        assert!(matches!(
            p.check_path("etc/x"),
            Err(Violation::RelativePath(_))
        ));
    }

    #[test]
    fn dot_dot_cannot_climb_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("opt");
        std::fs::create_dir_all(&root).unwrap();
        let p = rules(&root);
        let sneaky = format!("{}/../../../etc/passwd", root.display());
        assert!(matches!(
            p.check_path(&sneaky),
            Err(Violation::PathOutsideRoots { .. })
        ));
        let through_missing = format!("{}/nope/../../outside", root.display());
        assert!(p.check_path(&through_missing).is_err());
        let harmless = format!("{}/etc/../VERSION.txt", root.display());
        assert!(p.check_path(&harmless).is_ok());
    }

    #[test]
    fn symlinks_are_followed_before_checking() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("opt");
        let outside = dir.path().join("secret");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        std::os::unix::fs::symlink("../secret/file", root.join("rel-link")).unwrap();
        let p = rules(&root);
        for path in [
            root.join("link/file"),
            root.join("rel-link"),
            root.join("link/../opt/x"),
        ] {
            let err = p.check_path(path.to_str().unwrap());
            if path.ends_with("opt/x") {
                // link/.. is the parent of the link's target (the temp dir), then opt/x: inside.
                assert!(err.is_ok(), "{path:?}");
            } else {
                let err = err.unwrap_err();
                assert!(err.to_string().contains("really"), "{err}");
            }
        }
    }

    #[test]
    fn symlink_loops_are_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path().join("b"), dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("b")).unwrap();
        let p = rules(dir.path());
        let err = p
            .check_path(dir.path().join("a/x").to_str().unwrap())
            .unwrap_err();
        assert!(matches!(err, Violation::Unresolvable { .. }), "{err}");
    }

    #[test]
    fn units_match_patterns_after_normalizing() {
        let p = rules(Path::new("/opt/canopsis"));
        assert_eq!(
            p.check_unit("canopsis-engine-go@engine-fifo").unwrap(),
            "canopsis-engine-go@engine-fifo.service"
        );
        assert_eq!(
            p.check_unit("canopsis.service").unwrap(),
            "canopsis.service"
        );
        assert!(matches!(
            p.check_unit("sshd"),
            Err(Violation::UnitNotAllowed { .. })
        ));
        assert!(matches!(
            p.check_unit("../canopsis"),
            Err(Violation::BadUnitName(_))
        ));
        assert!(matches!(
            p.check_unit("canopsis x"),
            Err(Violation::BadUnitName(_))
        ));
    }

    #[test]
    fn commands_only_from_the_allow_list_and_never_a_shell() {
        let p = rules(Path::new("/opt/canopsis"));
        assert!(p.check_command("yum").is_ok());
        assert!(p
            .check_command("/opt/canopsis/bin/canopsis-reconfigure")
            .is_ok());
        assert!(p.check_command("canopsis-reconfigure").is_err());
        assert!(p.check_command("/usr/bin/yum").is_err());
        assert!(p.check_command("rm").is_err());
        // Even when a careless config lists it.
        assert!(p.check_command("bash").is_err());
    }

    #[test]
    fn environment_by_allow_list() {
        for name in ["CPS_MONGO_URL", "TZ", "GOMAXPROCS"] {
            assert!(is_engine_env(name) && is_allowed_script_env(name), "{name}");
        }
        assert!(is_allowed_script_env("_B2") && !is_engine_env("_B2"));
        for name in [
            "PATH",
            "HOME",
            "LD_PRELOAD",
            "ld_preload",
            "PSQLRC",
            "OPENSSL_CONF",
            "PAGER",
            "GLIBC_TUNABLES",
            "DOCKER_HOST",
            "cps_x",
            "_",
            "BASH_ENV",
            "RPM_CONFIGDIR",
        ] {
            assert!(
                !is_engine_env(name) && !is_allowed_script_env(name),
                "{name}"
            );
        }
    }
}
