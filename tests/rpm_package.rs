//! The RPM, as a packager and an admin on EL8/EL9 would meet it: packaging/build-rpm.sh builds
//! it from the working tree (rpmbuild, offline against vendored crates, a glibc 2.28 baseline
//! through cargo-zigbuild); rpm lists its files and scriptlets; rpmlint finds nothing but the
//! rpmlintrc's justified exceptions; and its payload, installed in the sandbox systemd, upgrades
//! the simulated install through the packaged unit.
//!
//! The build is a release build (minutes): it is made once per test run, shared by the tests of
//! this file through a directory named after the nextest run (each test is a process of its
//! own) and a lock; the build directories are kept between runs (the crates compile once).

use canopsis_upgrade_test_support::canopsis;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use canopsis::{read, wait_inactive, CONFIG, DAEMON};

/// The built package: the binary RPM, the source RPM, and the payload unpacked.
struct Package {
    rpm: PathBuf,
    srpm: PathBuf,
    payload: PathBuf,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The package of this test run, built by the first test that needs it.
fn package() -> &'static Package {
    static PACKAGE: OnceLock<Package> = OnceLock::new();
    PACKAGE.get_or_init(build_once_per_run)
}

fn build_once_per_run() -> Package {
    let root = repo().join("target/rpm-package");
    std::fs::create_dir_all(&root).unwrap();
    // nextest runs each test in a process of its own, all with the same run id.
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| std::process::id().to_string());
    let dir = root.join(format!("run-{run}"));
    let lock = File::create(root.join("lock")).unwrap();
    // SAFETY: flock on a file descriptor we own; released when `lock` is dropped (closed).
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let done = dir.join("rpm-path");
    if !done.exists() {
        remove_other_runs(&root, &dir);
        let rpm = build(&root, &dir);
        unpack(&rpm, &dir.join("payload"));
        std::fs::write(&done, rpm.to_str().unwrap()).unwrap();
    }
    let rpm = PathBuf::from(std::fs::read_to_string(&done).unwrap());
    let srpm = glob::glob(dir.join("topdir/SRPMS/*.src.rpm").to_str().unwrap())
        .unwrap()
        .next()
        .expect("a source RPM")
        .unwrap();
    Package {
        rpm,
        srpm,
        payload: dir.join("payload"),
    }
}

fn remove_other_runs(root: &Path, keep: &Path) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let is_run = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("run-");
        if is_run && path != keep {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
}

/// packaging/build-rpm.sh from the working tree; the binary RPM's path.
fn build(root: &Path, dir: &Path) -> PathBuf {
    let started = std::time::Instant::now();
    let out = Command::new(repo().join("packaging/build-rpm.sh"))
        .args(["--worktree", "--topdir"])
        .arg(dir.join("topdir"))
        .arg("--cache")
        .arg(root.join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "packaging/build-rpm.sh failed:\n{}",
        tail(&stderr, 80)
    );
    eprintln!("the RPM was built in {:?}", started.elapsed());
    let stdout = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(stdout.lines().last().expect("the RPM's path"))
}

fn unpack(rpm: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let script = format!("rpm2cpio '{}' | cpio -idm --quiet", rpm.display());
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(into)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (tests/run.sh installs it)"))
}

