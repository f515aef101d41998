//! The live upgrade in a real systemd (booted by the tests): a simulated Canopsis 4.4.0 package
//! install upgraded to 4.5.0 through `systemctl start canopsis-upgrade@4.5.0`.

use canopsis_upgrade_test_support::{canopsis, sdsandbox};

use std::time::Duration;

use canopsis::{calls, read, starts, wait_inactive, Installed, UNITS};

const UNIT: &str = "canopsis-upgrade@4.5.0.service";

/// The calls of an upgrade 4.4.0 -> 4.5.0, in order (engines' environment checked too).
const EXPECTED_CALLS: [&str; 6] = [
    "yum --disablerepo=* --enablerepo=canopsis* update -y [as root]",
    "mongo runs // 001_remove_stats",
    "mongo runs // 002_add_metrics",
    "canopsinit --canopsis-edition core [as canopsis]",
    "canopsis-reconfigure -migrate-postgres=true -postgres-migration-mode=up -postgres-migration-directory=/opt/canopsis/share/migrations/postgres [as root]",
    "canopsis-reconfigure sees CPS_MONGO_URL=mongodb://cpsmongo:canopsis@localhost:27017/canopsis CPS_POSTGRES_URL=postgresql://cpspostgres:canopsis@localhost:5432/canopsis",
];

fn recorded_calls(s: &sdsandbox::Sandbox) -> Vec<String> {
    // mongo's own line (with the URL) is the stand-in's record of its arguments; keep the
    // line that says which script it ran.
    calls(s)
        .into_iter()
        .filter(|c| !c.starts_with("mongo --quiet"))
        .collect()
}

#[test]
fn systemctl_start_upgrades_4_4_0_to_4_5_0() {
    let s = canopsis::install_4_4_0();
    let before: Vec<usize> = UNITS.iter().map(|u| starts(&s, engine_name(u))).collect();
    // systemd unloads an inactive unit nothing refers to, and its StatusText with it: a target
    // ordered after it keeps it loaded, as an admin's `systemctl status` right after would see.
    s.install_unit("observer.target", &format!("[Unit]\nAfter={UNIT}\n"));
    assert!(s.systemctl(&["start", "observer.target"]).status.success());

    let out = s.systemctl(&["start", UNIT]);
    assert!(
        out.status.success(),
        "start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.journal(UNIT)
    );
    // Type=notify: start returned once READY=1 was sent, never before.
    let state = s.show(UNIT, "ActiveState");
    assert!(
        state == "active" || state == "inactive",
        "after start: {state}"
    );
    assert!(
        s.journal(UNIT).contains("starting at step 1"),
        "{}",
        s.journal(UNIT)
    );

    let (state, statuses) = canopsis::watch_until_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "inactive", "{}", s.journal(UNIT));
    assert_eq!(s.show(UNIT, "Result"), "success");
    assert_eq!(s.show(UNIT, "StatusText"), "upgraded from 4.4.0 to 4.5.0");
    // STATUS names the step and the action under way (the restart lasts the settle time).
    assert!(
        statuses
            .iter()
            .any(|t| t == "4/5 standard reconfigure: restart canopsis"),
        "{statuses:?}"
    );

    assert_eq!(
        recorded_calls(&s),
        EXPECTED_CALLS,
        "journal:\n{}",
        s.journal(UNIT)
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");
    for (unit, before) in UNITS.iter().zip(before) {
        assert_eq!(s.show(unit, "ActiveState"), "active", "{unit}");
        assert!(
            starts(&s, engine_name(unit)) > before,
            "{unit} was not restarted"
        );
    }
    // The 4.5.0 guide's edits of go-engines-vars.conf and the edition's engine binaries.
    let vars = read(&s, "/opt/canopsis/etc/go-engines-vars.conf");
    assert!(!vars.contains("CPS_INFLUX_URL"), "{vars}");
    assert!(vars.contains(
        "CPS_POSTGRES_URL=\"postgresql://cpspostgres:canopsis@localhost:5432/canopsis\""
    ));
    let link = std::fs::read_link(s.host_path("/opt/canopsis/bin/engine-axe")).unwrap();
    assert_eq!(
        link.to_str().unwrap(),
        "/opt/canopsis/bin/engine-axe-community"
    );
    // canoctl is never used: the engines are restarted over D-Bus.
    assert!(!calls(&s).iter().any(|c| c.starts_with("canoctl")));

    let history = canopsis::run_daemon(&s, &["history", "--format", "json"]);
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history[0]["to"], "4.5.0");
    assert_eq!(history[0]["steps"].as_array().unwrap().len(), 5);
}

