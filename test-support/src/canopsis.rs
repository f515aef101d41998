//! A simulated Canopsis 4.4.0 package install inside a sandbox systemd: /opt/canopsis with its
//! files, canopsis.service and engine units shaped like the real ones, and stand-ins for yum,
//! canopsinit, canopsis-reconfigure, canoctl and mongo that record their calls and move the
//! installed version. The daemon and its unit are copied in, configured for the sandbox.

use std::time::{Duration, Instant};

use crate::fake_canopsis::{FakeCanopsis, Options};
use crate::sdsandbox::{Sandbox, SandboxOptions};

/// A simulated install: the sandbox, and the fake Canopsis API beside it (in this process,
/// reached over the shared network namespace), whose app-info reports the installed version.
pub struct Installed {
    /// The sandbox systemd with the install.
    pub sandbox: Sandbox,
    /// The fake API.
    pub api: FakeCanopsis,
    /// Runs the fake API.
    pub runtime: tokio::runtime::Runtime,
}

impl std::ops::Deref for Installed {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

/// The community engines of a 4.x package install, and the API.
pub const UNITS: [&str; 6] = [
    "canopsis-engine-go@engine-action.service",
    "canopsis-engine-go@engine-axe.service",
    "canopsis-engine-go@engine-che.service",
    "canopsis-engine-go@engine-fifo.service",
    "canopsis-engine-go@engine-pbehavior.service",
    "canopsis-service@canopsis-api.service",
];

/// Every command the stand-ins ran, one per line: `program args... [as user]`.
pub const CALLS: &str = "/opt/canopsis/var/log/calls.log";
/// The same calls with the Unix time (seconds.nanoseconds) each began: `TIME program args...`.
pub const CALLS_TIMED: &str = "/opt/canopsis/var/log/calls-timed.log";
/// Every engine start: `engine-name pid`.
pub const STARTS: &str = "/opt/canopsis/var/log/engine-starts.log";
/// The daemon inside the sandbox.
pub const DAEMON: &str = "/opt/canopsis-upgrade/canopsis-upgrade";
/// Its config.
pub const CONFIG: &str = "/opt/canopsis-upgrade/config.toml";

const ENGINE_VARS: &str = "\
CPS_MONGO_URL=\"mongodb://cpsmongo:canopsis@localhost:27017/canopsis\"
CPS_AMQP_URL=\"amqp://cpsrabbit:canopsis@localhost:5672/canopsis\"
CPS_REDIS_URL=\"redis://localhost:6379/0\"
CPS_INFLUX_URL=\"http://localhost:8086\"
CPS_API_URL=\"http://localhost:8082\"
";

/// Records a call of `$0` with its arguments, and as whom (and, in the timed log, when).
const RECORD: &str = r#"echo "$(basename "$0") $* [as $(id -un)]" >> /opt/canopsis/var/log/calls.log
echo "$(date +%s.%N) $(basename "$0") $* [as $(id -un)]" >> /opt/canopsis/var/log/calls-timed.log"#;

fn engine_program() -> String {
    // A stand-in engine: logs its start, fails when told to, else runs until stopped.
    r#"#!/bin/sh
echo "$1 $$" >> /opt/canopsis/var/log/engine-starts.log
if grep -qx "$1" /opt/canopsis/var/broken-engines 2>/dev/null; then
    echo "$1: cannot start (broken for the test)" >&2
    exit 1
fi
exec sleep infinity
"#
    .to_owned()
}

fn yum() -> String {
    // `yum update` installs what the repository offers: the version in repo-version, with the
    // files its packages bring.
    format!(
        r#"#!/bin/sh
{RECORD}
[ -f /opt/canopsis/var/slow-yum ] && sleep "$(cat /opt/canopsis/var/slow-yum)"
case " $* " in
  *" list "*)
    echo "Available Packages"
    echo "canopsis.x86_64    $(cat /opt/canopsis/var/repo-version)-1.el7    canopsis" ;;
  *" update "*)
    # installs-version: what the packages really install, when a test makes them lie.
    target=$(cat /opt/canopsis/var/installs-version 2>/dev/null || cat /opt/canopsis/var/repo-version)
    mkdir -p /opt/canopsis/share/migrations/mongodb/release4.5
    printf '// 001_remove_stats\n' > /opt/canopsis/share/migrations/mongodb/release4.5/001_remove_stats.js
    printf '// 002_add_metrics\n' > /opt/canopsis/share/migrations/mongodb/release4.5/002_add_metrics.js
    for e in axe che; do for ed in community pro; do
      cp /opt/canopsis/bin/engine /opt/canopsis/bin/engine-$e-$ed
    done; done
    echo "$target" > /opt/canopsis/VERSION.txt ;;
esac
"#
    )
}

