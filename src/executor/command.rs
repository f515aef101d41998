//! Running a program without a shell, in a clean and predictable environment.
//!
//! - Never a shell: the program is executed directly with its arguments as given.
//! - The environment starts empty (so `NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*` and whatever the
//!   daemon itself was started with never reach the child: only the daemon's main PID talks to
//!   systemd). As root: `PATH` = [`ROOT_PATH`], `HOME=/root`, `LANG=C.UTF-8`, `USER=LOGNAME=root`,
//!   working directory `/` (systemd's default for services) unless `cwd` is given. As another
//!   user it is the environment of `su - user`, without running their shell or profile:
//!   uid, gid and supplementary groups of the user, `HOME`, `USER`, `LOGNAME`, `SHELL` from
//!   the password database, `PATH` = [`USER_PATH`] (canopsis's login profile puts
//!   /opt/canopsis/bin first; profiles are not sourced), `LANG=C.UTF-8`, and their home as the
//!   working directory (or `/` when it does not exist, as `su` does). `extra_env` (for example
//!   the engines' environment file) goes on top.
//! - A bare program name is looked up in the `PATH` the child gets (not the daemon's), and must
//!   be executable by the user it runs as; an absolute path is used as is.
//! - stdout and stderr are captured in full, concurrently (no pipe deadlock), as lossy UTF-8;
//!   stdin is `stdin_file` (opened by the daemon, so a file only root can read works for
//!   another user too) or /dev/null.
//! - The child leads its own process group. On timeout the whole group gets SIGTERM, then
//!   SIGKILL [`KILL_GRACE`] later, and the run ends with [`CommandError::TimedOut`] carrying what
//!   was captured. A program that exits while something it started in the background keeps
//!   its output open is not waited for beyond [`EOF_GRACE`] (that process is left alone).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid, User};

/// `PATH` of a command run as root (Debian's and RHEL's `su -` for root).
pub const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// `PATH` of a command run as another user: canopsis's login profile puts /opt/canopsis/bin
/// first. Profiles themselves are not sourced.
pub const USER_PATH: &str = "/opt/canopsis/bin:/usr/local/bin:/usr/bin:/bin";
/// `LANG` of every command, for output that does not depend on the daemon's locale.
pub const LANG: &str = "C.UTF-8";
/// Between SIGTERM and SIGKILL to the process group of a command that timed out.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long, after the program exited, to wait for its output to be closed by whatever it left
/// running in the background.
pub const EOF_GRACE: Duration = Duration::from_secs(2);

/// What to run, as whom, with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    /// A name looked up in the `PATH` of the child's environment, or an absolute path.
    pub program: String,
    /// The arguments, each passed as is.
    pub args: Vec<String>,
    /// Run as this user with its login environment; `None`: as the daemon (root).
    pub user: Option<String>,
    /// Variables set on top of the base environment (later entries win), e.g. the engines'
    /// environment file. `NOTIFY_SOCKET`, `WATCHDOG_*` and `LISTEN_FDS`/`LISTEN_PID`/
    /// `LISTEN_FDNAMES` are dropped even from here.
    pub extra_env: Vec<(String, String)>,
    /// Working directory; default: `/` as root, the user's home otherwise.
    pub cwd: Option<PathBuf>,
    /// The whole run, from spawn to exit.
    pub timeout: Duration,
    /// Fed to stdin (e.g. a mongo script); default: /dev/null.
    pub stdin_file: Option<PathBuf>,
}

impl CommandRequest {
    /// `program` with `args`, as root, with the default environment and no stdin.
    pub fn new<I, S>(program: &str, args: I, timeout: Duration) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandRequest {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            user: None,
            extra_env: Vec::new(),
            cwd: None,
            timeout,
            stdin_file: None,
        }
    }
}

/// How a program ended, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Everything it wrote on stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything it wrote on stderr (lossy UTF-8).
    pub stderr: String,
    /// From spawn to exit.
    pub duration: Duration,
}

