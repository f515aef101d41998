//! A real systemd (252) as PID 1 of a new PID + mount + cgroup namespace, for integration tests
//! that drive systemd units over D-Bus on a machine whose own PID 1 is not systemd.
//!
//! Use it from an integration test as `canopsis_upgrade_test_support::sdsandbox`.
//! Needs root; without it [`Sandbox::boot`] panics with "needs root: ...".
//!
//! The filesystem is the host's, so the boot script, before exec'ing systemd:
//! - mounts cgroup2 over /sys/fs/cgroup inside a cgroup namespace rooted at a unique cgroup of
//!   ours, so that two sandboxes never share `init.scope`/`system.slice` (and systemd never
//!   writes into the host's cgroup tree outside that cgroup);
//! - mounts private tmpfs on /run, /tmp, /var/tmp, /var/log/journal and the extra private dirs
//!   (systemd-tmpfiles is masked as well: its `D /tmp` rule would wipe the host's /tmp);
//! - adds the users to private copies of /etc/passwd, group and shadow, bind-mounted over the
//!   originals (never on the host);
//! - masks every unit that touches host or kernel state and boots `sandbox.target` (journald,
//!   dbus), never multi-user.target.
//!
//! Tear-down (Drop) SIGKILLs the namespace's PID 1 (the PID found as unshare's child, never a
//! process found by name): everything inside dies with it. A watchdog process does the same if
//! the test process dies without running Drop (nextest timeout, Ctrl-C).

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long systemd may take to reach `running`.
const BOOT_TIMEOUT: Duration = Duration::from_secs(20);

/// Units that touch host or kernel state (or would wipe host files): masked inside.
const MASK: &[&str] = &[
    "systemd-tmpfiles-setup.service",
    "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-clean.timer",
    "systemd-tmpfiles-clean.service",
    "systemd-sysctl.service",
    "systemd-modules-load.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-random-seed.service",
    "systemd-update-utmp.service",
    "systemd-timesyncd.service",
    "systemd-pstore.service",
    "systemd-firstboot.service",
    "systemd-machine-id-commit.service",
    "systemd-repart.service",
    "systemd-sysusers.service",
    "ldconfig.service",
    "kmod-static-nodes.service",
    "dev-hugepages.mount",
    "dev-mqueue.mount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "systemd-remount-fs.service",
    "systemd-fsck-root.service",
    "e2scrub_reap.service",
    "networking.service",
    "ifupdown-pre.service",
    "systemd-networkd.service",
    "systemd-resolved.service",
    "systemd-hwdb-update.service",
    "systemd-journal-catalog-update.service",
    "systemd-update-done.service",
    "systemd-pcrphase.service",
    "systemd-pcrphase-sysinit.service",
    "systemd-ask-password-console.path",
    "cryptsetup.target",
    "integritysetup.target",
    "veritysetup.target",
    "swap.target",
    "local-fs.target",
    "remote-fs.target",
];

/// Paths that are always private (tmpfs) inside every sandbox, where `write` may put files.
const ALWAYS_PRIVATE: &[&str] = &["/run", "/tmp", "/var/tmp"];

/// What to set up inside the sandbox besides the defaults.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Extra directories that get a private, empty tmpfs inside (e.g. /opt, /usr/local/bin,
    /// /var/lib/canopsis-upgrade, /etc/canopsis-upgrade). A directory missing on the host is
    /// created there (empty) as a mount point.
    pub private_dirs: Vec<PathBuf>,
    /// Users (and same-named groups) added inside only, e.g. "canopsis".
    pub users: Vec<String>,
}

impl SandboxOptions {
    /// Options with the given private dirs and users.
    pub fn new(private_dirs: &[&str], users: &[&str]) -> Self {
        Self {
            private_dirs: private_dirs.iter().map(PathBuf::from).collect(),
            users: users.iter().map(|u| u.to_string()).collect(),
        }
    }
}

/// A user added inside the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// A booted systemd in its own namespaces; killed on drop.
pub struct Sandbox {
    /// Host PID of the namespace's systemd (0 while still unknown during boot).
    pid: u32,
    /// The `unshare` process (our direct child); PID 1 of the namespace is its child.
    unshare: Option<Child>,
    /// Host-side watchdog: kills the sandbox's cgroup when its stdin reaches EOF without a
    /// "stop" line (this process died without running Drop).
    watchdog: Option<Child>,
    watchdog_stdin: Option<ChildStdin>,
    /// The cgroup (v2) the namespace lives in, removed after tear-down.
    cgroup: Option<PathBuf>,
    /// stdout/stderr of unshare, the boot script and systemd (an unlinked temp file).
    log: Option<std::fs::File>,
    users: Vec<SandboxUser>,
    private_dirs: Vec<PathBuf>,
    boot_time: Duration,
}