fn recorder(extra: &str) -> String {
    format!("#!/bin/sh\n{RECORD}\n{extra}\n")
}

/// Options of a sandbox that can hold the simulated install.
pub fn sandbox_options() -> SandboxOptions {
    SandboxOptions::new(
        &["/opt", "/usr/local/bin", "/var/lib/canopsis-upgrade"],
        &["canopsis"],
    )
}

/// What to install.
#[derive(Debug, Clone)]
pub struct InstallSpec {
    /// The installed version.
    pub installed: &'static str,
    /// The version the package repository offers.
    pub offered: &'static str,
    /// app-info's live healthcheck (None: the route does not exist, before 23.10).
    pub healthcheck: Option<bool>,
    /// The engines' ExecStart (`%i` is the engine name); default: the shell stand-in.
    pub engine_exec: Option<String>,
    /// Config sections replacing the fixture's same-named ones (see `config`).
    pub extra_config: String,
    /// More files (path inside, text, mode), written before the units start.
    pub files: Vec<(String, String, u32)>,
}

impl Default for InstallSpec {
    fn default() -> Self {
        Self {
            installed: "4.4.0",
            offered: "4.5.0",
            healthcheck: None,
            engine_exec: None,
            extra_config: String::new(),
            files: Vec::new(),
        }
    }
}

/// Boots a sandbox and installs Canopsis 4.4.0 in it, every unit running.
pub fn install_4_4_0() -> Installed {
    install(InstallSpec::default())
}

/// Boots a sandbox and installs Canopsis as `spec` says, every unit running.
pub fn install(spec: InstallSpec) -> Installed {
    let sandbox = Sandbox::boot(sandbox_options());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let options = Options {
        version_file: Some(sandbox.host_path("/opt/canopsis/VERSION.txt")),
        edition: "community".into(),
        healthcheck: spec.healthcheck,
        ..Options::default()
    };
    let api = runtime.block_on(FakeCanopsis::start_with(options));
    populate(&sandbox, &spec, &api.url());
    Installed {
        sandbox,
        api,
        runtime,
    }
}

