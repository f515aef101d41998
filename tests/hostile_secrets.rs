//! No password on any command line: while the live executor runs psql and redis-cli on URLs
//! with passwords (the machine's real PostgreSQL and Redis, which trust local connections and
//! so accept any), a sampler reads every `/proc/*/cmdline` and never finds the password.

use canopsis_upgrade_test_support::live_executor;

use std::sync::Arc;

use canopsis_upgrade::action::{Action, Executor};

/// A Redis database number no other test uses.
const REDIS_DB: &str = "14";

fn fixture(env_file: &str) -> live_executor::LiveFixture {
    live_executor::boot(env_file)
}

/// What the sampler saw: rounds, command lines holding the needle, and the real uid of every
/// database shell (psql, redis-cli) seen running.
type Sampled = (usize, Vec<String>, Vec<u32>);

/// Every command line of the machine that holds `needle`, sampled until `stop` is set.
fn sample_cmdlines(
    needle: &'static str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let (mut samples, mut found, mut shell_uids) = (0, Vec::new(), Vec::new());
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
                    let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
                    if line.contains(needle) {
                        found.push(line.clone());
                    }
                    // The executor's forms (tests run beside us run their own shells as root).
                    if line.starts_with("psql -X ")
                        || (line.starts_with("redis-cli -h ") && line.contains(" -p "))
                    {
                        shell_uids.extend(real_uid(&entry.path()));
                    }
                }
            }
            samples += 1;
        }
        (samples, found, shell_uids)
    })
}

fn real_uid(proc_dir: &std::path::Path) -> Option<u32> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const PASSWORD: &str = "Cmd-L1ne-S3cret";

#[test]
fn the_sampler_sees_a_password_on_a_command_line() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_cmdlines("Ctrl-S3cret", stop.clone());
    std::process::Command::new("/bin/sh")
        .args(["-c", "sleep 0.3", "Ctrl-S3cret"])
        .status()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!sampler.join().unwrap().1.is_empty());
}

#[test]
fn no_password_in_any_cmdline_during_psql_and_redis() {
    let f = fixture(&format!(
        "CPS_POSTGRES_URL=\"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test?sslmode=disable\"\nCPS_REDIS_URL=\"redis://:{PASSWORD}@127.0.0.1:6379/{REDIS_DB}\"\n"
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_cmdlines(PASSWORD, stop.clone());
    let file = f.dir.path().join("slow.sql");
    std::fs::write(&file, "SELECT pg_sleep(0.5);\n").unwrap();
    for _ in 0..3 {
        f.executor
            .execute(&Action::PsqlFile { path: file.clone() })
            .unwrap();
        f.executor
            .execute(&Action::PsqlEval {
                sql: "SELECT pg_sleep(0.3)".into(),
            })
            .unwrap();
        // The server has no password: redis-cli's AUTH may be refused; either way, no argv.
        let _ = f.executor.execute(&Action::RedisFlushdb);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (samples, found, shell_uids) = sampler.join().unwrap();
    assert!(samples > 10, "the sampler ran ({samples} rounds)");
    assert!(found.is_empty(), "password on a command line: {found:?}");
    // Least privilege: the shells ran as nobody, never as root.
    assert!(!shell_uids.is_empty(), "a database shell was seen running");
    assert!(shell_uids.iter().all(|&uid| uid == 65534), "{shell_uids:?}");
}