impl Sandbox {
    /// Boots systemd in new PID + mount + cgroup namespaces and waits until
    /// `systemctl is-system-running` says `running`.
    ///
    /// Panics with "needs root: ..." when not root, and with diagnostics (failed units, journal
    /// and boot log tails) when systemd does not reach `running` within 20 s.
    pub fn boot(options: SandboxOptions) -> Sandbox {
        require_root();
        for tool in ["/usr/bin/systemd", "/usr/bin/dbus-daemon"] {
            assert!(
                Path::new(tool).exists(),
                "sdsandbox needs {tool} (apt-get install systemd dbus)"
            );
        }
        for tool in ["unshare", "nsenter", "setsid", "systemctl", "journalctl"] {
            assert!(
                which(tool).is_some(),
                "sdsandbox needs `{tool}` in PATH (util-linux / systemd)"
            );
        }

        let private_dirs = validate_private_dirs(&options.private_dirs);
        let users = plan_users(&options.users, &private_dirs);
        let script = boot_script(&private_dirs, &users);
        let cgroup = cgroup_path();

        // Armed before the cgroup even exists: kills the whole cgroup, then removes it, if this
        // process dies without running Drop.
        let mut watchdog = spawn_watchdog(&cgroup)
            .unwrap_or_else(|e| panic!("sdsandbox: cannot spawn the watchdog: {e}"));
        let watchdog_stdin = watchdog.stdin.take();
        if let Err(e) = std::fs::create_dir(&cgroup) {
            drop(watchdog_stdin);
            let _ = watchdog.wait();
            panic!("sdsandbox: cannot create cgroup {}: {e}", cgroup.display());
        }

        let started = Instant::now();
        // The log's name is removed at once (nothing left behind if this process is killed);
        // stdout and stderr share one file description (one offset), the reader has its own.
        let named = tempfile::Builder::new()
            .prefix("sdsandbox-log-")
            .tempfile()
            .expect("sdsandbox: cannot create the boot log temp file");
        let out = named.reopen().expect("sdsandbox: reopen log");
        let err = out.try_clone().expect("sdsandbox: clone log");
        let log = named.reopen().expect("sdsandbox: reopen log");
        drop(named);

        // `setsid`: its own session, so that a terminal's Ctrl-C or a test runner killing our
        // process group does not reach it (the watchdog handles that case). The `sh` wrapper
        // moves itself into our fresh cgroup before exec'ing unshare, so the cgroup namespace
        // is rooted there.
        let spawned = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$1/cgroup.procs" || exit 97; shift; exec "$@""#)
            .arg("sdsandbox-wrap")
            .arg(&cgroup)
            .args([
                "unshare",
                "--fork",
                "--kill-child=SIGKILL",
                "--pid",
                "--mount",
                "--cgroup",
                "--mount-proc",
                "--propagation",
                "private",
                "/bin/bash",
                "-c",
                &script,
                "sdsandbox-boot",
            ])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("container", "other")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn();
        let unshare = match spawned {
            Ok(child) => child,
            Err(e) => {
                drop(watchdog_stdin);
                let _ = watchdog.wait();
                panic!("sdsandbox: cannot spawn setsid/unshare: {e}");
            }
        };

        // From here on, a panic drops `sandbox`, which tears everything down.
        let mut sandbox = Sandbox {
            pid: 0,
            unshare: Some(unshare),
            watchdog: Some(watchdog),
            watchdog_stdin,
            cgroup: Some(cgroup),
            log: Some(log),
            users,
            private_dirs,
            boot_time: Duration::ZERO,
        };
        let deadline = started + BOOT_TIMEOUT;

        // PID 1 of the namespace: the (only) child of unshare.
        let unshare_pid = sandbox.unshare.as_ref().map(Child::id).unwrap_or(0);
        loop {
            sandbox.check_unshare_alive("before systemd started");
            if let Some(pid) = children_of(unshare_pid).into_iter().next() {
                sandbox.pid = pid;
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "sdsandbox: unshare (pid {unshare_pid}) forked no child within {BOOT_TIMEOUT:?}\n{}",
                    sandbox.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }

        let mut last = String::new();
        loop {
            sandbox.check_unshare_alive("while systemd was booting");
            if sandbox.is_systemd() {
                let out = sandbox.systemctl(&["is-system-running"]);
                let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
                match state.as_str() {
                    "running" => break,
                    "degraded" | "maintenance" | "stopping" => panic!(
                        "sdsandbox: systemd is {state} (a unit of the sandbox setup failed: mask it?)\n{}",
                        sandbox.diagnostics()
                    ),
                    _ => {}
                }
                last = format!("{state} {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            if Instant::now() > deadline {
                panic!(
                    "sdsandbox: systemd (host pid {}) did not reach `running` within {BOOT_TIMEOUT:?} (last: {last})\n{}",
                    sandbox.pid,
                    sandbox.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        sandbox.boot_time = started.elapsed();
        sandbox
    }

    /// Host PID of the namespace's systemd.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How long `boot` took until `running`.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// The host directory of the sandbox's cgroup (v2); gone after drop.
    pub fn cgroup_dir(&self) -> Option<&Path> {
        self.cgroup.as_deref()
    }

    /// The users added inside, with their ids and homes.
    pub fn users(&self) -> &[SandboxUser] {
        &self.users
    }

    /// The added user `name`; panics when it was not in the options.
    pub fn user(&self, name: &str) -> &SandboxUser {
        self.users
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("sdsandbox: no user {name} was added"))
    }

    /// The sandbox's system bus, reachable from the host: `unix:path=/proc/PID/root/run/dbus/system_bus_socket`.
    pub fn bus_address(&self) -> String {
        format!(
            "unix:path=/proc/{}/root/run/dbus/system_bus_socket",
            self.pid
        )
    }

    /// `/proc/PID/root` + `inside`: the host's view of a path as the sandbox sees it. Beware:
    /// outside the private dirs (and /run, /tmp, /var/tmp) this is the host's own file.
    pub fn host_path(&self, inside: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.pid)).join(inside.trim_start_matches('/'))
    }

    /// Writes `contents` to `inside` (creating parent dirs) with `mode`. Refuses paths outside
    /// the sandbox's private dirs, which would land on the host.
    pub fn write(&self, inside: &str, contents: &str, mode: u32) {
        let path = self.private_host_path(inside);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("sdsandbox: mkdir -p {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("sdsandbox: write {inside}: {e}"));
        set_mode(&path, mode);
    }

    /// Copies a host file to `inside` (creating parent dirs) with `mode`; same restriction as
    /// [`Sandbox::write`].
    pub fn copy_in(&self, host_file: &Path, inside: &str, mode: u32) {
        let path = self.private_host_path(inside);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("sdsandbox: mkdir -p {}: {e}", parent.display()));
        }
        std::fs::copy(host_file, &path)
            .unwrap_or_else(|e| panic!("sdsandbox: copy {} to {inside}: {e}", host_file.display()));
        set_mode(&path, mode);
    }

    /// Changes the owner of `inside` to an added user (and its group).
    pub fn chown(&self, inside: &str, user: &str) {
        let u = self.user(user).clone();
        let path = self.private_host_path(inside);
        std::os::unix::fs::chown(&path, Some(u.uid), Some(u.gid))
            .unwrap_or_else(|e| panic!("sdsandbox: chown {user} {inside}: {e}"));
    }

    /// Runs a command inside (`nsenter -t PID -p -m -- args...`), capturing its output.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("sdsandbox: cannot run nsenter {args:?}: {e}"))
    }

