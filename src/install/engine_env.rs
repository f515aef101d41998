//! The engines' environment file (go-engines-vars.conf, or a compose `.env`): read the way
//! systemd reads it for the engines, by one reader for everyone who needs a variable of it
//! (the executor's commands and database shells, the broker connection).
//!
//! The file holds passwords (CPS_AMQP_URL, CPS_MONGO_URL...): no error and no log line shows
//! a value or a line of it. What systemd would skip or misread is logged as a warning, once
//! per process for each line and complaint, however often the file is read again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::systemd::envfile::{self, EnvWarning};

/// The variables systemd would give the engines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEnv {
    path: PathBuf,
    /// One entry per name, at the place of its first assignment, with its last value.
    vars: Vec<(String, String)>,
}

/// Why the engines' environment could not be had.
#[derive(Debug, thiserror::Error)]
pub enum EngineEnvError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A variable that the file does not set.
    #[error("{name} is not set in {}", path.display())]
    Missing {
        /// The variable.
        name: String,
        /// The file.
        path: PathBuf,
    },
}

impl EngineEnv {
    /// Reads and parses the file now (it may have been edited since the last read), logging
    /// what systemd would complain about.
    pub fn read(path: &Path) -> Result<EngineEnv, EngineEnvError> {
        let text = std::fs::read_to_string(path).map_err(|source| EngineEnvError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::parse(path, &text))
    }

    /// The environment of `text`, as if read from `path`.
    fn parse(path: &Path, text: &str) -> EngineEnv {
        let parsed = envfile::parse(text);
        for warning in &parsed.warnings {
            warn_once(path, warning);
        }
        EngineEnv {
            path: path.to_owned(),
            vars: parsed.resolved(),
        }
    }

    /// The value of a variable, if the file sets it (possibly to the empty string).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a variable the file must set.
    pub fn require(&self, name: &str) -> Result<&str, EngineEnvError> {
        self.get(name).ok_or_else(|| EngineEnvError::Missing {
            name: name.to_owned(),
            path: self.path.clone(),
        })
    }

    /// Every variable, in file order, one entry per name.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Logs a warning of the file, without its text, unless this process already did.
fn warn_once(path: &Path, warning: &EnvWarning) {
    static LOGGED: Mutex<Option<HashSet<(PathBuf, usize, String)>>> = Mutex::new(None);
    let message = warning.redacted();
    let first = LOGGED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert((path.to_owned(), warning.line, message.to_owned()));
    if first {
        tracing::warn!("{}:{}: {message}", path.display(), warning.line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_as_systemd_gives_them() {
        let env = EngineEnv::parse(
            Path::new("/x/go-engines-vars.conf"),
            "CPS_AMQP_URL=\"amqp://u:secret@h:5672/canopsis\"\nA=1\nA=2\nEMPTY=\nexport B=3\n",
        );
        assert_eq!(
            env.get("CPS_AMQP_URL"),
            Some("amqp://u:secret@h:5672/canopsis")
        );
        assert_eq!(env.get("A"), Some("2"));
        assert_eq!(env.get("EMPTY"), Some(""));
        assert_eq!(env.get("B"), None);
        let names: Vec<&str> = env.vars().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["CPS_AMQP_URL", "A", "EMPTY"]);
    }

    #[test]
    fn errors_name_the_file_and_the_variable_never_a_value() {
        let env = EngineEnv::parse(
            Path::new("/x/vars.conf"),
            "CPS_MONGO_URL=mongodb://u:pw@h\n",
        );
        let err = env.require("CPS_REDIS_URL").unwrap_err();
        assert_eq!(err.to_string(), "CPS_REDIS_URL is not set in /x/vars.conf");
        assert_eq!(env.require("CPS_MONGO_URL").unwrap(), "mongodb://u:pw@h");
        let err = EngineEnv::read(Path::new("/nonexistent/vars.conf")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/vars.conf: "),
            "{err}"
        );
    }

    #[test]
    fn warnings_for_logs_quote_nothing_of_the_file() {
        let parsed = envfile::parse("CPS_AMQP_URL amqp://u:secret@h\n1PW=secret\n");
        assert_eq!(parsed.warnings.len(), 2);
        for warning in &parsed.warnings {
            assert!(warning.message.contains("secret") || warning.message.contains("1PW"));
            assert!(
                !warning.redacted().contains("secret"),
                "{}",
                warning.redacted()
            );
            assert!(
                !warning.redacted().contains("1PW"),
                "{}",
                warning.redacted()
            );
        }
    }
}