fn stdout_of(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_rpm_holds_the_daemon_units_config_docs_and_systemd_scriptlets() {
    let rpm = package().rpm.to_str().unwrap();
    let files = stdout_of("rpm", &["-qlp", rpm]);
    for expected in [
        "/usr/bin/canopsis-upgrade",
        "/usr/lib/systemd/system/canopsis-upgrade@.service",
        "/usr/lib/systemd/system/canopsis-upgrade.service",
        "/usr/lib/systemd/system/canopsis-upgrade.timer",
        "/etc/canopsis-upgrade/config.toml",
        "/etc/canopsis-upgrade/addons.d",
        "/var/lib/canopsis-upgrade",
        "/usr/share/man/man8/canopsis-upgrade.8",
        "/usr/share/man/man8/canopsis-upgrade-run.8",
        "/usr/share/man/man8/canopsis-upgrade-plan.8",
        "/usr/share/bash-completion/completions/canopsis-upgrade",
        "/usr/share/zsh/site-functions/_canopsis-upgrade",
        "/usr/share/fish/vendor_completions.d/canopsis-upgrade.fish",
        "/usr/share/licenses/canopsis-upgrade/LICENSE",
    ] {
        // Man pages may be compressed (.gz on EL).
        assert!(
            files
                .lines()
                .any(|f| f == expected || f.starts_with(&format!("{expected}."))),
            "{expected} is not in the package:\n{files}"
        );
    }
    let config = stdout_of("rpm", &["-qcp", rpm]);
    assert_eq!(config.trim(), "/etc/canopsis-upgrade/config.toml");

    let scripts = stdout_of("rpm", &["-qp", "--scripts", rpm]);
    for expected in [
        "systemctl --no-reload preset canopsis-upgrade.service canopsis-upgrade.timer",
        "systemctl --no-reload disable --now canopsis-upgrade.service canopsis-upgrade.timer",
        "systemctl daemon-reload",
        "systemctl try-restart canopsis-upgrade.timer",
    ] {
        assert!(scripts.contains(expected), "no `{expected}` in:\n{scripts}");
    }
    // An upgrade under way is never restarted by an update of the package.
    let restarts: Vec<&str> = scripts
        .lines()
        .filter(|l| l.contains("try-restart"))
        .collect();
    assert_eq!(restarts.len(), 1, "{scripts}");
    assert!(!restarts[0].contains(".service"), "{scripts}");

    let license = stdout_of("rpm", &["-qp", "--qf", "%{LICENSE}", rpm]);
    assert_eq!(license, "Apache-2.0");
    let text = std::fs::read_to_string(
        package()
            .payload
            .join("usr/share/licenses/canopsis-upgrade/LICENSE"),
    )
    .unwrap();
    assert!(text.contains("Apache License") && text.contains("Version 2.0, January 2004"));
}

/// The highest `GLIBC_x.y` version an ELF file needs (from `readelf --version-info`).
fn highest_glibc(binary: &Path) -> (u32, u32) {
    let info = stdout_of(
        "readelf",
        &["--version-info", "--wide", binary.to_str().unwrap()],
    );
    info.split_whitespace()
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let (major, minor) = v.split_once('.')?;
            Some((major.parse().ok()?, minor.split('.').next()?.parse().ok()?))
        })
        .max()
        .expect("the binary needs glibc")
}

#[test]
fn the_packaged_binary_runs_on_el8_glibc_2_28_and_knows_its_commands() {
    let binary = package().payload.join("usr/bin/canopsis-upgrade");
    let (major, minor) = highest_glibc(&binary);
    eprintln!("highest GLIBC version needed: {major}.{minor}");
    assert!(
        (major, minor) <= (2, 28),
        "needs GLIBC_{major}.{minor}: EL8 has 2.28"
    );
    let help = stdout_of(binary.to_str().unwrap(), &["--help"]);
    // `generate` is for packaging only: hidden.
    let commands: Vec<&str> = help
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.split_whitespace().next())
        .collect();
    assert!(
        commands.contains(&"plan") && !commands.contains(&"generate"),
        "{help}"
    );
    let file = stdout_of("file", &[binary.to_str().unwrap()]);
    assert!(file.contains(", stripped"), "{file}");
}