/// Writes the install, a repository, the daemon and its unit.
fn populate(s: &Sandbox, spec: &InstallSpec, api_url: &str) {
    let (installed, offered) = (spec.installed, spec.offered);
    s.write(
        "/opt/canopsis/VERSION.txt",
        &format!("{installed}\n"),
        0o644,
    );
    s.write("/opt/canopsis/var/repo-version", offered, 0o644);
    s.write("/opt/canopsis/var/log/calls.log", "", 0o666);
    s.write(CALLS_TIMED, "", 0o666);
    s.write("/opt/canopsis/var/log/engine-starts.log", "", 0o666);
    s.write("/opt/canopsis/etc/go-engines-vars.conf", ENGINE_VARS, 0o640);
    s.write(
        "/opt/canopsis/etc/canopsis.toml",
        "# Canopsis configuration\n[Canopsis.global]\nPrefetchCount = 10000 # per engine\n",
        0o644,
    );
    s.write("/opt/canopsis/etc/webserver.conf", "[webserver]\n", 0o644);
    s.write("/opt/canopsis/bin/engine", &engine_program(), 0o755);
    s.write("/opt/canopsis/bin/engine-axe", &engine_program(), 0o755);
    s.write("/opt/canopsis/bin/engine-che", &engine_program(), 0o755);
    s.write("/opt/canopsis/bin/canopsinit", &recorder(""), 0o755);
    s.write(
        "/opt/canopsis/bin/canopsis-reconfigure",
        &recorder(r#"echo "canopsis-reconfigure sees CPS_MONGO_URL=$CPS_MONGO_URL CPS_POSTGRES_URL=$CPS_POSTGRES_URL" >> /opt/canopsis/var/log/calls.log"#),
        0o755,
    );
    for (path, text, mode) in &spec.files {
        s.write(path, text, *mode);
    }
    s.write("/usr/local/bin/yum", &yum(), 0o755);
    // dnf takes the same commands (22.10 and later).
    s.write("/usr/local/bin/dnf", &yum(), 0o755);
    s.write("/usr/local/bin/canoctl", &recorder(""), 0o755);
    s.write(
        "/usr/local/bin/mongo",
        &recorder(r#"read -r first; echo "mongo runs $first" >> /opt/canopsis/var/log/calls.log"#),
        0o755,
    );
    s.chown("/opt/canopsis", "canopsis");
    s.chown("/opt/canopsis/var/log", "canopsis");

    s.install_unit(
        "canopsis.service",
        "[Unit]\nDescription=Canopsis\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
    );
    for (template, exec) in [
        (
            "canopsis-engine-go@.service",
            spec.engine_exec
                .as_deref()
                .unwrap_or("/opt/canopsis/bin/engine %i"),
        ),
        ("canopsis-service@.service", "/opt/canopsis/bin/engine %i"),
    ] {
        s.install_unit(
            template,
            &format!(
                "[Unit]\nDescription=Canopsis %i\nPartOf=canopsis.service\nAfter=canopsis.service\nReloadPropagatedFrom=canopsis.service\n\
                 [Service]\nUser=canopsis\nGroup=canopsis\nEnvironmentFile=/opt/canopsis/etc/go-engines-vars.conf\nExecStart={exec}\nRestart=always\nRestartSec=1\n\
                 [Install]\nWantedBy=canopsis.service\n"
            ),
        );
    }
    // Enabled as the packages do (WantedBy=canopsis.service), in /run: the sandbox shares /etc.
    for verb in ["enable", "start"] {
        let mut args = vec![verb];
        if verb == "enable" {
            args.push("--runtime");
        }
        args.push("canopsis.service");
        args.extend(UNITS);
        let out = s.systemctl(&args);
        assert!(
            out.status.success(),
            "{verb} the install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    s.copy_in(&crate::site::binary(), DAEMON, 0o755);
    s.write(CONFIG, &config(api_url, &spec.extra_config), 0o644);
    let unit = include_str!("../../units/canopsis-upgrade@.service").replace(
        "ExecStart=/usr/bin/canopsis-upgrade run --to %i",
        &format!("ExecStart={DAEMON} --config {CONFIG} run --to %i"),
    );
    assert!(
        unit.contains(DAEMON),
        "the unit's ExecStart changed: update the fixture"
    );
    s.install_unit("canopsis-upgrade@.service", &unit);
}

/// A file's text inside the sandbox.
pub fn read(s: &Sandbox, inside: &str) -> String {
    std::fs::read_to_string(s.host_path(inside)).unwrap_or_else(|e| panic!("{inside}: {e}"))
}

/// Whether a recorded call only lists the repository (read-only: preflight and the nightly
/// mode ask what the repositories offer).
pub fn is_listing(call: &str) -> bool {
    call.contains(" list --showduplicates ")
}

/// The recorded calls that change something, one per line.
pub fn calls(s: &Sandbox) -> Vec<String> {
    all_calls(s)
        .into_iter()
        .filter(|c| !is_listing(c))
        .collect()
}

/// Every recorded call, repository listings included.
pub fn all_calls(s: &Sandbox) -> Vec<String> {
    read(s, CALLS).lines().map(str::to_owned).collect()
}

/// The recorded calls that change something, with the instant each began, in order.
pub fn timed_calls(s: &Sandbox) -> Vec<(jiff::Timestamp, String)> {
    read(s, CALLS_TIMED)
        .lines()
        .filter(|line| !is_listing(line))
        .map(|line| {
            let (time, call) = line.split_once(' ').unwrap_or((line, ""));
            let (secs, nanos) = time.split_once('.').unwrap_or((time, "0"));
            let at = jiff::Timestamp::new(secs.parse().unwrap(), nanos.parse().unwrap())
                .unwrap_or_else(|e| panic!("{CALLS_TIMED}: bad time in {line:?}: {e}"));
            (at, call.to_owned())
        })
        .collect()
}

/// How many times each unit's engine started.
pub fn starts(s: &Sandbox, engine: &str) -> usize {
    read(s, STARTS)
        .lines()
        .filter(|l| l.split(' ').next() == Some(engine))
        .count()
}

/// Waits until a unit leaves the active/activating/deactivating states; its final ActiveState.
pub fn wait_inactive(s: &Sandbox, unit: &str, timeout: Duration) -> String {
    watch_until_inactive(s, unit, timeout).0
}

/// Like [`wait_inactive`], also collecting every distinct StatusText seen on the way.
pub fn watch_until_inactive(s: &Sandbox, unit: &str, timeout: Duration) -> (String, Vec<String>) {
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let state = s.show(unit, "ActiveState");
        let status = s.show(unit, "StatusText");
        if !status.is_empty() && seen.last() != Some(&status) {
            seen.push(status);
        }
        if state == "inactive" || state == "failed" {
            return (state, seen);
        }
        assert!(
            started.elapsed() < timeout,
            "{unit} still {state} after {timeout:?}; status: {}\njournal:\n{}",
            s.show(unit, "StatusText"),
            s.journal(unit)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the unit's StatusText starts with `prefix` (failing if it ends first); the text.
pub fn wait_status(s: &Sandbox, unit: &str, prefix: &str, timeout: Duration) -> String {
    let started = Instant::now();
    loop {
        let status = s.show(unit, "StatusText");
        if status.starts_with(prefix) {
            return status;
        }
        let state = s.show(unit, "ActiveState");
        assert!(
            state == "active" || state == "activating",
            "{unit} ended ({state}) before STATUS {prefix:?}; last: {status}\n{}",
            s.journal(unit)
        );
        assert!(
            started.elapsed() < timeout,
            "no STATUS {prefix:?} after {timeout:?}; last: {status}\n{}",
            s.journal(unit)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `systemctl stop UNIT`, timed: how long until systemctl returned (it returns when the unit
/// has stopped).
pub fn timed_stop(s: &Sandbox, unit: &str) -> Duration {
    let started = Instant::now();
    let out = s.systemctl(&["stop", unit]);
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "stop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// Runs the daemon inside the sandbox, outside systemd, to the end.
pub fn run_daemon(s: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut all = vec![DAEMON, "--config", CONFIG];
    all.extend_from_slice(args);
    s.exec(&all)
}

/// The daemon's config in the sandbox: the fixture's sections, each replaced by the same-named
/// section of `extra` (a `[[name.x]]` array belongs to section `name`).
fn config(api_url: &str, extra: &str) -> String {
    let mut sections: Vec<(String, String)> = vec![
        ("install".into(), format!("api_url = \"{api_url}\"\n")),
        ("rabbitmq".into(), "enabled = false\n".into()),
        ("detect".into(), "sources = [\"version-file\"]\n".into()),
        ("manual".into(), "acknowledged = [\"4.5.0\"]\n".into()),
        ("scripts".into(), "release_dirs = []\naddon_dirs = []\n".into()),
        (
            "systemd".into(),
            "dropin_dir = \"/run/systemd/system\"\nruntime_unit_files = true\nsettle = \"2s\"\njob_timeout = \"60s\"\n".into(),
        ),
    ];
    let mut current: Option<usize> = None;
    for line in extra.lines() {
        let header = line.trim().trim_start_matches('[').trim_end_matches(']');
        if line.trim_start().starts_with('[') {
            let name = header.split('.').next().unwrap().to_owned();
            let index = match sections.iter().position(|(n, _)| *n == name) {
                // The first header of a section in `extra` replaces the fixture's body.
                Some(i) if current != Some(i) => {
                    sections[i].1.clear();
                    i
                }
                Some(i) => i,
                None => {
                    sections.push((name, String::new()));
                    sections.len() - 1
                }
            };
            current = Some(index);
            if line.trim_start().starts_with("[[") {
                sections[index].1.push_str(line);
                sections[index].1.push('\n');
            }
            continue;
        }
        if let Some(i) = current {
            sections[i].1.push_str(line);
            sections[i].1.push('\n');
        }
    }
    sections
        .iter()
        .map(|(name, body)| format!("[{name}]\n{body}"))
        .collect()
}

/// Where the daemon, held by its crash hook, writes its PID.
const HOLD_MARKER: &str = "/run/hold-marker";

/// Runs `run --to TO` inside, outside systemd, held by the crash hook after the first action of
/// `step` (1-based), then SIGKILLs it there: a crash in the middle of that step. The daemon must
/// be built with the `fault-injection` feature (tests/run.sh builds it so).
pub fn crash_after_first_action(s: &Installed, to: &str, step: usize) {
    let mut held = s
        .command(&[DAEMON, "--config", CONFIG, "run", "--to", to])
        .env("CANOPSIS_UPGRADE_TEST_HOLD_STEP", step.to_string())
        .env("CANOPSIS_UPGRADE_TEST_HOLD_MARKER", HOLD_MARKER)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !s.host_path(HOLD_MARKER).exists() {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "step {step} never held"
        );
        assert!(
            held.try_wait().unwrap().is_none(),
            "the daemon ended before step {step}: was it built with --features fault-injection \
             (tests/run.sh builds it so)?"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = read(s, HOLD_MARKER);
    assert!(s.exec(&["kill", "-KILL", &pid]).status.success());
    held.wait().unwrap();
    std::fs::remove_file(s.host_path(HOLD_MARKER)).unwrap();
}