impl CommandResult {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a command could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A bare name that no directory of the child's `PATH` has (executable by its user).
    #[error("program {program:?} not found (or not executable) in PATH {path}")]
    NotFound {
        /// The name.
        program: String,
        /// The `PATH` searched.
        path: String,
    },
    /// The user to run as does not exist.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The program ran past its timeout; its process group was killed.
    #[error("{program} timed out after {after:?} and was killed")]
    TimedOut {
        /// The program.
        program: String,
        /// Its timeout.
        after: Duration,
        /// What it wrote on stdout until then.
        stdout: String,
        /// What it wrote on stderr until then.
        stderr: String,
    },
    /// Another system error around the run.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

/// `text` with every occurrence of each non-empty secret replaced by `***` (longest secrets
/// first, so that a secret containing another does not leak its remainder).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Runs the request and waits for it (see the module documentation).
pub fn run(req: &CommandRequest) -> Result<CommandResult, CommandError> {
    let run_as = req.user.as_deref().map(lookup_user).transpose()?;
    let mut cmd = prepare(req, run_as.as_ref())?;
    tracing::debug!(program = %Path::new(cmd.get_program()).display(), user = ?req.user, "running command");
    let start = Instant::now();
    let child = cmd.spawn().map_err(|source| CommandError::Spawn {
        program: req.program.clone(),
        source,
    })?;
    let watched = watch(child, &req.program)?;
    wait_for(req, &watched, start)
}

/// The command, ready to spawn: the program found as the user would find it, the environment,
/// stdin, the identity and the working directory.
fn prepare(req: &CommandRequest, run_as: Option<&RunAs>) -> Result<Command, CommandError> {
    let env =
        child_env(run_as.map(RunAs::identity).as_ref(), &req.extra_env).map_err(|source| {
            CommandError::Spawn {
                program: req.program.clone(),
                source,
            }
        })?;
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let (uid, gids) = match run_as {
        Some(user) => (user.uid, user.groups.clone()),
        None => (nix::unistd::geteuid(), current_groups()),
    };
    let program = find_program(&req.program, path_var, |p| {
        is_executable_by(p, uid.as_raw(), &gids)
    })?;
    let mut cmd = Command::new(&program);
    if !req.program.contains('/') {
        cmd.arg0(&req.program);
    }
    cmd.args(&req.args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(open_stdin(req)?)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    match run_as {
        None => {
            cmd.current_dir(req.cwd.as_deref().unwrap_or(Path::new("/")));
        }
        Some(user) => become_user(&mut cmd, user, req)?,
    }
    Ok(cmd)
}

/// `stdin_file`, opened by the daemon (so that a file only root can read works for another
/// user too), or /dev/null.
fn open_stdin(req: &CommandRequest) -> Result<Stdio, CommandError> {
    match &req.stdin_file {
        None => Ok(Stdio::null()),
        Some(path) => File::open(path)
            .map(Stdio::from)
            .map_err(|source| CommandError::Io {
                context: format!(
                    "cannot open {} for the stdin of {}",
                    path.display(),
                    req.program
                ),
                source,
            }),
    }
}

/// Makes the child take the user's identity and working directory (its home, or `/` when
/// that does not exist, as `su` does) before exec.
fn become_user(cmd: &mut Command, user: &RunAs, req: &CommandRequest) -> Result<(), CommandError> {
    let (dir, fallback) = match &req.cwd {
        Some(cwd) => (cwd.as_path(), false),
        None => (user.home.as_path(), true),
    };
    let dir = CString::new(dir.as_os_str().as_bytes()).map_err(|e| CommandError::Spawn {
        program: req.program.clone(),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    let (uid, gid, groups) = (user.uid, user.gid, user.groups.clone());
    // SAFETY: the closure runs in the forked child before exec; it only makes
    // async-signal-safe system calls (setgroups, setgid, setuid, chdir) on data prepared
    // beforehand, and allocates nothing. The supplementary groups were resolved in the
    // parent with getgrouplist (what initgroups does, minus the NSS lookups that are
    // not safe after fork).
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setgroups(&groups)?;
            nix::unistd::setgid(gid)?;
            nix::unistd::setuid(uid)?;
            if nix::libc::chdir(dir.as_ptr()) != 0 {
                let err = io::Error::last_os_error();
                if !fallback || nix::libc::chdir(c"/".as_ptr()) != 0 {
                    return Err(err);
                }
            }
            Ok(())
        });
    }
    Ok(())
}

/// A running child: its process group, and what its watcher threads capture and report.
struct Watched {
    pgid: Pid,
    events: Receiver<ChildEvent>,
    stdout: Arc<Sink>,
    stderr: Arc<Sink>,
}

/// Starts the threads that read the child's output and wait for its exit; if they cannot be
/// started, the child's group is killed.
fn watch(mut child: Child, program: &str) -> Result<Watched, CommandError> {
    let pgid = Pid::from_raw(child.id() as i32);
    let (tx, events) = mpsc::channel();
    let stdout = Arc::new(Sink::default());
    let stderr = Arc::new(Sink::default());
    let out = child.stdout.take().expect("stdout is piped");
    let err = child.stderr.take().expect("stderr is piped");
    let started = spawn_reader("cmd-stdout", out, stdout.clone(), tx.clone())
        .and_then(|()| spawn_reader("cmd-stderr", err, stderr.clone(), tx.clone()))
        .and_then(|()| {
            let tx = tx.clone();
            thread::Builder::new()
                .name("cmd-wait".to_string())
                .spawn(move || {
                    let status = child.wait();
                    let _ = tx.send(ChildEvent::Exited(status, Instant::now()));
                })
                .map(drop)
        });
    drop(tx);
    if let Err(source) = started {
        let _ = killpg(pgid, Signal::SIGKILL);
        return Err(CommandError::Io {
            context: format!("cannot watch {program}"),
            source,
        });
    }
    Ok(Watched {
        pgid,
        events,
        stdout,
        stderr,
    })
}

/// Waits for the child until its timeout, then for its output to be closed (at most
/// [`EOF_GRACE`] after it exited); a child that times out is terminated.
fn wait_for(
    req: &CommandRequest,
    child: &Watched,
    start: Instant,
) -> Result<CommandResult, CommandError> {
    let mut progress = ChildProgress::default();
    let deadline = start + req.timeout;
    progress.pump(&child.events, |p| match p.exited_at {
        // Once the program has exited, only wait a little for its output to be closed.
        Some(at) => at + EOF_GRACE,
        None => deadline,
    });
    if progress.exited.is_none() {
        tracing::warn!(program = %req.program, timeout = ?req.timeout, "command timed out, terminating it");
        terminate(child, &mut progress);
        return Err(CommandError::TimedOut {
            program: req.program.clone(),
            after: req.timeout,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        });
    }
    if progress.open_streams > 0 {
        tracing::warn!(
            program = %req.program,
            "the command exited but something it started still holds its output open; not waiting for it"
        );
    }
    let (status, exited_at) = progress.exited.take().expect("exited");
    let status = status.map_err(|source| CommandError::Io {
        context: format!("cannot wait for {}", req.program),
        source,
    })?;
    Ok(CommandResult {
        code: status.code(),
        signal: status.signal(),
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        duration: exited_at.saturating_duration_since(start),
    })
}

/// SIGTERM to the whole group, then SIGKILL [`KILL_GRACE`] later if it is not done.
fn terminate(child: &Watched, progress: &mut ChildProgress) {
    signal_group(child.pgid, Signal::SIGTERM);
    let term_deadline = Instant::now() + KILL_GRACE;
    progress.pump(&child.events, |_| term_deadline);
    if !progress.done() {
        signal_group(child.pgid, Signal::SIGKILL);
        let kill_deadline = Instant::now() + KILL_GRACE;
        progress.pump(&child.events, |p| match p.exited_at {
            Some(at) => (at + EOF_GRACE).min(kill_deadline),
            None => kill_deadline,
        });
    }
}

/// The account a command runs as.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
    groups: Vec<Gid>,
    home: PathBuf,
    shell: PathBuf,
}

