//! The systemd sandbox harness itself: it boots, stays private, runs notify units, exposes its
//! bus to the host, and leaves nothing behind. Needs root (fails with "needs root" otherwise).

use canopsis_upgrade_test_support::sdsandbox;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sdsandbox::{Sandbox, SandboxOptions};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn boot(private_dirs: &[&str], users: &[&str]) -> Sandbox {
    let sandbox = Sandbox::boot(SandboxOptions::new(private_dirs, users));
    eprintln!(
        "sdsandbox: systemd host pid {} running after {:?}",
        sandbox.pid(),
        sandbox.boot_time()
    );
    sandbox
}

/// Waits until `cond` holds, or panics with `what`.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Host PIDs of every process in a cgroup tree.
fn pids_in(cgroup: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    if let Ok(text) = std::fs::read_to_string(cgroup.join("cgroup.procs")) {
        pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(cgroup) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                pids.extend(pids_in(&entry.path()));
            }
        }
    }
    pids
}

const NOTIFY_UNIT: &str = "[Unit]
Description=sdsandbox smoke notify unit

[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'echo smoke-started; systemd-notify --ready --status=\"hello\"; sleep 60'
";

#[test]
fn boots_running_with_private_dirs_users_and_the_host_tmp_untouched() {
    // A marker in the host's real /tmp: systemd-tmpfiles would wipe it if it ran.
    let marker = tempfile::Builder::new()
        .prefix("sdsandbox-marker-")
        .tempfile_in("/tmp")
        .unwrap();
    let sandbox = boot(
        &[
            "/opt",
            "/usr/local/bin",
            "/var/lib/canopsis-upgrade",
            "/etc/canopsis-upgrade",
        ],
        &["canopsis"],
    );

    let state = sandbox.systemctl(&["is-system-running"]);
    assert_eq!(stdout(&state).trim(), "running");
    assert!(marker.path().exists(), "the host's /tmp was touched");
    let inside = sandbox.exec(&["test", "-e", &marker.path().to_string_lossy()]);
    assert!(!inside.status.success(), "/tmp inside is not private");
    assert!(Path::new("/tmp")
        .join(marker.path().file_name().unwrap())
        .exists());

    // Private dirs: written inside (through /proc/PID/root), invisible on the host.
    let name = unique("sdsandbox-smoke");
    let file = format!("/opt/{name}/file.txt");
    sandbox.write(&file, "inside only\n", 0o640);
    assert!(
        !Path::new(&format!("/opt/{name}")).exists(),
        "/opt is not private"
    );
    assert_eq!(stdout(&sandbox.exec(&["cat", &file])), "inside only\n");
    let mode = stdout(&sandbox.exec(&["stat", "-c", "%a", &file]));
    assert_eq!(mode.trim(), "640");
    let etc = format!("/etc/canopsis-upgrade/{name}.toml");
    sandbox.write(&etc, "x = 1\n", 0o644);
    assert!(
        !Path::new(&etc).exists(),
        "/etc/canopsis-upgrade is not private"
    );
    let bin = format!("/usr/local/bin/{name}");
    sandbox.copy_in(Path::new("/bin/true"), &bin, 0o755);
    assert!(!Path::new(&bin).exists(), "/usr/local/bin is not private");
    assert!(sandbox.exec(&[&bin]).status.success());

    // The user exists inside only, with its home in the private /opt.
    let user = sandbox.user("canopsis").clone();
    assert!(user.uid >= 990 && user.home == "/opt/canopsis", "{user:?}");
    let id = sandbox.exec(&["id", "-u", "canopsis"]);
    assert!(id.status.success(), "id canopsis failed inside");
    assert_eq!(stdout(&id).trim(), user.uid.to_string());
    let home = sandbox.exec(&["stat", "-c", "%U %G", "/opt/canopsis"]);
    assert_eq!(stdout(&home).trim(), "canopsis canopsis");
    let outside = Command::new("id").arg("canopsis").output().unwrap();
    assert!(!outside.status.success(), "canopsis exists on the host");
    assert!(!std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("canopsis:")));

    drop(sandbox);
    assert!(marker.path().exists(), "the host's /tmp was touched");
}

