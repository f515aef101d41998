//! The idle cost of a run waiting for its maintenance window: boots the sandbox fixture,
//! starts `canopsis-upgrade@4.5.0` with a window an hour away, waits until STATUS says it
//! waits, then measures the daemon (its host PID) over 60 s (IDLE_SECS to change): RSS and its
//! peak, CPU time, context switches (wake-ups) per thread, threads.
//!
//! Target: under 10 MiB RSS, no periodic wake-ups. Needs root (the sandbox).

use canopsis_upgrade_test_support::canopsis;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use canopsis::InstallSpec;
use jiff::Timestamp;

const UNIT: &str = "canopsis-upgrade@4.5.0.service";

/// `[window]` in UTC with one slot opening at `start`, for 2 hours.
fn window_section(start: Timestamp) -> String {
    let local = start.to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "[window]\ntime_zone = \"UTC\"\n[[window.slot]]\ndays = [\"{}\"]\nstart = \"{}\"\nlength = \"2h\"\n",
        local.strftime("%a"),
        local.strftime("%H:%M:%S")
    )
}

fn status_field(pid: u32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

fn kib(pid: u32, field: &str) -> u64 {
    status_field(pid, field)
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn parent(pid: u32) -> Option<u32> {
    status_field(pid, "PPid")?.parse().ok()
}

/// The host PID of the process whose PID inside the sandbox is `inner`, below `root`.
fn host_pid(root: u32, inner: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| {
            let last = status_field(pid, "NSpid")
                .and_then(|ns| ns.split_whitespace().last()?.parse::<u32>().ok());
            if last != Some(inner) {
                return false;
            }
            let mut p = pid;
            while let Some(up) = parent(p) {
                if up == root {
                    return true;
                }
                if up <= 1 {
                    break;
                }
                p = up;
            }
            false
        })
}

/// utime + stime of the whole process (every thread), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the comm: state is field 3, utime 14 and stime 15 (1-based) -> 11, 12 here.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// Per thread: (name, voluntary + nonvoluntary context switches).
fn switches(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let count = field("voluntary_ctxt_switches").parse::<u64>().unwrap_or(0)
            + field("nonvoluntary_ctxt_switches")
                .parse::<u64>()
                .unwrap_or(0);
        out.insert(tid, (field("Name"), count));
    }
    out
}

/// The `n` mappings with the most resident memory, summed by name (kB, name).
fn largest_mappings(pid: u32, n: usize) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: range perms offset dev inode [name].
            let fields: Vec<&str> = line.split_whitespace().collect();
            current = match fields.get(5) {
                Some(name) => format!("{name} ({})", fields[1]),
                None => format!("[anonymous] ({})", fields[1]),
            };
        } else if let Some(kb) = line.strip_prefix("Rss:") {
            let kb: u64 = kb
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            *by_name.entry(current.clone()).or_default() += kb;
        }
    }
    let mut all: Vec<(u64, String)> = by_name.into_iter().map(|(k, v)| (v, k)).collect();
    all.sort_by(|a, b| b.cmp(a));
    all.truncate(n);
    all
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

fn main() {
    let secs: u64 = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let s = canopsis::install(InstallSpec::default());
    let window = window_section(Timestamp::new(Timestamp::now().as_second() + 3600, 0).unwrap());
    let config = canopsis::read(&s, canopsis::CONFIG) + window.as_str();
    s.write(canopsis::CONFIG, &config, 0o644);

    // The fixture runs a copy of the daemon on the sandbox's tmpfs /opt, whose pages count as
    // shared memory, dirty and never reclaimed: run the build itself from its disk, as an
    // installed package would be, where the sandbox sees it (not under a private dir).
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_canopsis-upgrade"));
    let private = [
        "/opt",
        "/usr/local/bin",
        "/var/lib/canopsis-upgrade",
        "/run",
        "/tmp",
        "/var/tmp",
    ];
    let on_disk = !private.iter().any(|p| binary.starts_with(p));
    if on_disk {
        s.write(
            "/run/systemd/system/canopsis-upgrade@.service.d/binary.conf",
            &format!(
                "[Service]\nExecStart=\nExecStart={} --config {} run --to %i\n",
                binary.display(),
                canopsis::CONFIG
            ),
            0o644,
        );
        s.daemon_reload();
    }
    let out = s.systemctl(&["start", UNIT]);
    assert!(
        out.status.success(),
        "start: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.journal(UNIT)
    );
    let began = Instant::now();
    while !s
        .show(UNIT, "StatusText")
        .contains("waiting for the maintenance window")
    {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "not waiting: {}",
            s.show(UNIT, "StatusText")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let inner: u32 = s.show(UNIT, "MainPID").parse().unwrap();
    let pid = host_pid(s.pid(), inner).expect("the daemon's host PID");
    // Let the start-up settle (allocator, the runtime's first parks).
    std::thread::sleep(Duration::from_secs(2));

    let (cpu0, sw0) = (cpu_ticks(pid), switches(pid));
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu1, sw1) = (cpu_ticks(pid), switches(pid));
    assert_eq!(
        s.show(UNIT, "ActiveState"),
        "active",
        "the daemon ended while measured"
    );

    let tck = clock_ticks_per_second();
    let cpu_ms = (cpu1 - cpu0) * 1000 / tck;
    let per_minute = |n: u64| n as f64 * 60.0 / secs as f64;
    let total: u64 = sw1
        .iter()
        .map(|(tid, (_, n))| n - sw0.get(tid).map_or(0, |(_, m)| *m))
        .sum();
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "canopsis-upgrade idle while waiting for its window (host pid {pid}, {secs} s, binary {}):",
        if on_disk {
            "on disk"
        } else {
            "on the sandbox's tmpfs"
        }
    );
    println!(
        "  RSS {:.1} MiB, peak (VmHWM) {:.1} MiB, VmSize {:.0} MiB",
        mib(kib(pid, "VmRSS")),
        mib(kib(pid, "VmHWM")),
        mib(kib(pid, "VmSize"))
    );
    println!(
        "  CPU {cpu_ms} ms over {secs} s; context switches {:.1}/min; threads {}",
        per_minute(total),
        sw1.len()
    );
    for (tid, (name, n)) in &sw1 {
        let before = sw0.get(tid).map_or(0, |(_, m)| *m);
        println!(
            "    thread {tid} {name:<16} {:>6} switches in all, {:.1}/min while idle",
            n,
            per_minute(n - before)
        );
    }
    println!(
        "  RSS by kind: anon {:.1} MiB, file {:.1} MiB, shmem {:.1} MiB (the binary's pages on a tmpfs count as shmem)",
        mib(kib(pid, "RssAnon")),
        mib(kib(pid, "RssFile")),
        mib(kib(pid, "RssShmem"))
    );
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let rollup_kib = |field: &str| {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    println!(
        "  dirty {:.1} MiB (the daemon's own cost), clean {:.1} MiB (code and read-only data, reclaimable)",
        mib(rollup_kib("Private_Dirty") + rollup_kib("Shared_Dirty")),
        mib(rollup_kib("Private_Clean") + rollup_kib("Shared_Clean"))
    );
    println!("  largest resident mappings (/proc/PID/smaps):");
    for (rss, name) in largest_mappings(pid, 6) {
        println!("    {:>7.1} MiB  {name}", mib(rss));
    }
    let rss = mib(kib(pid, "VmRSS"));
    println!(
        "  target: RSS < 10 MiB: {}; no periodic wake-ups: {}",
        if rss < 10.0 { "met" } else { "MISSED" },
        if total == 0 { "met" } else { "MISSED" }
    );
}
