//! The live executor, as root, writing below a directory that another user owns while that
//! user races it: symlinks planted at temporary names, the directory swapped for a symlink to
//! a root-owned place outside the roots, the target swapped for a symlink to a root file. No
//! write may land outside the roots: the sentinel outside keeps its content, owner and mode.
//! The attacker is user `nobody` (`runuser`), the executor this test process (root); systemd is
//! the sandbox's (the executor needs a bus).

use canopsis_upgrade_test_support::sdsandbox;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use canopsis_upgrade::action::{Action, Executor};
use canopsis_upgrade::executor::backup::BackupStore;
use canopsis_upgrade::executor::live::{LiveExecutor, LiveSettings};
use canopsis_upgrade::install::InstallMethod;
use canopsis_upgrade::journal::JournalFile;
use canopsis_upgrade::procedure::sandbox::SandboxRules;
use canopsis_upgrade::systemd::Systemd;

const ITERATIONS: usize = 2000;
const NOBODY: u32 = 65534;

/// The attacker's loop, run as `nobody` in `$A` (a directory it owns below the root): swaps
/// `d` for a symlink to `$OUT`, plants symlinks at temporary names (the old predictable one
/// and guesses), replaces the target by a symlink to the sentinel, until `$A/stop` exists.
const ATTACK: &str = r#"
cd "$A" || exit 1
n=0
while [ ! -e stop ]; do
  n=$((n+1))
  echo "$n" > rounds.tmp && mv -f rounds.tmp rounds
  mv d d.real 2>/dev/null && ln -s "$OUT" d 2>/dev/null
  ln -sf "$OUT/sentinel" "d.real/.conf.tmp-$PID" 2>/dev/null
  ln -sf "$OUT/sentinel" "d.real/.conf.tmp-$n" 2>/dev/null
  ln -sf "$OUT/sentinel" "d.real/.link.link-$PID" 2>/dev/null
  rm -f d 2>/dev/null; mv d.real d 2>/dev/null
  ln -sf "$OUT/sentinel" d/conf.evil 2>/dev/null && mv -f d/conf.evil d/conf 2>/dev/null
  echo "attacker $n" > d/conf.new 2>/dev/null && mv -f d/conf.new d/conf 2>/dev/null
done
echo "$n" > rounds
"#;

struct Layout {
    _base: tempfile::TempDir,
    root: PathBuf,
    attacker_dir: PathBuf,
    outside: PathBuf,
}

fn layout() -> Layout {
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = base.path().join("root");
    let attacker_dir = root.join("a");
    let outside = base.path().join("outside");
    std::fs::create_dir_all(attacker_dir.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
    for dir in [&attacker_dir, &attacker_dir.join("d")] {
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    std::fs::write(attacker_dir.join("d/conf"), "original\n").unwrap();
    std::os::unix::fs::chown(attacker_dir.join("d/conf"), Some(NOBODY), Some(NOBODY)).unwrap();
    let sentinel = outside.join("sentinel");
    std::fs::write(&sentinel, "root secret\n").unwrap();
    std::fs::set_permissions(&sentinel, std::fs::Permissions::from_mode(0o600)).unwrap();
    Layout {
        _base: base,
        root,
        attacker_dir,
        outside,
    }
}

fn executor(
    sandbox: &sdsandbox::Sandbox,
    runtime: &tokio::runtime::Runtime,
    layout: &Layout,
    state: &Path,
) -> LiveExecutor {
    let systemd = runtime
        .block_on(Systemd::connect_to(
            &sandbox.bus_address(),
            Duration::from_secs(30),
        ))
        .unwrap();
    let journal = Arc::new(JournalFile::open(&state.join("journal.json")).unwrap());
    let settings = LiveSettings {
        install: InstallMethod::Packages,
        compose_dir: None,
        engine_env_file: layout.root.join("go-engines-vars.conf"),
        dropin_dir: state.join("units"),
        runtime_unit_files: true,
        canopsis_units: vec!["canopsis*".into()],
        settle: Duration::from_secs(1),
        rules: SandboxRules::new(std::slice::from_ref(&layout.root), vec![], vec![]),
    };
    let backups = BackupStore::new(
        state.join("backups"),
        journal,
        Arc::new(AtomicUsize::new(1)),
    );
    LiveExecutor::new(settings, systemd, runtime.handle().clone(), backups)
}

fn start_attacker(layout: &Layout) -> Child {
    Command::new("runuser")
        .args(["-u", "nobody", "--", "/bin/sh", "-c", ATTACK])
        .env("A", &layout.attacker_dir)
        .env("OUT", &layout.outside)
        .env("PID", std::process::id().to_string())
        .spawn()
        .expect("runuser")
}

/// One of the file actions on the raced directory, by turn.
fn action(dir: &Path, i: usize) -> Action {
    match i % 4 {
        0 => Action::WriteFile {
            path: dir.join("conf"),
            text: format!("written {i}\n"),
        },
        1 => Action::EnsureLine {
            path: dir.join("conf"),
            line: format!("line {i}"),
            prefix: None,
        },
        2 => Action::Symlink {
            link: dir.join("link"),
            target: dir.join("conf"),
        },
        _ => Action::CopyFile {
            from: dir.join("conf"),
            to: dir.join("copy"),
        },
    }
}

/// How many rounds the attacker has done so far.
fn rounds(layout: &Layout) -> u32 {
    std::fs::read_to_string(layout.attacker_dir.join("rounds"))
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// An error without its paths and numbers, to count refusals by kind.
fn reason(error: &str) -> String {
    error
        .split_whitespace()
        .filter(|w| !w.contains('/') && !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_outside_untouched(outside: &Path) {
    let sentinel = outside.join("sentinel");
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "root secret\n");
    let meta = std::fs::metadata(&sentinel).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o600)
    );
    let names: Vec<_> = std::fs::read_dir(outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["sentinel"], "nothing new lands outside the roots");
}

#[test]
fn a_local_user_racing_the_executor_cannot_redirect_its_writes() {
    let sandbox = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let layout = layout();
    let executor = executor(&sandbox, &runtime, &layout, state.path());
    let dir = layout.attacker_dir.join("d");
    let mut attacker = start_attacker(&layout);
    let (mut done, mut refused) = (0, 0);
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let started = std::time::Instant::now();
    // As many actions as it takes for the attacker to be well under way, and at least ITERATIONS.
    let mut i = 0;
    while i < ITERATIONS || (started.elapsed() < Duration::from_secs(20) && rounds(&layout) < 200) {
        match executor.execute(&action(&dir, i)) {
            Ok(_) => done += 1,
            Err(e) => {
                refused += 1;
                *reasons.entry(reason(&e.to_string())).or_default() += 1;
            }
        }
        i += 1;
    }
    eprintln!("refusals: {reasons:#?}");
    std::fs::write(layout.attacker_dir.join("stop"), "").unwrap();
    assert!(attacker.wait().unwrap().success());
    let rounds = std::fs::read_to_string(layout.attacker_dir.join("rounds")).unwrap();
    eprintln!(
        "{done} actions done, {refused} refused, {} attacker rounds",
        rounds.trim()
    );
    assert_outside_untouched(&layout.outside);
    assert!(done > 0, "the race was run: some actions went through");
    assert!(
        rounds.trim().parse::<u32>().unwrap() > 10,
        "the attacker ran"
    );
}
