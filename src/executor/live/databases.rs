//! Database actions: psql, the MongoDB shell and redis-cli on the URLs of the engines'
//! environment (CPS_POSTGRES_URL, CPS_MONGO_URL, CPS_REDIS_URL), on the host (packages) or in
//! the database's service container (compose). Passwords go through the environment, never on
//! a command line or in a log.

use std::path::Path;
use std::time::Duration;

use super::{fail, not_of_family, LiveExecutor};
use crate::action::{Action, ExecError, Outcome};
use crate::executor::command::{self, CommandRequest};
use crate::install::InstallMethod;

/// The user the database shells run as on a package install: no write access to the system.
pub(crate) const DB_SHELL_USER: &str = "nobody";

impl LiveExecutor {
    /// Performs a database action.
    pub(super) fn database_action(&self, action: &Action) -> Result<Outcome, ExecError> {
        match action {
            Action::PsqlFile { path } => self.psql(path),
            Action::MongoFile { path } => self.mongo(path),
            Action::MongoScripts { dir } => self.mongo_scripts(dir),
            Action::MongoEval { code } => self.mongo_eval(code),
            Action::PsqlEval { sql } => self.psql_eval(sql),
            Action::RedisFlushdb => {
                self.redis(|t| vec!["-n".into(), t.db.to_string(), "flushdb".into()])
            }
            Action::RedisFlushall => self.redis(|_| vec!["flushall".into()]),
            other => Err(not_of_family("database", other)),
        }
    }

    /// Every `*.js` below `dir`, in name order, through the MongoDB shell; none is an error.
    fn mongo_scripts(&self, dir: &Path) -> Result<Outcome, ExecError> {
        let dir = self.recheck(dir)?;
        let files = crate::support::fs::list_files(&dir, ".js")
            .map_err(|e| fail(format!("cannot list {}: {e}", dir.display())))?;
        if files.is_empty() {
            return Err(fail(format!(
                "no *.js migration script below {}",
                dir.display()
            )));
        }
        for file in files {
            self.mongo(&file)?;
        }
        Ok(Outcome::Done)
    }

    /// The MongoDB shell: the notes use `mongo`; MongoDB 6 and later only ship mongosh.
    fn mongo_shell(&self) -> &'static str {
        if self.settings.install == InstallMethod::Packages
            && command::find_for_root("mongo").is_none()
        {
            "mongosh"
        } else {
            "mongo"
        }
    }

    /// A command in a database's service container (compose), or on the host (packages).
    fn in_service(&self, service: &str, shell_args: Vec<String>) -> CommandRequest {
        match self.settings.install {
            InstallMethod::Packages => {
                let mut request = CommandRequest::new(
                    &shell_args[0],
                    shell_args[1..].to_vec(),
                    Duration::from_secs(3600),
                );
                // A database shell needs no privilege of the host: it runs as nobody.
                request.user = Some(DB_SHELL_USER.to_owned());
                request
            }
            InstallMethod::Compose => {
                let mut args = vec![
                    "compose".to_owned(),
                    "exec".into(),
                    "-T".into(),
                    service.to_owned(),
                ];
                args.extend(shell_args);
                let mut request = CommandRequest::new("docker", args, Duration::from_secs(3600));
                request.cwd = self.settings.compose_dir.clone();
                request
            }
        }
    }

    fn mongo_eval(&self, code: &str) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_MONGO_URL")?;
        let mut args = self.mongo_args(&url);
        args.extend(["--eval".to_owned(), code.to_owned()]);
        let request = self.in_service("mongodb", args);
        tracing::info!(
            "{} --eval <{} bytes of code>",
            command::redact(&request.args[..request.args.len() - 2].join(" "), &[&url]),
            code.len()
        );
        self.run(&request, false).map(|_| Outcome::Done)
    }

    /// The MongoDB shell on CPS_MONGO_URL, without its rc file. The URL is still on its
    /// command line: the shells read no password from the environment, and the script file
    /// comes on stdin (see the report of issue 10).
    fn mongo_args(&self, url: &str) -> Vec<String> {
        vec![
            self.mongo_shell().to_owned(),
            "--quiet".into(),
            "--norc".into(),
            url.to_owned(),
        ]
    }

    /// psql on a file (stdin) or on SQL text (`-c`): on the host with the URL in libpq's
    /// environment, or in the timescaledb service with the URL as its argument.
    fn psql_with(&self, file: Option<&Path>, sql: Option<&str>) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_POSTGRES_URL")?;
        let mut args: Vec<String> = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(sql) = sql {
            args.push("-c".into());
            args.push(sql.to_owned());
        }
        let compose = self.settings.install == InstallMethod::Compose;
        let file = file.map(|f| self.recheck(f)).transpose()?;
        if compose {
            // The compose URL names the timescaledb service: only resolvable in its network.
            // Its password goes through PGPASSWORD (`-e NAME` passes it into the container).
            args.push(without_password(&url)?);
        }
        let mut request = self.in_service("timescaledb", args);
        // The daemon opens the file (psql, as nobody, may not be able to).
        request.stdin_file = file;
        if compose {
            request
                .args
                .splice(3..3, ["-e".to_owned(), "PGPASSWORD".to_owned()]);
            let password = postgres_env(&url)?
                .into_iter()
                .filter(|(k, _)| k == "PGPASSWORD");
            request.extra_env.extend(password);
        } else {
            // The URL (with its password) goes through the environment, never the command line.
            request.extra_env = postgres_env(&url)?;
        }
        self.run(&request, false).map(|_| Outcome::Done)
    }

    fn psql_eval(&self, sql: &str) -> Result<Outcome, ExecError> {
        self.psql_with(None, Some(sql))
    }

    fn mongo(&self, file: &Path) -> Result<Outcome, ExecError> {
        let url = self.engine_var("CPS_MONGO_URL")?;
        let file = self.recheck(file)?;
        let mut request = self.in_service("mongodb", self.mongo_args(&url));
        // The daemon opens the file (the shell, as nobody, may not be able to).
        request.stdin_file = Some(file.clone());
        tracing::info!(
            "{} < {}",
            command::redact(&request.args.join(" "), &[&url]),
            file.display()
        );
        self.run(&request, false).map(|_| Outcome::Done)
    }

    fn psql(&self, file: &Path) -> Result<Outcome, ExecError> {
        self.psql_with(Some(file), None)
    }

    /// `redis-cli ARGS` on the server of CPS_REDIS_URL: on the host, or in the redis service
    /// (compose). The password goes through REDISCLI_AUTH in the environment (`-e NAME` passes
    /// it into the container), never on a command line.
    fn redis(&self, args: impl FnOnce(&RedisTarget) -> Vec<String>) -> Result<Outcome, ExecError> {
        let target = RedisTarget::parse(&self.engine_var("CPS_REDIS_URL")?)?;
        let args = args(&target);
        let mut cli = vec!["redis-cli".to_owned()];
        if self.settings.install == InstallMethod::Packages {
            cli.extend([
                "-h".to_owned(),
                target.host.clone(),
                "-p".into(),
                target.port.to_string(),
            ]);
        }
        cli.extend(args);
        let mut request = match (self.settings.install, &target.password) {
            (InstallMethod::Compose, Some(_)) => {
                let mut args = vec![
                    "compose".to_owned(),
                    "exec".into(),
                    "-T".into(),
                    "-e".into(),
                    "REDISCLI_AUTH".into(),
                    "redis".into(),
                ];
                args.extend(cli);
                let mut request = CommandRequest::new("docker", args, Duration::from_secs(600));
                request.cwd = self.settings.compose_dir.clone();
                request
            }
            _ => self.in_service("redis", cli),
        };
        request.timeout = Duration::from_secs(600);
        if let Some(password) = target.password {
            request.extra_env.push(("REDISCLI_AUTH".into(), password));
        }
        self.run(&request, false).map(|_| Outcome::Done)
    }
}