fn engine_name(unit: &str) -> &str {
    unit.split('@').nth(1).unwrap().trim_end_matches(".service")
}

#[test]
fn a_bad_target_fails_systemctl_start_with_the_reason() {
    let s = canopsis::install_4_4_0();
    let out = s.systemctl(&["start", "canopsis-upgrade@9.9.9.service"]);
    assert!(!out.status.success(), "start of a bad target succeeded");
    let journal = s.journal("canopsis-upgrade@9.9.9.service");
    assert!(
        journal.contains("9.9.9 is not a published Canopsis release"),
        "{journal}"
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.4.0");
    assert!(
        calls(&s).is_empty(),
        "nothing may run before READY: {:?}",
        calls(&s)
    );
}

#[test]
fn unacknowledged_manual_steps_fail_the_start() {
    let s = canopsis::install_4_4_0();
    let config =
        read(&s, canopsis::CONFIG).replace("acknowledged = [\"4.5.0\"]", "acknowledged = []");
    s.write(canopsis::CONFIG, &config, 0o644);
    let out = s.systemctl(&["start", UNIT]);
    assert!(!out.status.success());
    let journal = s.journal(UNIT);
    assert!(
        journal.contains("manual steps are not acknowledged: 4.5.0 (9 step(s))"),
        "{journal}"
    );
    assert!(calls(&s).is_empty());
}

/// `journalctl -p err -u UNIT -o FORMAT` inside the sandbox.
fn error_journal(s: &Installed, format: &str) -> String {
    let _ = s.exec(&["journalctl", "--sync"]);
    let out = s.exec(&[
        "journalctl",
        "-p",
        "err",
        "-u",
        UNIT,
        "--no-pager",
        "-o",
        format,
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_failing_engine_fails_the_run_by_name_and_edited_files_are_restored() {
    let s = canopsis::install_4_4_0();
    let vars_before = read(&s, "/opt/canopsis/etc/go-engines-vars.conf");
    s.write("/opt/canopsis/var/broken-engines", "engine-che\n", 0o644);
    let out = s.systemctl(&["start", UNIT]);
    assert!(out.status.success(), "{}", s.journal(UNIT));
    assert_eq!(wait_inactive(&s, UNIT, Duration::from_secs(120)), "failed");
    let status = s.show(UNIT, "StatusText");
    assert!(
        status.starts_with("failed at 4/5 standard reconfigure"),
        "{status}"
    );
    assert!(
        status.contains("canopsis-engine-go@engine-che.service"),
        "{status}"
    );
    assert!(status.contains("file(s) restored"), "{status}");
    // journald: the failure at PRIORITY err, once, with the run's fields.
    let errors = error_journal(&s, "cat");
    let failure: Vec<&str> = errors
        .lines()
        .filter(|l| l.contains("failed at 4/5 standard reconfigure"))
        .collect();
    assert_eq!(
        failure.len(),
        1,
        "once at err: {errors}\n{}",
        s.journal(UNIT)
    );
    let fields = error_journal(&s, "verbose");
    assert!(fields.contains("UPGRADE_RUN_ID="), "{fields}");
    assert!(fields.contains("PRIORITY=3"), "{fields}");
    assert!(
        fields.contains("SYSLOG_IDENTIFIER=canopsis-upgrade"),
        "{fields}"
    );
    assert_eq!(
        read(&s, "/opt/canopsis/etc/go-engines-vars.conf"),
        vars_before
    );
    let link = std::fs::symlink_metadata(s.host_path("/opt/canopsis/bin/engine-axe")).unwrap();
    assert!(!link.file_type().is_symlink(), "engine-axe is a file again");

    // The journal keeps the run: status says where it stands, and a later run resumes.
    let status = canopsis::run_daemon(&s, &["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["current"]["status"], "failed");
    s.write("/opt/canopsis/var/broken-engines", "", 0o644);
    let out = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vars = read(&s, "/opt/canopsis/etc/go-engines-vars.conf");
    assert!(
        !vars.contains("CPS_INFLUX_URL"),
        "the restored edit was made again: {vars}"
    );
}

#[test]
fn a_second_concurrent_run_is_refused_and_the_first_is_unaffected() {
    let s = canopsis::install_4_4_0();
    s.write("/opt/canopsis/var/slow-yum", "4", 0o644);
    let out = s.systemctl(&["start", UNIT]);
    assert!(out.status.success(), "{}", s.journal(UNIT));
    let second = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    let pid = s.show(UNIT, "MainPID");
    assert!(
        err.contains(&format!(
            "another canopsis-upgrade run holds /run/canopsis-upgrade.lock (PID {pid})"
        )),
        "{err}"
    );
    assert_eq!(
        wait_inactive(&s, UNIT, Duration::from_secs(120)),
        "inactive"
    );
    assert_eq!(s.show(UNIT, "Result"), "success");
    assert_eq!(recorded_calls(&s), EXPECTED_CALLS);
}

/// The calls of the first action of each step of 4.4.0 -> 4.5.0 (what runs twice when the
/// daemon is killed right after it).
const FIRST_ACTION_CALLS: [&[&str]; 5] = [
    &[], // 4.5.0 before_update: a manual step first
    &["yum --disablerepo=* --enablerepo=canopsis* update -y [as root]"],
    // 4.5.0 after_packages: one action runs every migration script of release4.5.
    &[
        "mongo runs // 001_remove_stats",
        "mongo runs // 002_add_metrics",
    ],
    &["canopsinit --canopsis-edition core [as canopsis]"],
    &[], // 4.5.0 after_update: manual steps
];

/// Kills the daemon (SIGKILL) after the first action of `step`, runs it again, and checks that
/// the end state is the uninterrupted one.
fn crash_and_resume_at(step: usize) {
    let s = canopsis::install_4_4_0();
    canopsis::crash_after_first_action(&s, "4.5.0", step);

    let status = canopsis::run_daemon(&s, &["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["current"]["steps"][step - 1]["state"],
        "running",
        "{status}"
    );

    let out = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(
        out.status.success(),
        "resume after a crash in step {step}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let history = canopsis::run_daemon(&s, &["history", "--format", "json"]);
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let attempts: Vec<u64> = history[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["attempts"].as_u64().unwrap())
        .collect();
    let mut expected_attempts = vec![1; 5];
    expected_attempts[step - 1] = 2;
    assert_eq!(
        attempts, expected_attempts,
        "every step once, the interrupted one twice"
    );

    let mut expected: Vec<String> = EXPECTED_CALLS.iter().map(|c| c.to_string()).collect();
    let again = FIRST_ACTION_CALLS[step - 1];
    if let Some(first) = again.first() {
        let at = expected.iter().position(|c| c == first).unwrap();
        expected.splice(at..at, again.iter().map(|c| c.to_string()));
    }
    assert_eq!(
        recorded_calls(&s),
        expected,
        "calls after a crash in step {step}"
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");
    let vars = read(&s, "/opt/canopsis/etc/go-engines-vars.conf");
    assert_eq!(vars.matches("CPS_POSTGRES_URL=").count(), 1, "{vars}");
    assert!(!vars.contains("CPS_INFLUX_URL"), "{vars}");
    for unit in UNITS {
        assert_eq!(s.show(unit, "ActiveState"), "active", "{unit}");
    }
}

#[test]
fn crash_in_step_1_and_resume() {
    crash_and_resume_at(1);
}

#[test]
fn crash_in_step_2_and_resume() {
    crash_and_resume_at(2);
}

#[test]
fn crash_in_step_3_and_resume() {
    crash_and_resume_at(3);
}

#[test]
fn crash_in_step_4_and_resume() {
    crash_and_resume_at(4);
}

#[test]
fn crash_in_step_5_and_resume() {
    crash_and_resume_at(5);
}

#[test]
fn systemctl_stop_ends_at_a_step_boundary_and_start_resumes() {
    let s = canopsis::install_4_4_0();
    s.write("/opt/canopsis/var/slow-yum", "3", 0o644);
    assert!(s.systemctl(&["start", UNIT]).status.success());
    // Wait for the slow package update (step 2) to begin, then stop.
    let started = std::time::Instant::now();
    while !calls(&s).iter().any(|c| c.starts_with("yum")) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "yum never ran: {}",
            s.journal(UNIT)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = s.systemctl(&["stop", UNIT]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.show(UNIT, "ActiveState"), "inactive");
    let journal = s.journal(UNIT);
    assert!(
        journal.contains("stopped before step 3/5; run again to resume"),
        "{journal}"
    );
    // The step under way was finished, not killed: yum completed and step 2 is done.
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");
    let status = canopsis::run_daemon(&s, &["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["current"]["status"], "stopped", "{status}");
    assert_eq!(status["current"]["steps"][1]["state"], "done", "{status}");

    assert!(s.systemctl(&["start", UNIT]).status.success());
    assert_eq!(
        wait_inactive(&s, UNIT, Duration::from_secs(120)),
        "inactive"
    );
    assert_eq!(recorded_calls(&s), EXPECTED_CALLS, "{}", s.journal(UNIT));
}

#[test]
fn the_watchdog_is_fed_through_a_long_step() {
    let s = canopsis::install_4_4_0();
    s.write("/opt/canopsis/var/slow-yum", "4", 0o644);
    s.write(
        "/run/systemd/system/canopsis-upgrade@.service.d/watchdog.conf",
        "[Service]\nWatchdogSec=2s\n",
        0o644,
    );
    s.daemon_reload();
    assert!(
        s.systemctl(&["start", UNIT]).status.success(),
        "{}",
        s.journal(UNIT)
    );
    assert_eq!(
        wait_inactive(&s, UNIT, Duration::from_secs(120)),
        "inactive",
        "{}",
        s.journal(UNIT)
    );
    assert_eq!(
        s.show(UNIT, "Result"),
        "success",
        "a 4 s step under WatchdogSec=2s"
    );
}

/// The packaged nightly service, running the sandbox's daemon and config.
fn install_nightly_unit(s: &Installed) {
    let unit = include_str!("../units/canopsis-upgrade.service").replace(
        "ExecStart=/usr/bin/canopsis-upgrade run --nightly",
        &format!(
            "ExecStart={} --config {} run --nightly",
            canopsis::DAEMON,
            canopsis::CONFIG
        ),
    );
    s.install_unit("canopsis-upgrade.service", &unit);
}

#[test]
fn the_nightly_run_without_a_policy_takes_the_patches_of_the_installed_line() {
    let s = canopsis::install_4_4_0();
    s.write("/opt/canopsis/var/repo-version", "4.4.1", 0o644);
    install_nightly_unit(&s);
    assert!(
        s.systemctl(&["start", "canopsis-upgrade.service"])
            .status
            .success(),
        "{}",
        s.journal("canopsis-upgrade.service")
    );
    let journal = || s.journal("canopsis-upgrade.service");
    assert_eq!(
        wait_inactive(&s, "canopsis-upgrade.service", Duration::from_secs(120)),
        "inactive",
        "{}",
        journal()
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.4.1");
    assert!(
        journal().contains("no [nightly] policy: the patch releases of the installed line (~4.4)"),
        "{}",
        journal()
    );
}

#[test]
fn the_nightly_run_takes_the_newest_patch_the_policy_allows() {
    let s = canopsis::install_4_4_0();
    s.write("/opt/canopsis/var/repo-version", "4.4.1", 0o644);
    let config = read(&s, canopsis::CONFIG) + "[nightly]\npolicy = \"~4.4\"\n";
    s.write(canopsis::CONFIG, &config, 0o644);
    install_nightly_unit(&s);
    assert!(
        s.systemctl(&["start", "canopsis-upgrade.service"])
            .status
            .success(),
        "{}",
        s.journal("canopsis-upgrade.service")
    );
    assert_eq!(
        wait_inactive(&s, "canopsis-upgrade.service", Duration::from_secs(120)),
        "inactive"
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.4.1");
    let calls = canopsis::all_calls(&s);
    assert!(
        // dnf where it is installed (RHEL 8), yum otherwise.
        calls[0].contains(
            "--disablerepo=* --enablerepo=canopsis* list --showduplicates available canopsis"
        ),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.starts_with("canopsinit")),
        "{calls:?}"
    );

    // Again: 4.4.1 is the newest 4.4 release the repository has: nothing to do, a success.
    assert!(s
        .systemctl(&["start", "canopsis-upgrade.service"])
        .status
        .success());
    assert_eq!(
        wait_inactive(&s, "canopsis-upgrade.service", Duration::from_secs(60)),
        "inactive"
    );
    assert!(s
        .journal("canopsis-upgrade.service")
        .contains("nothing to do: 4.4.1 is the newest release ~4.4 allows"));
    assert_eq!(
        canopsis::all_calls(&s).len(),
        calls.len() + 1,
        "only the repository listing ran"
    );
}
