//! The log: natively to journald when systemd connected our stderr to it (PRIORITY per level,
//! the run's and the step's fields on every line, so that `journalctl -p err` finds a failure
//! and `journalctl UPGRADE_RUN_ID=...` one run), else plain lines on stderr.

use std::os::unix::fs::MetadataExt;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The prefix of our own journal fields: UPGRADE_RUN_ID, UPGRADE_STEP, UPGRADE_VERSION...
const FIELD_PREFIX: &str = "UPGRADE";

/// Where the log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// journald's native protocol.
    Journald,
    /// Lines on stderr.
    Stderr,
}

/// Sets the log up: `-q` warnings and errors only, `-v` debug, `-vv` trace;
/// `CANOPSIS_UPGRADE_LOG` (an EnvFilter directive such as `debug` or `canopsis_upgrade=trace`)
/// wins when set.
pub fn init(verbose: u8, quiet: bool) -> LogTarget {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("CANOPSIS_UPGRADE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(level))
        // lapin's I/O loop warns of "Failed resolving promise" when a connection ends with
        // the process (a stop): nothing the admin can act on.
        .add_directive("lapin::io_loop=error".parse().expect("a valid directive"));
    if stderr_is_journal() {
        if let Ok(layer) = tracing_journald::layer() {
            let layer = layer
                .with_field_prefix(Some(FIELD_PREFIX.into()))
                .with_syslog_identifier("canopsis-upgrade".into());
            if tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .try_init()
                .is_ok()
            {
                return LogTarget::Journald;
            }
            return LogTarget::Stderr;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
    LogTarget::Stderr
}

/// Whether stderr is the journal stream systemd set up (`JOURNAL_STREAM=dev:inode` of our own
/// stderr, as sd_journal_stream_fd documents), not one inherited by a child shell.
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}