impl RunAs {
    fn identity(&self) -> Identity {
        Identity {
            name: self.name.clone(),
            uid: self.uid.as_raw(),
            home: self.home.to_string_lossy().into_owned(),
            shell: self.shell.to_string_lossy().into_owned(),
        }
    }
}

/// What the environment of a login needs to know about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    name: String,
    uid: u32,
    home: String,
    shell: String,
}

fn lookup_user(name: &str) -> Result<RunAs, CommandError> {
    let user = User::from_name(name)
        .map_err(|e| CommandError::Io {
            context: format!("cannot look up user {name}"),
            source: e.into(),
        })?
        .ok_or_else(|| CommandError::NoSuchUser(name.to_string()))?;
    let cname = CString::new(user.name.as_bytes())
        .map_err(|_| CommandError::NoSuchUser(name.to_string()))?;
    let groups = nix::unistd::getgrouplist(&cname, user.gid).map_err(|e| CommandError::Io {
        context: format!("cannot list the groups of user {name}"),
        source: e.into(),
    })?;
    Ok(RunAs {
        name: user.name,
        uid: user.uid,
        gid: user.gid,
        groups,
        home: user.dir,
        shell: user.shell,
    })
}

/// The daemon's effective gid and supplementary groups.
fn current_groups() -> Vec<Gid> {
    let mut groups = nix::unistd::getgroups().unwrap_or_default();
    groups.push(nix::unistd::getegid());
    groups
}

