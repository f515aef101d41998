//! Downtime of restarting 10 engine units that each take 0.5 s to become ready: our D-Bus
//! restart (every job queued at once, each one's JobRemoved awaited) against `systemctl restart`
//! of each unit in turn (what canoctl does). Needs root: it boots a sandbox systemd.

use canopsis_upgrade_test_support::sdsandbox;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

use canopsis_upgrade::systemd::{JobKind, Systemd};

const ENGINES: usize = 10;

fn boot() -> (sdsandbox::Sandbox, Vec<String>) {
    let s = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    // Ready after 0.5 s, like an engine connecting to its databases; then it runs. No start
    // rate limit: the benchmark restarts them far more often than systemd allows by default.
    s.install_unit(
        "bench-engine@.service",
        "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=notify\nNotifyAccess=all\nExecStart=/bin/sh -c 'sleep 0.5; systemd-notify --ready; exec sleep infinity'\n",
    );
    let units: Vec<String> = (0..ENGINES)
        .map(|i| format!("bench-engine@{i}.service"))
        .collect();
    let mut start = vec!["start"];
    start.extend(units.iter().map(String::as_str));
    assert!(s.systemctl(&start).status.success());
    (s, units)
}

fn restart(c: &mut Criterion) {
    let (sandbox, units) = boot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let systemd = runtime
        .block_on(Systemd::connect_to(
            &sandbox.bus_address(),
            Duration::from_secs(60),
        ))
        .unwrap();
    let mut group = c.benchmark_group("restart 10 engines (0.5 s to ready each)");
    group.sample_size(10);
    group.bench_function("D-Bus, all jobs at once", |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                let results = runtime
                    .block_on(systemd.jobs(JobKind::Restart, &units))
                    .unwrap();
                assert!(results.values().all(|r| r.is_success()), "{results:?}");
            }
            started.elapsed()
        })
    });
    group.bench_function(
        "systemctl restart, one unit after the other (canoctl)",
        |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    for unit in &units {
                        assert!(sandbox.systemctl(&["restart", unit]).status.success());
                    }
                }
                started.elapsed()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, restart);
criterion_main!(benches);
