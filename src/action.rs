//! Every side effect of a procedure is an [`Action`] value, run by an [`Executor`].
//!
//! Scripts never touch the machine themselves: the script API turns each call into an action
//! (after the sandbox has checked it) and hands it to the executor of the run. `plan` uses the
//! dry-run executor, which records; the live run executes.

use std::path::PathBuf;

use serde::Serialize;

use crate::support::redact::redact_secrets;

/// One side effect, with everything needed to perform it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Start a systemd unit and wait for its job.
    UnitStart {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
    },
    /// Stop a systemd unit and wait for its job.
    UnitStop {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
    },
    /// Restart a systemd unit and wait for its job.
    UnitRestart {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
    },
    /// Enable a unit file.
    UnitEnable {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
    },
    /// Disable a unit file (a unit that no longer exists is reported and skipped).
    UnitDisable {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
    },
    /// Reload systemd's unit files.
    DaemonReload,
    /// Restart every Canopsis unit at once and wait until all are active again.
    RestartCanopsis,
    /// Restart the given units at once (like `systemctl restart a b c`) and wait until all are
    /// active again; units that do not exist are reported and skipped.
    RestartUnits {
        /// The units, with their types.
        units: Vec<String>,
    },
    /// Stop every Canopsis unit.
    StopCanopsis,
    /// Start every Canopsis unit.
    StartCanopsis,
    /// Run an allow-listed program, without a shell.
    Command(CommandSpec),
    /// Append `line` to a file unless a line equal to it (or starting with `prefix`) exists.
    EnsureLine {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The line, without its newline (secrets redacted when shown).
        #[serde(serialize_with = "crate::support::redact::serialize_redacted")]
        line: String,
        /// What a line starts with.
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Write a whole file (atomically).
    WriteFile {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The text.
        text: String,
    },
    /// Copy a file (atomically), keeping the source's permissions.
    CopyFile {
        /// The source (or the text replaced).
        from: PathBuf,
        /// The destination (or the replacement).
        to: PathBuf,
    },
    /// Point `link` at `target`, replacing what `link` was (like `ln -sfn`).
    Symlink {
        /// The link to (re)create.
        link: PathBuf,
        /// What it points at.
        target: PathBuf,
    },
    /// Write a drop-in `/etc/systemd/system/<unit>.d/<name>.conf` (then reload systemd).
    UnitDropin {
        /// The unit, with its type (`canopsis-api.service`).
        unit: String,
        /// The drop-in's name, without `.conf`.
        name: String,
        /// The text.
        text: String,
    },
    /// Remove every line starting with `prefix`.
    RemoveLines {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// What a line starts with.
        prefix: String,
    },
    /// Replace every occurrence of a text in a file.
    ReplaceInFile {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The source (or the text replaced).
        from: String,
        /// The destination (or the replacement).
        to: String,
    },
    /// Set a key of a TOML file, keeping its comments and layout.
    TomlSet {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The key (dotted for TOML).
        key: String,
        /// The value.
        value: serde_json::Value,
    },
    /// Remove a key of a TOML file, keeping its comments and layout.
    TomlRemove {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The key (dotted for TOML).
        key: String,
    },
    /// Set `KEY=value` in an environment file (`.env`, go-engines-vars.conf).
    EnvSet {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
        /// The key (dotted for TOML).
        key: String,
        /// The value (secrets redacted when shown).
        #[serde(serialize_with = "crate::support::redact::serialize_redacted")]
        value: String,
    },
    /// Run an SQL file with psql against `CPS_POSTGRES_URL`.
    PsqlFile {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
    },
    /// Run a JavaScript file with the MongoDB shell against `CPS_MONGO_URL` (on a compose
    /// install, the shell of the `mongodb` service, the file on its standard input).
    MongoFile {
        /// The file (its real path, checked by the sandbox).
        path: PathBuf,
    },
    /// Run every `*.js` below a directory, in path order, like `mongo_file` each (the
    /// directory is listed when the action runs: its files may come with the new packages).
    MongoScripts {
        /// The directory.
        dir: PathBuf,
    },
    /// Run MongoDB shell code (`--eval`) against `CPS_MONGO_URL` (compose: in the `mongodb`
    /// service).
    MongoEval {
        /// The code.
        code: String,
    },
    /// Run SQL text with psql (`-c`) against `CPS_POSTGRES_URL` (compose: in the
    /// `timescaledb` service).
    PsqlEval {
        /// The SQL.
        sql: String,
    },
    /// Empty the Redis database of `CPS_REDIS_URL`.
    RedisFlushdb,
    /// Empty every Redis database of the server of `CPS_REDIS_URL` (`flushall`).
    RedisFlushall,
    /// Pause (the sandbox's `sleep`).
    Wait {
        /// How long, in seconds.
        seconds: f64,
    },
    /// A step a person must do; the run refuses until it is acknowledged.
    Manual {
        /// The text.
        text: String,
    },
    /// This upgrade cannot be done by the tool (why, and what to do instead): `plan` shows it,
    /// `run` refuses before READY.
    Refusal {
        /// The text.
        text: String,
    },
}

