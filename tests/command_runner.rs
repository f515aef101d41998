//! The command runner against real processes. These tests run as root (as CI does): the ones
//! that switch users fail with a clear message otherwise, they never skip.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use canopsis_upgrade::executor::command::{
    run, CommandError, CommandRequest, CommandResult, ROOT_PATH, USER_PATH,
};

const NOBODY_UID: u32 = 65534;

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test switches to user nobody and must run as root (euid is {})",
        nix::unistd::geteuid()
    );
}

fn req(program: &str, args: &[&str]) -> CommandRequest {
    CommandRequest::new(program, args.iter().copied(), Duration::from_secs(30))
}

fn ok(req: &CommandRequest) -> CommandResult {
    match run(req) {
        Ok(result) => result,
        Err(e) => panic!("{} {:?} failed: {e}", req.program, req.args),
    }
}

/// `run` for a script this test has just written: another test's fork can briefly hold the
/// script open for writing (ETXTBSY), which is a property of the test, not of the runner.
fn run_fresh(req: &CommandRequest) -> Result<CommandResult, CommandError> {
    for _ in 0..50 {
        match run(req) {
            Err(CommandError::Spawn { source, .. })
                if source.raw_os_error() == Some(nix::libc::ETXTBSY) =>
            {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other,
        }
    }
    run(req)
}

fn ok_fresh(req: &CommandRequest) -> CommandResult {
    match run_fresh(req) {
        Ok(result) => result,
        Err(e) => panic!("{} {:?} failed: {e}", req.program, req.args),
    }
}

fn sh(script: &str) -> CommandRequest {
    req("/bin/sh", &["-c", script])
}

/// The lines `KEY=VALUE` printed by `env`, as pairs.
fn env_of(result: &CommandResult) -> Vec<(String, String)> {
    result
        .stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lookup<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn process_gone(pid: i32) -> bool {
    // A zombie waiting for its new parent to reap it is gone for our purpose.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if process_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    process_gone(pid)
}

#[test]
fn runs_a_program_found_in_path() {
    let result = ok(&req("echo", &["hello", "two words"]));
    assert_eq!(result.stdout, "hello two words\n");
    assert_eq!(result.stderr, "");
    assert_eq!(result.code, Some(0));
    assert_eq!(result.signal, None);
    assert!(result.success());
    assert!(result.duration < Duration::from_secs(10));
}

#[test]
fn arguments_are_not_interpreted_by_a_shell() {
    let result = ok(&req("echo", &["$HOME", "`id`", "a;b", "*"]));
    assert_eq!(result.stdout, "$HOME `id` a;b *\n");
}

#[test]
fn a_program_not_in_path_is_not_found() {
    match run(&req("no-such-program-canopsis-upgrade", &[])) {
        Err(CommandError::NotFound { program, path }) => {
            assert_eq!(program, "no-such-program-canopsis-upgrade");
            assert_eq!(path, ROOT_PATH);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    // An absolute path that does not exist cannot be started.
    match run(&req("/nonexistent/bin/tool", &[])) {
        Err(CommandError::Spawn { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound)
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
}

#[test]
fn lookup_uses_the_path_of_the_child_environment() {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("canopsis-fake-tool");
    std::fs::write(&tool, "#!/bin/sh\necho fake tool \"$@\"\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Not on the default PATH.
    assert!(matches!(
        run(&req("canopsis-fake-tool", &[])),
        Err(CommandError::NotFound { .. })
    ));
    // Found once the child's PATH has its directory.
    let mut with_path = req("canopsis-fake-tool", &["x"]);
    let path = format!("{}:{}", dir.path().display(), ROOT_PATH);
    with_path.extra_env = vec![("PATH".to_string(), path)];
    assert_eq!(ok_fresh(&with_path).stdout, "fake tool x\n");

    // A file without execute permission is skipped.
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        run(&with_path),
        Err(CommandError::NotFound { .. })
    ));
}

#[test]
fn exit_codes_and_signals() {
    let result = ok(&sh("exit 3"));
    assert_eq!((result.code, result.signal), (Some(3), None));
    assert!(!result.success());
    let result = ok(&req("false", &[]));
    assert_eq!(result.code, Some(1));
    let result = ok(&sh("echo before; kill -KILL $$"));
    assert_eq!(result.code, None);
    assert_eq!(result.signal, Some(9));
    assert_eq!(result.stdout, "before\n");
}

#[test]
fn captures_large_outputs_on_both_streams_at_once() {
    const SIZE: usize = 1 << 20;
    let script = format!(
        "yes aaaaaaa | head -c {SIZE} & yes bbbbbbb | head -c {SIZE} >&2; wait; echo end >&2"
    );
    let result = ok(&sh(&script));
    assert_eq!(result.code, Some(0));
    assert_eq!(result.stdout.len(), SIZE);
    assert_eq!(result.stderr.len(), SIZE + 4);
    assert!(result.stdout.bytes().all(|b| b == b'a' || b == b'\n'));
    assert!(result.stderr.ends_with("\nend\n"));
    assert!(result.stderr[..SIZE]
        .bytes()
        .all(|b| b == b'b' || b == b'\n'));
}

#[test]
fn output_that_is_not_utf8_is_kept_lossily() {
    let result = ok(&req("printf", &["ok \\377 end"]));
    assert_eq!(result.stdout, "ok \u{fffd} end");
}

#[test]
fn the_environment_is_clean_and_extra_env_is_added() {
    // This is the only test that changes the test process's environment.
    std::env::set_var("CANOPSIS_UPGRADE_TEST_LEAK", "leaked");
    std::env::set_var("NOTIFY_SOCKET", "/run/systemd/notify");
    std::env::set_var("WATCHDOG_USEC", "30000000");
    std::env::set_var("WATCHDOG_PID", "1");

    let mut request = req("env", &[]);
    request.extra_env = vec![
        (
            "CPS_AMQP_URL".to_string(),
            "amqp://cpsrabbit:canopsis@localhost:5672/canopsis".to_string(),
        ),
        ("WITH_SPACES".to_string(), "a b  c".to_string()),
        // Even an env file cannot pass these on.
        ("NOTIFY_SOCKET".to_string(), "/elsewhere".to_string()),
    ];
    let result = ok(&request);
    let env = env_of(&result);
    assert_eq!(lookup(&env, "CANOPSIS_UPGRADE_TEST_LEAK"), None, "{env:?}");
    assert_eq!(lookup(&env, "NOTIFY_SOCKET"), None, "{env:?}");
    assert!(
        env.iter().all(|(k, _)| !k.starts_with("WATCHDOG_")),
        "{env:?}"
    );
    assert_eq!(
        lookup(&env, "CPS_AMQP_URL"),
        Some("amqp://cpsrabbit:canopsis@localhost:5672/canopsis")
    );
    assert_eq!(lookup(&env, "WITH_SPACES"), Some("a b  c"));
    assert_eq!(lookup(&env, "PATH"), Some(ROOT_PATH));
    assert_eq!(lookup(&env, "HOME"), Some("/root"));
    assert_eq!(lookup(&env, "LANG"), Some("C.UTF-8"));
    let mut keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "CPS_AMQP_URL",
            "HOME",
            "LANG",
            "LOGNAME",
            "PATH",
            "USER",
            "WITH_SPACES"
        ],
        "nothing else reaches the child"
    );
}

#[test]
fn working_directory() {
    assert_eq!(ok(&req("pwd", &[])).stdout, "/\n");
    let dir = tempfile::tempdir().unwrap();
    let mut request = req("pwd", &[]);
    request.cwd = Some(dir.path().to_path_buf());
    let expected = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(ok(&request).stdout, format!("{}\n", expected.display()));
    request.cwd = Some(PathBuf::from("/nonexistent/dir"));
    assert!(matches!(run(&request), Err(CommandError::Spawn { .. })));
}

#[test]
fn stdin_comes_from_the_file_or_dev_null() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.js");
    let text = "db.configuration.find();\nprint(\"é\");\n";
    std::fs::write(&script, text).unwrap();
    let mut request = req("cat", &[]);
    request.stdin_file = Some(script);
    assert_eq!(ok(&request).stdout, text);

    // Without a file, stdin is empty (cat does not wait for a terminal).
    assert_eq!(ok(&req("cat", &[])).stdout, "");

    request.stdin_file = Some(dir.path().join("missing.js"));
    assert!(matches!(run(&request), Err(CommandError::Io { .. })));
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let mut request = sh("echo started; echo oops >&2; sleep 100 & echo $!; sleep 100");
    request.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let result = run(&request);
    let elapsed = start.elapsed();
    let (stdout, stderr, after) = match result {
        Err(CommandError::TimedOut {
            stdout,
            stderr,
            after,
            ..
        }) => (stdout, stderr, after),
        other => panic!("expected TimedOut, got {other:?}"),
    };
    assert_eq!(after, Duration::from_secs(1));
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3),
        "returned after {elapsed:?}"
    );
    assert_eq!(stderr, "oops\n");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("started"));
    let grandchild: i32 = lines
        .next()
        .expect("pid of the background sleep")
        .parse()
        .unwrap();
    assert!(
        wait_gone(grandchild),
        "the background sleep {grandchild} survived"
    );
}

