//! The systemd client against a real systemd: each job waited for by its own result, failures
//! naming the unit and the result, timeouts, unit state, unit files.

use canopsis_upgrade_test_support::sdsandbox;

use std::time::{Duration, Instant};

use canopsis_upgrade::systemd::{is_no_such_unit, JobKind, JobResult, Systemd, SystemdError};

fn connect(s: &sdsandbox::Sandbox, job_timeout: Duration) -> (tokio::runtime::Runtime, Systemd) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let systemd = runtime
        .block_on(Systemd::connect_to(&s.bus_address(), job_timeout))
        .unwrap();
    (runtime, systemd)
}

#[test]
fn jobs_end_with_their_own_result() {
    let s = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    s.install_unit("ok.service", "[Service]\nExecStart=/bin/sleep infinity\n");
    s.install_unit(
        "broken.service",
        "[Service]\nType=oneshot\nExecStart=/bin/false\n",
    );
    s.install_unit(
        "slow.service",
        "[Service]\nType=notify\nExecStart=/bin/sleep infinity\nTimeoutStartSec=30\n",
    );
    let (rt, systemd) = connect(&s, Duration::from_secs(2));

    rt.block_on(systemd.job(JobKind::Start, "ok.service"))
        .unwrap();
    assert_eq!(
        rt.block_on(systemd.state("ok.service"))
            .unwrap()
            .active_state,
        "active"
    );
    rt.block_on(systemd.job(JobKind::ReloadOrRestart, "ok.service"))
        .unwrap();
    rt.block_on(systemd.job(JobKind::Stop, "ok.service"))
        .unwrap();
    assert_eq!(
        rt.block_on(systemd.state("ok.service"))
            .unwrap()
            .active_state,
        "inactive"
    );

    let err = rt
        .block_on(systemd.job(JobKind::Start, "broken.service"))
        .unwrap_err();
    assert!(
        matches!(&err, SystemdError::Job { result: JobResult::Other(r), .. } if r == "failed"),
        "{err}"
    );
    assert_eq!(err.to_string(), "start broken.service: job failed");
    assert_eq!(
        rt.block_on(systemd.service_result("broken.service"))
            .unwrap(),
        "exit-code"
    );

    // A unit that never reports ready: our wait ends at the job timeout, naming it.
    let started = Instant::now();
    let err = rt
        .block_on(systemd.job(JobKind::Start, "slow.service"))
        .unwrap_err();
    assert!(matches!(err, SystemdError::JobTimeout { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("start slow.service: no result after"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn many_jobs_at_once_each_get_their_result() {
    let s = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    s.install_unit(
        "engine@.service",
        "[Service]\nExecStart=/bin/sleep infinity\n",
    );
    s.install_unit(
        "bad@.service",
        "[Service]\nType=oneshot\nExecStart=/bin/false\n",
    );
    let (rt, systemd) = connect(&s, Duration::from_secs(30));
    let units: Vec<String> = (0..5)
        .map(|i| format!("engine@{i}.service"))
        .chain(["bad@x.service".into()])
        .collect();
    let results = rt.block_on(systemd.jobs(JobKind::Restart, &units)).unwrap();
    assert_eq!(results.len(), 6);
    assert!(
        units[..5].iter().all(|u| results[u] == JobResult::Done),
        "{results:?}"
    );
    assert_eq!(results["bad@x.service"], JobResult::Other("failed".into()));
    let listed = rt.block_on(systemd.list(&["engine@*".into()])).unwrap();
    assert_eq!(listed.len(), 5);
    assert!(listed
        .iter()
        .all(|u| u.active_state == "active" && u.sub_state == "running"));
}

#[test]
fn a_unit_that_does_not_exist_is_told_apart() {
    let s = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    let (rt, systemd) = connect(&s, Duration::from_secs(10));
    let state = rt
        .block_on(systemd.state("canopsis-engine-go@engine-service.service"))
        .unwrap();
    assert!(!state.exists(), "{state:?}");
    let err = rt
        .block_on(systemd.disable("canopsis-engine-go@engine-service.service", true))
        .unwrap_err();
    assert!(is_no_such_unit(&err), "{err}");
}

#[test]
fn unit_files_are_enabled_and_disabled_at_runtime() {
    let s = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    s.install_unit(
        "canopsis.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
    );
    s.install_unit(
        "fifo.service",
        "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=canopsis.service\n",
    );
    let (rt, systemd) = connect(&s, Duration::from_secs(10));
    rt.block_on(systemd.enable("fifo.service", true)).unwrap();
    assert_eq!(s.show("fifo.service", "UnitFileState"), "enabled-runtime");
    rt.block_on(systemd.daemon_reload()).unwrap();
    rt.block_on(systemd.disable("fifo.service", true)).unwrap();
    assert_eq!(s.show("fifo.service", "UnitFileState"), "disabled");
}