/// A program to run, without a shell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandSpec {
    /// The program, as allow-listed (a name looked up in PATH, or an absolute path).
    pub program: String,
    /// Its arguments, each passed as is.
    pub args: Vec<String>,
    /// Run as this user (with its login environment), not as root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Load the environment of go-engines-vars.conf.
    pub engine_env: bool,
    /// More environment variables (on top of the engines' ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Kill it after this many seconds.
    pub timeout_secs: u64,
    /// A non-zero exit is returned to the script instead of failing the step.
    pub allow_failure: bool,
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code.
    pub code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The result of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done, nothing to report.
    Done,
    /// A command's result.
    Command(CommandOutput),
    /// Not done, harmlessly (a unit that no longer exists); the reason is reported.
    Skipped(String),
}

/// A read-only question about the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Is this unit active?
    UnitActive(String),
    /// Is this unit loaded or does its unit file exist?
    UnitExists(String),
    /// Does this file exist?
    FileExists(PathBuf),
    /// The text of this file.
    ReadFile(PathBuf),
    /// The regular files below this directory (recursively) whose names end with a suffix.
    ListFiles {
        /// The directory.
        dir: PathBuf,
        /// How the names end.
        suffix: String,
    },
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes or no.
    Bool(bool),
    /// A text (`None` when the file does not exist).
    Text(Option<String>),
    /// Paths, sorted.
    Paths(Vec<PathBuf>),
}

/// Why an action or a query failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(pub String);

/// Performs actions and answers queries: live, or dry-run.
pub trait Executor: Send + Sync {
    /// Performs one action.
    fn execute(&self, action: &Action) -> Result<Outcome, ExecError>;
    /// Answers one query.
    fn query(&self, query: &Query) -> Result<Answer, ExecError>;
    /// Whether actions are only recorded.
    fn is_dry_run(&self) -> bool;
}