#[test]
fn runs_notify_units_with_status_text_and_journal() {
    let sandbox = boot(&["/opt"], &["canopsis"]);
    sandbox.install_unit("smoke-notify.service", NOTIFY_UNIT);
    let start = sandbox.systemctl(&["start", "smoke-notify.service"]);
    assert!(
        start.status.success(),
        "start failed: {}\n{}",
        String::from_utf8_lossy(&start.stderr),
        sandbox.journal("smoke-notify.service")
    );
    assert_eq!(
        sandbox.show("smoke-notify.service", "ActiveState"),
        "active"
    );
    assert_eq!(sandbox.show("smoke-notify.service", "StatusText"), "hello");
    assert!(Path::new(&sandbox.host_path("/run/systemd/system/smoke-notify.service")).exists());
    eventually("the unit's output in the journal", || {
        sandbox
            .journal("smoke-notify.service")
            .contains("smoke-started")
    });

    // A program copied into the private /opt, run as the added user.
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        script.path(),
        "#!/bin/sh\nsystemd-notify --ready --status=\"as $(id -un)\"\nexec sleep 60\n",
    )
    .unwrap();
    sandbox.copy_in(script.path(), "/opt/smoke/bin/as-user.sh", 0o755);
    sandbox.install_unit(
        "smoke-user.service",
        "[Service]\nType=notify\nNotifyAccess=all\nUser=canopsis\nExecStart=/opt/smoke/bin/as-user.sh\n",
    );
    let start = sandbox.systemctl(&["start", "smoke-user.service"]);
    assert!(
        start.status.success(),
        "{}",
        sandbox.journal("smoke-user.service")
    );
    assert_eq!(
        sandbox.show("smoke-user.service", "StatusText"),
        "as canopsis"
    );

    let stop = sandbox.systemctl(&["stop", "smoke-notify.service"]);
    assert!(stop.status.success());
    assert_eq!(
        sandbox.show("smoke-notify.service", "ActiveState"),
        "inactive"
    );
}

#[test]
fn the_system_bus_is_reachable_from_the_host() {
    let sandbox = boot(&[], &[]);
    let address = sandbox.bus_address();
    assert_eq!(
        address,
        format!(
            "unix:path=/proc/{}/root/run/dbus/system_bus_socket",
            sandbox.pid()
        )
    );
    let busctl = |args: &[&str]| {
        let out = Command::new("busctl")
            .arg(format!("--address={address}"))
            .args([
                "call",
                "org.freedesktop.systemd1",
                "/org/freedesktop/systemd1",
            ])
            .args(["org.freedesktop.systemd1.Manager"])
            .args(args)
            .output()
            .expect("busctl");
        assert!(
            out.status.success(),
            "busctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    let units = busctl(&["ListUnits"]);
    assert!(units.contains("dbus.service"), "{units}");
    assert!(units.contains("sandbox.target"), "{units}");
    let path = busctl(&["GetUnit", "s", "dbus.service"]);
    assert_eq!(
        path.trim(),
        "o \"/org/freedesktop/systemd1/unit/dbus_2eservice\""
    );

    // A unit started over the bus from the host runs inside.
    sandbox.install_unit("smoke-bus.service", NOTIFY_UNIT);
    busctl(&["StartUnit", "ss", "smoke-bus.service", "replace"]);
    eventually("smoke-bus.service active", || {
        sandbox.show("smoke-bus.service", "ActiveState") == "active"
    });
}

#[test]
fn drop_kills_the_namespace_and_leaves_nothing() {
    let sandbox = boot(&["/opt"], &[]);
    sandbox.install_unit("smoke-notify.service", NOTIFY_UNIT);
    assert!(sandbox
        .systemctl(&["start", "smoke-notify.service"])
        .status
        .success());
    let pid = sandbox.pid();
    let cgroup: PathBuf = sandbox.cgroup_dir().expect("cgroup").to_path_buf();
    let pids = pids_in(&cgroup);
    assert!(
        pids.len() >= 4,
        "systemd, journald, dbus and the unit should be in {}: {pids:?}",
        cgroup.display()
    );
    assert!(pids.contains(&pid));

    let started = Instant::now();
    drop(sandbox);
    eprintln!("sdsandbox: teardown took {:?}", started.elapsed());
    for p in &pids {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists(),
            "process {p} of the sandbox survived its drop"
        );
    }
    assert!(!cgroup.exists(), "cgroup {} left behind", cgroup.display());
}

#[test]
fn sandboxes_run_side_by_side_independently() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| boot(&["/opt"], &["canopsis"]));
        let b = s.spawn(|| boot(&["/opt"], &["canopsis"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.pid(), b.pid());
    assert_ne!(a.cgroup_dir(), b.cgroup_dir());
    for sandbox in [&a, &b] {
        sandbox.install_unit("smoke-notify.service", NOTIFY_UNIT);
        assert!(sandbox
            .systemctl(&["start", "smoke-notify.service"])
            .status
            .success());
    }
    a.write("/opt/which", "a", 0o644);
    b.write("/opt/which", "b", 0o644);
    assert_eq!(stdout(&a.exec(&["cat", "/opt/which"])), "a");
    assert_eq!(stdout(&b.exec(&["cat", "/opt/which"])), "b");

    assert!(a
        .systemctl(&["stop", "smoke-notify.service"])
        .status
        .success());
    assert_eq!(a.show("smoke-notify.service", "ActiveState"), "inactive");
    assert_eq!(b.show("smoke-notify.service", "ActiveState"), "active");
    assert_eq!(b.show("smoke-notify.service", "StatusText"), "hello");
    let b_pid = b.pid();
    drop(a);
    assert!(Path::new(&format!("/proc/{b_pid}")).exists());
    assert_eq!(
        stdout(&b.systemctl(&["is-system-running"])).trim(),
        "running"
    );
}