#[test]
fn timeout_escalates_to_sigkill() {
    // The shell and its children ignore SIGTERM: only SIGKILL ends them, KILL_GRACE later.
    let mut request = sh("trap '' TERM; sleep 100 & echo $!; sleep 100");
    request.timeout = Duration::from_millis(500);
    let start = Instant::now();
    let result = run(&request);
    let elapsed = start.elapsed();
    let stdout = match result {
        Err(CommandError::TimedOut { stdout, .. }) => stdout,
        other => panic!("expected TimedOut, got {other:?}"),
    };
    assert!(
        elapsed >= Duration::from_millis(5400) && elapsed < Duration::from_secs(9),
        "returned after {elapsed:?}"
    );
    let grandchild: i32 = stdout.trim().parse().unwrap();
    assert!(
        wait_gone(grandchild),
        "the background sleep {grandchild} survived"
    );
}

#[test]
fn a_background_process_holding_the_output_is_not_waited_for() {
    let request = sh("sleep 30 & echo $!; echo done");
    let start = Instant::now();
    let result = ok(&request);
    let elapsed = start.elapsed();
    let mut lines = result.stdout.lines();
    let background: i32 = lines.next().unwrap().parse().unwrap();
    // The background sleep is ours (started by this test): end it by its pid.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(background),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(lines.next(), Some("done"));
    assert_eq!(result.code, Some(0));
    assert!(
        elapsed < Duration::from_secs(10),
        "returned after {elapsed:?}"
    );
}