impl Action {
    /// The name of its kind, as in the plan's `action` field (`unit_restart`, `command`...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::UnitStart { .. } => "unit_start",
            Action::UnitStop { .. } => "unit_stop",
            Action::UnitRestart { .. } => "unit_restart",
            Action::UnitEnable { .. } => "unit_enable",
            Action::UnitDisable { .. } => "unit_disable",
            Action::DaemonReload => "daemon_reload",
            Action::RestartCanopsis => "restart_canopsis",
            Action::RestartUnits { .. } => "restart_units",
            Action::StopCanopsis => "stop_canopsis",
            Action::StartCanopsis => "start_canopsis",
            Action::Command(_) => "command",
            Action::EnsureLine { .. } => "ensure_line",
            Action::WriteFile { .. } => "write_file",
            Action::CopyFile { .. } => "copy_file",
            Action::Symlink { .. } => "symlink",
            Action::UnitDropin { .. } => "unit_dropin",
            Action::RemoveLines { .. } => "remove_lines",
            Action::ReplaceInFile { .. } => "replace_in_file",
            Action::TomlSet { .. } => "toml_set",
            Action::TomlRemove { .. } => "toml_remove",
            Action::EnvSet { .. } => "env_set",
            Action::PsqlFile { .. } => "psql_file",
            Action::MongoFile { .. } => "mongo_file",
            Action::MongoScripts { .. } => "mongo_scripts",
            Action::MongoEval { .. } => "mongo_eval",
            Action::PsqlEval { .. } => "psql_eval",
            Action::RedisFlushdb => "redis_flushdb",
            Action::RedisFlushall => "redis_flushall",
            Action::Wait { .. } => "wait",
            Action::Manual { .. } => "manual",
            Action::Refusal { .. } => "refusal",
        }
    }

    /// What the window guard assumes an action of this kind takes, when its step does not say.
    pub fn default_estimate(&self) -> std::time::Duration {
        use std::time::Duration;
        match self {
            Action::Command(_) => Duration::from_secs(300),
            Action::MongoScripts { .. } => Duration::from_secs(600),
            Action::PsqlFile { .. }
            | Action::MongoFile { .. }
            | Action::PsqlEval { .. }
            | Action::MongoEval { .. } => Duration::from_secs(300),
            Action::RestartCanopsis | Action::StartCanopsis | Action::RestartUnits { .. } => {
                Duration::from_secs(120)
            }
            Action::StopCanopsis => Duration::from_secs(60),
            Action::UnitStart { .. } | Action::UnitStop { .. } | Action::UnitRestart { .. } => {
                Duration::from_secs(30)
            }
            Action::RedisFlushdb | Action::RedisFlushall => Duration::from_secs(30),
            Action::DaemonReload
            | Action::UnitEnable { .. }
            | Action::UnitDisable { .. }
            | Action::UnitDropin { .. } => Duration::from_secs(5),
            Action::Wait { seconds } => Duration::from_secs_f64(*seconds),
            Action::Manual { .. } | Action::Refusal { .. } => Duration::ZERO,
            _ => Duration::from_secs(1),
        }
    }

    /// A one-line human description, for plans, logs and STATUS.
    pub fn describe(&self) -> String {
        let p = |path: &PathBuf| path.display().to_string();
        match self {
            Action::UnitStart { unit } => format!("start {unit}"),
            Action::UnitStop { unit } => format!("stop {unit}"),
            Action::UnitRestart { unit } => format!("restart {unit}"),
            Action::UnitEnable { unit } => format!("enable {unit}"),
            Action::UnitDisable { unit } => format!("disable {unit}"),
            Action::DaemonReload => "reload systemd unit files".into(),
            Action::RestartCanopsis => "restart canopsis".into(),
            Action::RestartUnits { units } => format!("restart {}", units.join(" ")),
            Action::StopCanopsis => "stop canopsis".into(),
            Action::StartCanopsis => "start canopsis".into(),
            Action::Command(spec) => spec.describe(),
            Action::EnsureLine { path, line, .. } => {
                let line = redact_secrets(line);
                format!("ensure line {line:?} in {}", p(path))
            }
            Action::WriteFile { path, text } => format!("write {} ({} bytes)", p(path), text.len()),
            Action::CopyFile { from, to } => format!("copy {} to {}", p(from), p(to)),
            Action::Symlink { link, target } => format!("link {} -> {}", p(link), p(target)),
            Action::UnitDropin { unit, name, text } => {
                format!("write drop-in {unit}.d/{name}.conf ({} bytes)", text.len())
            }
            Action::RemoveLines { path, prefix } => {
                format!("remove lines starting with {prefix:?} from {}", p(path))
            }
            Action::ReplaceInFile { path, from, to } => {
                format!("replace {from:?} with {to:?} in {}", p(path))
            }
            Action::TomlSet { path, key, value } => format!("set {key} = {value} in {}", p(path)),
            Action::TomlRemove { path, key } => format!("remove {key} from {}", p(path)),
            Action::EnvSet { path, key, value } => {
                let shown = redact_secrets(&format!("{key}={value}"));
                format!("set {shown} in {}", p(path))
            }
            Action::PsqlFile { path } => format!("run SQL file {} on CPS_POSTGRES_URL", p(path)),
            Action::MongoFile { path } => {
                format!("run MongoDB script {} on CPS_MONGO_URL", p(path))
            }
            Action::MongoScripts { dir } => {
                format!(
                    "run every *.js below {} in name order on CPS_MONGO_URL",
                    p(dir)
                )
            }
            Action::MongoEval { code } => {
                format!("run MongoDB code on CPS_MONGO_URL: {}", one_line(code))
            }
            Action::PsqlEval { sql } => format!("run SQL on CPS_POSTGRES_URL: {}", one_line(sql)),
            Action::RedisFlushdb => "flush the Redis database of CPS_REDIS_URL".into(),
            Action::RedisFlushall => {
                "flush every Redis database of the server of CPS_REDIS_URL (flushall)".into()
            }
            Action::Wait { seconds } => format!("wait {seconds} s"),
            Action::Manual { text } => format!("MANUAL: {text}"),
            Action::Refusal { text } => format!("CANNOT RUN: {text}"),
        }
    }
}