    /// The `Command` that [`Sandbox::exec`] runs, to adjust (env, stdin) or spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        assert!(!args.is_empty(), "sdsandbox: exec needs a command");
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid.to_string())
            .args(["-p", "-m", "--"])
            .args(args)
            .env_remove("DBUS_SYSTEM_BUS_ADDRESS")
            .env("SYSTEMD_PAGER", "")
            .env("SYSTEMD_COLORS", "0")
            .stdin(Stdio::null());
        cmd
    }

    /// `systemctl args...` inside.
    pub fn systemctl(&self, args: &[&str]) -> Output {
        let mut all = vec!["systemctl", "--no-pager"];
        all.extend_from_slice(args);
        self.exec(&all)
    }

    /// Writes /run/systemd/system/`name` (never /etc) and reloads systemd.
    pub fn install_unit(&self, name: &str, text: &str) {
        assert!(
            !name.is_empty() && !name.contains('/') && name.contains('.'),
            "sdsandbox: bad unit name {name:?}"
        );
        self.write(&format!("/run/systemd/system/{name}"), text, 0o644);
        self.daemon_reload();
    }

    /// `systemctl daemon-reload`, asserting success.
    pub fn daemon_reload(&self) {
        let out = self.systemctl(&["daemon-reload"]);
        assert!(
            out.status.success(),
            "sdsandbox: daemon-reload failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `systemctl show -p property --value unit`, trimmed.
    pub fn show(&self, unit: &str, property: &str) -> String {
        let out = self.systemctl(&["show", "-p", property, "--value", unit]);
        assert!(
            out.status.success(),
            "sdsandbox: systemctl show -p {property} {unit} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// `journalctl -u unit --no-pager -o cat` inside (after asking journald to flush).
    pub fn journal(&self, unit: &str) -> String {
        let _ = self.exec(&["journalctl", "--sync"]);
        let out = self.exec(&["journalctl", "-u", unit, "--no-pager", "-o", "cat"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Failed units, journal tail and boot log: for panic messages.
    pub fn diagnostics(&self) -> String {
        let mut text = String::new();
        if self.pid != 0 && self.is_systemd() {
            let failed = self.systemctl(&["--failed", "--no-legend", "--plain"]);
            text.push_str("--- systemctl --failed:\n");
            text.push_str(&String::from_utf8_lossy(&failed.stdout));
            text.push_str(&String::from_utf8_lossy(&failed.stderr));
            let jobs = self.systemctl(&["list-jobs", "--no-legend"]);
            text.push_str("--- systemctl list-jobs:\n");
            text.push_str(&String::from_utf8_lossy(&jobs.stdout));
            let journal = self.exec(&["journalctl", "-b", "--no-pager", "-n", "40"]);
            text.push_str("--- journal tail:\n");
            text.push_str(&String::from_utf8_lossy(&journal.stdout));
            text.push_str(&String::from_utf8_lossy(&journal.stderr));
        }
        text.push_str(&self.log_tail());
        text
    }

    fn log_tail(&self) -> String {
        let Some(mut log) = self.log.as_ref() else {
            return String::new();
        };
        let mut text = String::new();
        if log.seek(SeekFrom::Start(0)).is_ok() {
            let _ = log.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- boot log (unshare/bash/systemd output):\n{tail}\n")
    }

    /// True once PID 1 of the namespace has exec'd systemd.
    fn is_systemd(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .map(|c| c.trim() == "systemd")
            .unwrap_or(false)
    }

    fn check_unshare_alive(&mut self, when: &str) {
        let status = match self.unshare.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => status,
            _ => return,
        };
        panic!(
            "sdsandbox: unshare exited {when} ({status}; 97 = could not join the cgroup)\n{}",
            self.log_tail()
        );
    }

    fn private_host_path(&self, inside: &str) -> PathBuf {
        let path = Path::new(inside);
        assert!(
            path.is_absolute() && !path.components().any(|c| c == Component::ParentDir),
            "sdsandbox: {inside:?} must be an absolute path without .."
        );
        let private = ALWAYS_PRIVATE
            .iter()
            .map(Path::new)
            .chain(self.private_dirs.iter().map(PathBuf::as_path))
            .any(|dir| path.starts_with(dir) && path != dir);
        assert!(
            private,
            "sdsandbox: refusing to write {inside}: not under a private dir of the sandbox \
             ({ALWAYS_PRIVATE:?} or {:?}), it would land on the host",
            self.private_dirs
        );
        self.host_path(inside)
    }

    fn teardown(&mut self) {
        // PID 1 first; the watchdog stays armed until the cgroup is gone: if this process dies
        // at any point of the tear-down, the watchdog finishes it.
        if let Some(mut unshare) = self.unshare.take() {
            let alive = matches!(unshare.try_wait(), Ok(None));
            if alive {
                // Only the PID we found as unshare's child, and only while it still is (no
                // reuse: unshare has not reaped it).
                let mut killed = false;
                if self.pid != 0 && parent_of(self.pid) == Some(unshare.id()) {
                    killed = Command::new("kill")
                        .args(["-KILL", &self.pid.to_string()])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .map(|s| s.success())
                        .unwrap_or(false);
                }
                if !killed {
                    // unshare runs with --kill-child=SIGKILL: its death kills PID 1.
                    let _ = unshare.kill();
                }
                if !wait_timeout(&mut unshare, Duration::from_secs(5)) {
                    let _ = unshare.kill();
                    let _ = unshare.wait();
                }
            } else {
                let _ = unshare.wait();
            }
        }
        // unshare reaped PID 1; wait for the PID to vanish all the same.
        if self.pid != 0 {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if let Some(cgroup) = self.cgroup.take() {
            remove_cgroup(&cgroup, Duration::from_secs(3));
        }
        // Only now the watchdog stands down (had this process died earlier, it would have
        // finished the job).
        if let Some(mut stdin) = self.watchdog_stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            if !wait_timeout(&mut watchdog, Duration::from_secs(2)) {
                let _ = watchdog.kill();
                let _ = watchdog.wait();
            }
        }
        self.log.take();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.teardown();
    }
}

// ---------------------------------------------------------------------------------------------

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse::<u32>().ok());
    if euid != Some(0) {
        panic!(
            "needs root: the systemd sandbox (unshare/nsenter of PID, mount and cgroup namespaces) \
             runs only as root; this test runs with euid {}. Run the tests as root (tests/run.sh).",
            euid.map(|u| u.to_string()).unwrap_or_else(|| "unknown".into())
        );
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

fn validate_private_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let text = dir.to_string_lossy();
        assert!(
            dir.is_absolute()
                && dir != Path::new("/")
                && !dir.components().any(|c| c == Component::ParentDir)
                && !text.contains(['\'', '\n', '\0']),
            "sdsandbox: bad private dir {text:?} (absolute, not /, no .., no quotes)"
        );
        for forbidden in [
            "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib",
        ] {
            assert!(
                dir != Path::new(forbidden),
                "sdsandbox: {forbidden} cannot be private (systemd needs it); pick a subdirectory"
            );
        }
        let clean: PathBuf = dir.components().collect();
        if !out.contains(&clean) {
            out.push(clean);
        }
    }
    // Parents before children, or a parent's tmpfs would hide the child's.
    out.sort_by_key(|d| d.components().count());
    out
}

fn ids_in(file: &str, field: usize) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').nth(field)?.parse().ok())
        .collect()
}

fn plan_users(names: &[String], private_dirs: &[PathBuf]) -> Vec<SandboxUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let mut used: Vec<u32> = ids_in("/etc/passwd", 2);
    used.extend(ids_in("/etc/passwd", 3));
    used.extend(ids_in("/etc/group", 2));
    let under_private = |p: &str| private_dirs.iter().any(|d| Path::new(p).starts_with(d));

    let mut users: Vec<SandboxUser> = Vec::new();
    let mut next = 990u32;
    for name in names {
        let valid = !name.is_empty()
            && name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        assert!(valid, "sdsandbox: bad user name {name:?}");
        assert!(
            !users.iter().any(|u| &u.name == name),
            "sdsandbox: user {name} given twice"
        );
        let exists = |text: &str| text.lines().any(|l| l.split(':').next() == Some(name));
        assert!(
            !exists(&passwd) && !exists(&group),
            "sdsandbox: user or group {name} already exists on the host (it must only exist inside)"
        );
        while used.contains(&next) {
            next += 1;
        }
        let id = next;
        used.push(id);
        // Homes are created only inside a private dir, never on the host.
        let home = [format!("/opt/{name}"), format!("/var/lib/{name}")]
            .into_iter()
            .find(|h| under_private(h))
            .unwrap_or_else(|| format!("/run/sdsandbox/home/{name}"));
        users.push(SandboxUser {
            name: name.clone(),
            uid: id,
            gid: id,
            home,
        });
    }
    users
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn boot_script(private_dirs: &[PathBuf], users: &[SandboxUser]) -> String {
    let mut s = String::from("set -eu\n");
    // Our own cgroup tree (the cgroup namespace's root), in unified mode, hiding the host's.
    s.push_str("mount -t cgroup2 cgroup2 /sys/fs/cgroup\n");
    s.push_str("mount -t tmpfs -o mode=0755 tmpfs /run\n");
    s.push_str("mount -t tmpfs -o mode=1777 tmpfs /tmp\n");
    s.push_str("mount -t tmpfs -o mode=1777 tmpfs /var/tmp\n");
    s.push_str(
        "if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi\n",
    );
    for dir in private_dirs {
        let d = quote(&dir.to_string_lossy());
        s.push_str(&format!(
            "mkdir -p {d}\nmount -t tmpfs -o mode=0755 tmpfs {d}\n"
        ));
    }
    s.push_str("mkdir -p /run/sdsandbox\n");
    s.push_str("for f in passwd group shadow; do cp -p /etc/$f /run/sdsandbox/$f; done\n");
    for u in users {
        let passwd = format!(
            "{}:x:{}:{}:{}:{}:/bin/bash",
            u.name, u.uid, u.gid, u.name, u.home
        );
        let group = format!("{}:x:{}:", u.name, u.gid);
        let shadow = format!("{}:!:19000:0:99999:7:::", u.name);
        s.push_str(&format!(
            "printf '%s\\n' {} >>/run/sdsandbox/passwd\nprintf '%s\\n' {} >>/run/sdsandbox/group\nprintf '%s\\n' {} >>/run/sdsandbox/shadow\n",
            quote(&passwd),
            quote(&group),
            quote(&shadow)
        ));
        let home = quote(&u.home);
        s.push_str(&format!(
            "mkdir -p {home}\nchown {}:{} {home}\nchmod 0755 {home}\n",
            u.uid, u.gid
        ));
    }
    s.push_str("for f in passwd group shadow; do mount --bind /run/sdsandbox/$f /etc/$f; done\n");
    s.push_str("mkdir -p /run/systemd/system\n");
    s.push_str(&format!(
        "for u in {}; do ln -sf /dev/null /run/systemd/system/$u; done\n",
        MASK.join(" ")
    ));
    s.push_str(
        "printf '[Unit]\\nDescription=sdsandbox\\nWants=dbus.socket dbus.service systemd-journald.service\\n' >/run/systemd/system/sandbox.target\n",
    );
    s.push_str("export container=other\n");
    s.push_str("exec /usr/bin/systemd --system --unit=sandbox.target\n");
    s
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique name for a fresh child of our own cgroup (v2), for the namespace to live in.
fn cgroup_path() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // Fields: id parent maj:min root mountpoint options... - fstype source superoptions
    let mount = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = left.split_whitespace().collect();
        Some((fields.get(3)?.to_string(), fields.get(4)?.to_string()))
    });
    let Some((root, mountpoint)) = mount else {
        panic!("sdsandbox: no cgroup2 hierarchy is mounted on this machine (/proc/self/mountinfo)");
    };
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        .unwrap_or_else(|| "/".into());
    let relative = if root != "/" && own.starts_with(&root) {
        own[root.len()..].to_string()
    } else {
        own
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "sdsandbox-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    PathBuf::from(mountpoint)
        .join(relative.trim_start_matches('/'))
        .join(name)
}

/// A host-side process, in its own session, that reads one line from its stdin: "stop" makes
/// it exit; EOF (the test process died without running Drop: nextest timeout, Ctrl-C) makes
/// it SIGKILL every process of the sandbox's cgroup (`cgroup.kill`), then remove the cgroup.
fn spawn_watchdog(cgroup: &Path) -> std::io::Result<Child> {
    Command::new("setsid")
        .args([
            "bash",
            "-c",
            r#"read -r line; [ -n "$line" ] && exit 0
if [ -e "$1/cgroup.kill" ]; then
  echo 1 > "$1/cgroup.kill"
else
  for f in $(find "$1" -name cgroup.procs); do
    for p in $(cat "$f"); do kill -KILL "$p"; done
  done
fi
for i in $(seq 40); do
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
  [ -d "$1" ] || exit 0
  sleep 0.25
done"#,
            "sdsandbox-watchdog",
        ])
        .arg(cgroup)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Removes a cgroup tree bottom-up, retrying while its last processes are being reaped.
fn remove_cgroup(dir: &Path, patience: Duration) {
    fn subdirs_depth_first(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    subdirs_depth_first(&entry.path(), out);
                }
            }
        }
        out.push(dir.to_path_buf());
    }
    let deadline = Instant::now() + patience;
    loop {
        let mut dirs = Vec::new();
        subdirs_depth_first(dir, &mut dirs);
        for d in &dirs {
            let _ = std::fs::remove_dir(d);
        }
        if !dir.exists() {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("sdsandbox: could not remove cgroup {}", dir.display());
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The parent PID of `pid`, from /proc/PID/stat.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// PIDs whose parent is `parent` (/proc/PID/task/*/children is not always available).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(parent))
        .collect()
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() > deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("sdsandbox: chmod {mode:o} {}: {e}", path.display()));
}
