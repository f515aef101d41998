//! The exit status of every command, documented in `--help`, the man page and the README.

use std::process::ExitCode;

/// What the process's exit status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done: upgraded, nothing to do, stopped cleanly (a new `run` resumes), plan or check
    /// without a finding.
    Success = 0,
    /// The upgrade failed, or a command failed; `check` found script errors; `monitor
    /// --until-normal` found the queues stuck.
    Failure = 1,
    /// The command line is wrong (clap's own status).
    Usage = 2,
    /// The configuration cannot be used (the message names file:line:column).
    Config = 3,
    /// The scripts refuse this upgrade (`plan` shows why; `run` refuses before READY).
    NotRunnable = 4,
    /// Another run holds the lock.
    Locked = 5,
}

impl ExitStatus {
    /// The status of a command that ended with `error`.
    pub fn of_error(error: &anyhow::Error) -> Self {
        for cause in error.chain() {
            if cause.is::<crate::config::ConfigError>() {
                return Self::Config;
            }
            if cause.is::<crate::upgrade::Refused>() {
                return Self::NotRunnable;
            }
            if let Some(crate::lock::LockError::Held { .. }) = cause.downcast_ref() {
                return Self::Locked;
            }
        }
        Self::Failure
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}

/// The table for `--help` and the man page.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  done: upgraded, nothing to do, stopped cleanly (run again to resume), or no finding
  1  failure: the upgrade or the command failed; check found script errors; monitor
     --until-normal found the queues stuck
  2  usage: the command line is wrong
  3  configuration: it cannot be used (the message names file:line:column)
  4  not runnable: the scripts refuse this upgrade (plan shows why)
  5  locked: another run holds the lock";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_status_through_context() {
        let config: anyhow::Error =
            crate::config::Settings::from_sources(&[crate::config::Source {
                file: "x.toml".into(),
                text: "[nope]\n".into(),
            }])
            .unwrap_err()
            .into();
        assert_eq!(
            ExitStatus::of_error(&config.context("loading")),
            ExitStatus::Config
        );
        let refused = anyhow::Error::from(crate::upgrade::Refused("4.0.0 needs 3.48.0".into()));
        assert_eq!(ExitStatus::of_error(&refused), ExitStatus::NotRunnable);
        let held = anyhow::Error::from(crate::lock::LockError::Held {
            path: "/run/x.lock".into(),
            pid: "12".into(),
        });
        assert_eq!(ExitStatus::of_error(&held), ExitStatus::Locked);
        assert_eq!(
            ExitStatus::of_error(&anyhow::anyhow!("boom")),
            ExitStatus::Failure
        );
        assert_eq!(ExitStatus::NotRunnable as u8, 4);
    }
}