/// Variables that belong to the daemon's relationship with systemd, never to a child.
fn is_reserved(key: &str) -> bool {
    key == "NOTIFY_SOCKET"
        || key.starts_with("WATCHDOG_")
        || matches!(key, "LISTEN_FDS" | "LISTEN_PID" | "LISTEN_FDNAMES")
}

/// The child's whole environment, in order, one entry per key.
fn child_env(
    user: Option<&Identity>,
    extra: &[(String, String)],
) -> io::Result<Vec<(String, String)>> {
    fn put(env: &mut Vec<(String, String)>, key: &str, value: &str) {
        match env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => env.push((key.to_string(), value.to_string())),
        }
    }
    let mut env: Vec<(String, String)> = Vec::new();
    match user {
        None => {
            put(&mut env, "PATH", ROOT_PATH);
            put(&mut env, "HOME", "/root");
            put(&mut env, "USER", "root");
            put(&mut env, "LOGNAME", "root");
        }
        Some(u) => {
            put(
                &mut env,
                "PATH",
                if u.uid == 0 { ROOT_PATH } else { USER_PATH },
            );
            put(&mut env, "HOME", &u.home);
            put(&mut env, "USER", &u.name);
            put(&mut env, "LOGNAME", &u.name);
            put(&mut env, "SHELL", &u.shell);
        }
    }
    put(&mut env, "LANG", LANG);
    for (key, value) in extra {
        if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid environment variable {key:?}"),
            ));
        }
        if is_reserved(key) {
            tracing::warn!(key = %key, "not passing a systemd notification variable to a command");
            continue;
        }
        put(&mut env, key, value);
    }
    Ok(env)
}

/// Where root would find `program` (in [`ROOT_PATH`]), if anywhere.
pub fn find_for_root(program: &str) -> Option<PathBuf> {
    find_program(program, ROOT_PATH, |p| is_executable_by(p, 0, &[])).ok()
}

/// Where `program` is: an absolute path as is; a bare name in the directories of `path_var`
/// (empty and relative entries skipped), the first that `can_exec` accepts.
fn find_program(
    program: &str,
    path_var: &str,
    can_exec: impl Fn(&Path) -> bool,
) -> Result<PathBuf, CommandError> {
    if program.starts_with('/') {
        return Ok(PathBuf::from(program));
    }
    if program.is_empty() || program.contains('/') || program.contains('\0') {
        return Err(CommandError::Spawn {
            program: program.to_string(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "a program is a bare name looked up in PATH or an absolute path",
            ),
        });
    }
    path_var
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| can_exec(candidate))
        .ok_or_else(|| CommandError::NotFound {
            program: program.to_string(),
            path: path_var.to_string(),
        })
}

/// Whether `path` is a regular file that `uid` (member of `gids`) may execute, by its mode bits
/// (ACLs are not considered; exec itself has the last word).
fn is_executable_by(path: &Path, uid: u32, gids: &[Gid]) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => mode_allows_exec(
            meta.mode(),
            meta.uid(),
            meta.gid(),
            uid,
            &gids.iter().map(|g| g.as_raw()).collect::<Vec<_>>(),
        ),
        _ => false,
    }
}