impl CommandSpec {
    /// The command line as a person would type it, with who runs it and in what environment.
    fn describe(&self) -> String {
        let mut text = self.program.clone();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&shell_quote(arg));
        }
        if let Some(user) = &self.user {
            text.push_str(&format!(" (as {user})"));
        }
        if self.engine_env {
            text.push_str(" (with go-engines-vars.conf)");
        }
        for (key, value) in &self.env {
            text.push_str(&format!(" ({key}={})", shell_quote(value)));
        }
        text
    }
}

/// Code or SQL on one line for a plan: whitespace runs collapsed.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Quotes an argument for display only (commands never go through a shell).
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=./:,@%+".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_serialized_action_name() {
        let actions = [
            Action::DaemonReload,
            Action::RestartCanopsis,
            Action::Wait { seconds: 1.0 },
            Action::MongoScripts { dir: "/x".into() },
            Action::Manual { text: "x".into() },
            Action::RestartUnits {
                units: vec!["a.service".into()],
            },
            Action::MongoEval {
                code: "db.x.find()".into(),
            },
            Action::PsqlEval {
                sql: "SELECT 1".into(),
            },
            Action::RedisFlushall,
        ];
        for action in actions {
            assert_eq!(
                serde_json::to_value(&action).unwrap()["action"],
                action.kind()
            );
        }
    }

    #[test]
    fn serializes_with_an_action_field() {
        let action = Action::EnsureLine {
            path: "/opt/canopsis/etc/webserver.conf".into(),
            line: "a=1".into(),
            prefix: None,
        };
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(json["action"], "ensure_line");
        assert_eq!(json["path"], "/opt/canopsis/etc/webserver.conf");
        assert_eq!(
            serde_json::to_value(Action::DaemonReload).unwrap()["action"],
            "daemon_reload"
        );
    }

    #[test]
    fn describes_inline_code_on_one_line() {
        let action = Action::MongoEval {
            code: "db.a.find().forEach(function(d) {\n    print(d);\n});".into(),
        };
        assert_eq!(
            action.describe(),
            "run MongoDB code on CPS_MONGO_URL: db.a.find().forEach(function(d) { print(d); });"
        );
    }

    #[test]
    fn describes_commands_quoted_for_reading() {
        let action = Action::Command(CommandSpec {
            program: "yum".into(),
            args: vec!["--disablerepo=*".into(), "it's".into()],
            user: Some("canopsis".into()),
            engine_env: false,
            env: vec![],
            cwd: None,
            timeout_secs: 60,
            allow_failure: false,
        });
        assert_eq!(
            action.describe(),
            r"yum '--disablerepo=*' 'it'\''s' (as canopsis)"
        );
    }
}