/// The URL without its password (the user name stays).
fn without_password(url: &str) -> Result<String, ExecError> {
    let mut parsed =
        reqwest::Url::parse(url).map_err(|e| fail(format!("CPS_POSTGRES_URL: {e}")))?;
    let _ = parsed.set_password(None);
    Ok(parsed.to_string())
}

/// libpq's environment for a `postgresql://user:password@host:port/db` URL.
pub(crate) fn postgres_env(url: &str) -> Result<Vec<(String, String)>, ExecError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("CPS_POSTGRES_URL: {e}")))?;
    if !matches!(parsed.scheme(), "postgresql" | "postgres") {
        return Err(fail("CPS_POSTGRES_URL is not a postgresql:// URL"));
    }
    let mut env = vec![(
        "PGHOST".to_owned(),
        parsed.host_str().unwrap_or("localhost").to_owned(),
    )];
    env.push(("PGPORT".into(), parsed.port().unwrap_or(5432).to_string()));
    if !parsed.username().is_empty() {
        env.push(("PGUSER".into(), percent_decode(parsed.username())));
    }
    if let Some(password) = parsed.password() {
        env.push(("PGPASSWORD".into(), percent_decode(password)));
    }
    let db = parsed.path().trim_start_matches('/');
    if !db.is_empty() {
        env.push(("PGDATABASE".into(), percent_decode(db)));
    }
    for (key, value) in parsed.query_pairs() {
        if key == "sslmode" {
            env.push(("PGSSLMODE".into(), value.into_owned()));
        }
    }
    Ok(env)
}

/// Where `redis_flushdb` goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RedisTarget {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database number.
    pub db: u32,
    /// Password, if any.
    pub password: Option<String>,
}

impl RedisTarget {
    /// From `redis://[user][:password@]host[:port][/db]`.
    pub fn parse(url: &str) -> Result<Self, ExecError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("CPS_REDIS_URL: {e}")))?;
        if parsed.scheme() != "redis" {
            return Err(fail("CPS_REDIS_URL is not a redis:// URL"));
        }
        let db = match parsed.path().trim_start_matches('/') {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| fail(format!("CPS_REDIS_URL: {n:?} is not a database number")))?,
        };
        Ok(Self {
            host: parsed.host_str().unwrap_or("localhost").to_owned(),
            port: parsed.port().unwrap_or(6379),
            db,
            password: parsed.password().map(percent_decode),
        })
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_url_becomes_libpq_environment() {
        let env = postgres_env(
            "postgresql://cpspostgres:can%40psis@localhost:5432/canopsis?sslmode=disable",
        )
        .unwrap();
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("PGHOST"), Some("localhost"));
        assert_eq!(get("PGUSER"), Some("cpspostgres"));
        assert_eq!(get("PGPASSWORD"), Some("can@psis"));
        assert_eq!(get("PGDATABASE"), Some("canopsis"));
        assert_eq!(get("PGSSLMODE"), Some("disable"));
        assert!(postgres_env("mysql://x@y/z").is_err());
    }

    #[test]
    fn redis_url_is_split() {
        let t = RedisTarget::parse("redis://:secret@localhost:6379/1").unwrap();
        assert_eq!(
            t,
            RedisTarget {
                host: "localhost".into(),
                port: 6379,
                db: 1,
                password: Some("secret".into())
            }
        );
        assert_eq!(RedisTarget::parse("redis://redis").unwrap().db, 0);
        assert!(RedisTarget::parse("redis://h/x").is_err());
    }
}