fn nobody(program: &str, args: &[&str]) -> CommandRequest {
    let mut request = req(program, args);
    request.user = Some("nobody".to_string());
    request
}

#[test]
fn runs_as_another_user_with_its_login_environment() {
    require_root();
    let entry = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody exists");
    assert_eq!(entry.uid.as_raw(), NOBODY_UID);

    assert_eq!(ok(&nobody("id", &["-u"])).stdout, "65534\n");
    assert_eq!(
        ok(&nobody("id", &["-g"])).stdout,
        format!("{}\n", entry.gid)
    );

    // Exactly nobody's groups: none of root's.
    let name = std::ffi::CString::new("nobody").unwrap();
    let mut expected: Vec<u32> = nix::unistd::getgrouplist(&name, entry.gid)
        .unwrap()
        .iter()
        .map(|g| g.as_raw())
        .collect();
    expected.sort();
    expected.dedup();
    let mut groups: Vec<u32> = ok(&nobody("id", &["-G"]))
        .stdout
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups, expected);
    assert!(!groups.contains(&0));

    let env = env_of(&ok(&nobody("env", &[])));
    let home = entry.dir.to_string_lossy().into_owned();
    assert_eq!(lookup(&env, "HOME"), Some(home.as_str()));
    assert_eq!(lookup(&env, "USER"), Some("nobody"));
    assert_eq!(lookup(&env, "LOGNAME"), Some("nobody"));
    assert_eq!(
        lookup(&env, "SHELL"),
        Some(entry.shell.to_string_lossy().as_ref())
    );
    assert_eq!(lookup(&env, "PATH"), Some(USER_PATH));
    assert_eq!(lookup(&env, "LANG"), Some("C.UTF-8"));

    // The working directory is the home, or / when it does not exist (nobody's usually does not).
    let expected_cwd = if Path::new(&entry.dir).is_dir() {
        home.clone()
    } else {
        "/".to_string()
    };
    assert_eq!(ok(&nobody("pwd", &[])).stdout, format!("{expected_cwd}\n"));
    let mut in_tmp = nobody("pwd", &[]);
    in_tmp.cwd = Some(PathBuf::from("/tmp"));
    assert_eq!(ok(&in_tmp).stdout, "/tmp\n");
}

#[test]
fn another_user_reads_a_root_only_stdin_file() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("script.sql");
    std::fs::write(&secret, "SELECT 1;\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut request = nobody("cat", &[]);
    request.stdin_file = Some(secret.clone());
    assert_eq!(ok(&request).stdout, "SELECT 1;\n");
    // Whereas nobody cannot open it itself.
    let direct = run(&nobody("cat", &[secret.to_str().unwrap()])).unwrap();
    assert_ne!(direct.code, Some(0));
    assert!(
        direct.stderr.contains("Permission denied"),
        "{}",
        direct.stderr
    );
}

#[test]
fn a_program_only_root_may_execute_is_not_found_for_another_user() {
    require_root();
    // A world-traversable directory, so that only the file's own mode matters.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tool = dir.path().join("root-only-tool");
    std::fs::write(&tool, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = format!("{}:{}", dir.path().display(), USER_PATH);

    let mut as_root = req("root-only-tool", &[]);
    as_root.extra_env = vec![("PATH".to_string(), path.clone())];
    assert_eq!(ok_fresh(&as_root).stdout, "ran\n");

    let mut as_nobody = nobody("root-only-tool", &[]);
    as_nobody.extra_env = vec![("PATH".to_string(), path.clone())];
    match run_fresh(&as_nobody) {
        Err(CommandError::NotFound { path: searched, .. }) => assert_eq!(searched, path),
        other => panic!("expected NotFound, got {other:?}"),
    }

    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(ok_fresh(&as_nobody).stdout, "ran\n");
}

#[test]
fn an_unknown_user_is_refused() {
    let mut request = req("id", &[]);
    request.user = Some("no-such-user-canopsis-upgrade".to_string());
    match run(&request) {
        Err(CommandError::NoSuchUser(name)) => assert_eq!(name, "no-such-user-canopsis-upgrade"),
        other => panic!("expected NoSuchUser, got {other:?}"),
    }
}