/// The execute permission check of the kernel for one mode: root needs any x bit; others the
/// owner's, else the group's, else everyone's.
fn mode_allows_exec(mode: u32, file_uid: u32, file_gid: u32, uid: u32, gids: &[u32]) -> bool {
    if uid == 0 {
        mode & 0o111 != 0
    } else if uid == file_uid {
        mode & 0o100 != 0
    } else if gids.contains(&file_gid) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

fn signal_group(pgid: Pid, signal: Signal) {
    match killpg(pgid, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => {
            tracing::warn!(pgid = pgid.as_raw(), ?signal, error = %e, "cannot signal process group")
        }
    }
}

/// Captured output of one stream, readable while it is still being written.
#[derive(Default)]
struct Sink {
    data: Mutex<Vec<u8>>,
    /// Set once we stop caring: the reader keeps draining the pipe but keeps nothing.
    abandoned: AtomicBool,
}

impl Sink {
    fn push(&self, bytes: &[u8]) {
        if !self.abandoned.load(Ordering::Relaxed) {
            self.data
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
        }
    }

    /// What was captured (as lossy UTF-8); anything arriving later is dropped.
    fn take(&self) -> String {
        self.abandoned.store(true, Ordering::Relaxed);
        let data = std::mem::take(&mut *self.data.lock().unwrap_or_else(|e| e.into_inner()));
        String::from_utf8_lossy(&data).into_owned()
    }
}

/// What a watcher thread reports.
enum ChildEvent {
    Exited(io::Result<ExitStatus>, Instant),
    Eof,
}

fn spawn_reader(
    name: &str,
    mut pipe: impl Read + Send + 'static,
    sink: Arc<Sink>,
    tx: mpsc::Sender<ChildEvent>,
) -> io::Result<()> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => sink.push(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = tx.send(ChildEvent::Eof);
        })
        .map(drop)
}

/// What the watcher threads have reported so far.
struct ChildProgress {
    exited: Option<(io::Result<ExitStatus>, Instant)>,
    exited_at: Option<Instant>,
    open_streams: usize,
    disconnected: bool,
}

impl Default for ChildProgress {
    fn default() -> Self {
        ChildProgress {
            exited: None,
            exited_at: None,
            open_streams: 2,
            disconnected: false,
        }
    }
}

impl ChildProgress {
    fn done(&self) -> bool {
        self.disconnected || (self.exited_at.is_some() && self.open_streams == 0)
    }

