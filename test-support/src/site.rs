//! A site as the CLI tests see it: a private config directory, and the built binary run with it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The daemon's binary that cargo built for this test run: beside the test binary's directory
/// (`target/<profile>/deps/<test>` -> `target/<profile>/canopsis-upgrade`), as cargo lays it out.
pub fn binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir.join("canopsis-upgrade");
    assert!(
        binary.is_file(),
        "{} is missing: build it (cargo builds it for the integration tests)",
        binary.display()
    );
    binary
}

/// A private config directory holding `config.toml` with the given text; site script
/// directories point inside it so the machine's /etc never leaks in.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// A site with `extra` appended to a config that isolates script directories.
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("releases.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("addons.d")).unwrap();
        let site = Self { dir };
        let config = format!(
            "[scripts]\nrelease_dirs = [\"{}\"]\naddon_dirs = [\"{}\"]\n{extra}",
            site.path("releases.d").display(),
            site.path("addons.d").display()
        );
        std::fs::write(site.config(), config).unwrap();
        site
    }

    /// Appends TOML to the config.
    pub fn append_config(&self, extra: &str) {
        let config = std::fs::read_to_string(self.config()).unwrap();
        std::fs::write(self.config(), format!("{config}\n{extra}")).unwrap();
    }

    /// A path inside the site directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.path("config.toml")
    }

    /// Writes a file inside the site directory.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs the binary with `--config` of this site.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The command, to add environment before running.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command.arg("--config").arg(self.config()).args(args);
        command
    }
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `plan --format json` and parses it, panicking with stderr when there is no plan (a plan
/// the scripts refuse is printed too, with exit status 4).
pub fn plan_json(site: &Site, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["plan", "--format", "json"];
    all.extend_from_slice(args);
    let output = site.run(&all);
    assert!(
        output.status.success() || output.status.code() == Some(4),
        "plan {args:?} failed: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Whether a path exists, for "nothing touched" checks.
pub fn exists(path: &Path) -> bool {
    path.exists()
}