#[test]
fn rpmlint_finds_nothing_beyond_the_justified_exceptions() {
    let package = package();
    let rc = repo().join("packaging/canopsis-upgrade.rpmlintrc");
    let spec = repo().join("packaging/canopsis-upgrade.spec");
    let out = run(
        "rpmlint",
        &[
            "-r",
            rc.to_str().unwrap(),
            package.rpm.to_str().unwrap(),
            package.srpm.to_str().unwrap(),
            spec.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("rpmlint:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rpmlint failed:\n{text}");
    assert!(text.contains(" 0 errors, 0 warnings"), "{text}");
}

/// `systemd-analyze security` of a unit file: its overall exposure (0 to 10).
fn exposure(unit: &Path) -> f64 {
    let out = run(
        "systemd-analyze",
        &[
            "security",
            "--offline=true",
            "--no-pager",
            unit.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no score in:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let score = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    score.parse().unwrap()
}

#[test]
fn the_packaged_services_are_hardened_to_an_exposure_of_4_or_less() {
    let units = package().payload.join("usr/lib/systemd/system");
    for unit in ["canopsis-upgrade@.service", "canopsis-upgrade.service"] {
        let score = exposure(&units.join(unit));
        eprintln!("{unit}: exposure {score}");
        assert!(score <= 4.0, "{unit}: exposure {score}");
    }
    let timer = std::fs::read_to_string(units.join("canopsis-upgrade.timer")).unwrap();
    assert!(
        timer.contains("Documentation=man:canopsis-upgrade(8)"),
        "{timer}"
    );
}

/// The simulated 4.4.0 install, with the package's binary and unit in place of the fixture's
/// (the unit's ExecStart names where the binary is inside; nothing else of the unit changes),
/// and the fixture's config as the /run layer that the packaged unit reads (no --config).
fn install_packaged() -> canopsis::Installed {
    // The sandbox shares the host's /etc and /usr/lib: their layers must hold no config (an
    // empty /etc/canopsis-upgrade is the mount point of sandboxes that make it private).
    for layer in ["/etc/canopsis-upgrade", "/usr/lib/canopsis-upgrade"] {
        let config = Path::new(layer).join("config.toml");
        let dropins = std::fs::read_dir(Path::new(layer).join("config.d"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(
            !config.exists() && dropins == 0,
            "{layer} holds a config on this machine: the packaged daemon in the sandbox would read it"
        );
    }
    let payload = &package().payload;
    let s = canopsis::install_4_4_0();
    s.copy_in(&payload.join("usr/bin/canopsis-upgrade"), DAEMON, 0o755);
    s.write(
        "/run/canopsis-upgrade/config.toml",
        &read(&s, CONFIG),
        0o644,
    );
    let unit =
        std::fs::read_to_string(payload.join("usr/lib/systemd/system/canopsis-upgrade@.service"))
            .unwrap();
    assert_eq!(
        unit.matches("/usr/bin/canopsis-upgrade").count(),
        1,
        "{unit}"
    );
    s.install_unit(
        "canopsis-upgrade@.service",
        &unit.replace("/usr/bin/canopsis-upgrade", DAEMON),
    );
    // Keeps the finished units loaded, their Result and StatusText readable.
    s.install_unit(
        "observer.target",
        "[Unit]\nAfter=canopsis-upgrade@4.5.0.service canopsis-upgrade@24.10.0-rc1.service\n",
    );
    assert!(s.systemctl(&["start", "observer.target"]).status.success());
    s
}

#[test]
fn the_packaged_unit_upgrades_the_simulated_install_and_takes_release_candidates() {
    let s = install_packaged();

    // %i keeps the "-": the version check itself refuses the release candidate.
    let rc = "canopsis-upgrade@24.10.0-rc1.service";
    let out = s.systemctl(&["start", rc]);
    let journal = s.journal(rc);
    assert!(!out.status.success(), "{journal}");
    assert!(journal.contains("24.10.0-rc1"), "{journal}");
    assert!(!journal.contains("24.10.0/rc1"), "{journal}");
    // The catalog's check of the target (unknown, or newer than every known release), not a
    // parse error.
    assert!(
        journal.contains("24.10.0-rc1 is not a published Canopsis release")
            || journal.contains("24.10.0-rc1 is newer than the newest known release"),
        "not refused by the version check:\n{journal}"
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.4.0");

    let unit = "canopsis-upgrade@4.5.0.service";
    let out = s.systemctl(&["start", unit]);
    assert!(
        out.status.success(),
        "start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.journal(unit)
    );
    let state = wait_inactive(&s, unit, Duration::from_secs(180));
    assert_eq!(state, "inactive", "{}", s.journal(unit));
    assert_eq!(s.show(unit, "Result"), "success");
    assert_eq!(s.show(unit, "StatusText"), "upgraded from 4.4.0 to 4.5.0");
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");
    // The unit ran under its hardening, with the watchdog armed.
    assert_eq!(s.show(unit, "WatchdogUSec"), "2min");
    assert_eq!(s.show(unit, "ProtectProc"), "invisible");
    assert!(s.show(unit, "ExecStart").contains("run --to 4.5.0"));
}