    /// Receives events until done or until the deadline `limit` computes from what is known.
    fn pump(&mut self, rx: &Receiver<ChildEvent>, limit: impl Fn(&ChildProgress) -> Instant) {
        while !self.done() {
            let now = Instant::now();
            let until = limit(self);
            if now >= until {
                return;
            }
            match rx.recv_timeout(until - now) {
                Ok(ChildEvent::Exited(status, at)) => {
                    self.exited = Some((status, at));
                    self.exited_at = Some(at);
                }
                Ok(ChildEvent::Eof) => self.open_streams = self.open_streams.saturating_sub(1),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.disconnected = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_secret_longest_first() {
        let line = "mongo mongodb://cps:s3cret@h/db --password s3cret";
        assert_eq!(
            redact(line, &["s3cret", ""]),
            "mongo mongodb://cps:***@h/db --password ***"
        );
        assert_eq!(redact("pw=abcdef", &["abc", "abcdef"]), "pw=***");
        assert_eq!(redact("nothing here", &[]), "nothing here");
        assert_eq!(redact("x", &[""]), "x");
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn root_environment() {
        let env = child_env(None, &[]).unwrap();
        assert_eq!(get(&env, "PATH"), Some(ROOT_PATH));
        assert_eq!(get(&env, "HOME"), Some("/root"));
        assert_eq!(get(&env, "LANG"), Some("C.UTF-8"));
        assert_eq!(get(&env, "SHELL"), None);
    }

    #[test]
    fn login_environment_of_a_user() {
        let canopsis = Identity {
            name: "canopsis".into(),
            uid: 990,
            home: "/opt/canopsis".into(),
            shell: "/bin/bash".into(),
        };
        let env = child_env(Some(&canopsis), &[]).unwrap();
        assert_eq!(get(&env, "PATH"), Some(USER_PATH));
        assert!(USER_PATH.starts_with("/opt/canopsis/bin:"));
        assert_eq!(get(&env, "HOME"), Some("/opt/canopsis"));
        assert_eq!(get(&env, "USER"), Some("canopsis"));
        assert_eq!(get(&env, "LOGNAME"), Some("canopsis"));
        assert_eq!(get(&env, "SHELL"), Some("/bin/bash"));
        assert_eq!(get(&env, "LANG"), Some("C.UTF-8"));
        let root = Identity {
            name: "root".into(),
            uid: 0,
            home: "/root".into(),
            shell: "/bin/bash".into(),
        };
        assert_eq!(
            get(&child_env(Some(&root), &[]).unwrap(), "PATH"),
            Some(ROOT_PATH)
        );
    }

    #[test]
    fn extra_env_goes_on_top_without_systemd_variables() {
        let extra = vec![
            (
                "CPS_API_URL".to_string(),
                "http://localhost:8082".to_string(),
            ),
            ("LANG".to_string(), "fr_FR.UTF-8".to_string()),
            (
                "NOTIFY_SOCKET".to_string(),
                "/run/systemd/notify".to_string(),
            ),
            ("WATCHDOG_USEC".to_string(), "1000".to_string()),
            ("LISTEN_FDS".to_string(), "3".to_string()),
            ("CPS_API_URL".to_string(), "http://other:8082".to_string()),
        ];
        let env = child_env(None, &extra).unwrap();
        assert_eq!(get(&env, "CPS_API_URL"), Some("http://other:8082"));
        assert_eq!(get(&env, "LANG"), Some("fr_FR.UTF-8"));
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDS"] {
            assert_eq!(get(&env, key), None, "{key}");
        }
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "one entry per key: {keys:?}");
    }

    #[test]
    fn extra_env_with_invalid_names_is_refused() {
        for key in ["", "A=B", "A\0"] {
            let extra = vec![(key.to_string(), "x".to_string())];
            assert!(child_env(None, &extra).is_err(), "{key:?}");
        }
    }

    #[test]
    fn program_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("tool"), "").unwrap();
        let path_var = format!("relative:{}::{}", a.display(), b.display());
        let exists = |p: &Path| p.is_file();
        assert_eq!(
            find_program("tool", &path_var, exists).unwrap(),
            b.join("tool")
        );
        // The first directory that has it wins.
        std::fs::write(a.join("tool"), "").unwrap();
        assert_eq!(
            find_program("tool", &path_var, exists).unwrap(),
            a.join("tool")
        );
        match find_program("missing", &path_var, exists) {
            Err(CommandError::NotFound { program, path }) => {
                assert_eq!(program, "missing");
                assert_eq!(path, path_var);
            }
            other => panic!("{other:?}"),
        }
        // Absolute paths are taken as they are; relative ones with a slash are refused.
        assert_eq!(
            find_program("/x/y", "", |_| false).unwrap(),
            PathBuf::from("/x/y")
        );
        assert!(matches!(
            find_program("bin/tool", &path_var, exists),
            Err(CommandError::Spawn { .. })
        ));
        assert!(matches!(
            find_program("", &path_var, exists),
            Err(CommandError::Spawn { .. })
        ));
    }

    #[test]
    fn execute_permission_bits() {
        // root: any x bit.
        assert!(mode_allows_exec(0o100700, 5, 5, 0, &[0]));
        assert!(mode_allows_exec(0o100001, 5, 5, 0, &[0]));
        assert!(!mode_allows_exec(0o100666, 5, 5, 0, &[0]));
        // owner: only the owner bits count, even if others could.
        assert!(mode_allows_exec(0o100700, 7, 7, 7, &[7]));
        assert!(!mode_allows_exec(0o100077, 7, 7, 7, &[7]));
        // group member, then others.
        assert!(mode_allows_exec(0o100750, 0, 9, 7, &[7, 9]));
        assert!(!mode_allows_exec(0o100705, 0, 9, 7, &[7, 9]));
        assert!(mode_allows_exec(0o100755, 0, 0, 65534, &[65534]));
        assert!(!mode_allows_exec(0o100750, 0, 0, 65534, &[65534]));
    }

    #[test]
    fn errors_read_well() {
        let e = CommandError::NotFound {
            program: "canopsis-reconfigure".into(),
            path: USER_PATH.into(),
        };
        assert_eq!(
            e.to_string(),
            format!("program \"canopsis-reconfigure\" not found (or not executable) in PATH {USER_PATH}")
        );
        let e = CommandError::TimedOut {
            program: "dnf".into(),
            after: Duration::from_secs(3),
            stdout: "lots".into(),
            stderr: String::new(),
        };
        assert_eq!(e.to_string(), "dnf timed out after 3s and was killed");
    }
}
