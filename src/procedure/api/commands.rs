//! Commands: allow-listed programs (never through a shell), the database shells on the
//! engines' URLs, and the Canopsis tools release notes ask for.

use rhai::{Array, Dynamic, ImmutableString, Map};

use super::{api_fn, non_empty, Registrar};
use crate::action::{Action, CommandSpec, Outcome};
use crate::install::InstallMethod;
use crate::procedure::argschema;
use crate::procedure::host::{script_error, ApiResult, Host};
use crate::procedure::sandbox::{is_allowed_script_env, DOCUMENTED_ENV};
use crate::systemd::envfile;

/// The Canopsis tools `canopsis_tool` runs (from /opt/canopsis/bin).
const CANOPSIS_TOOLS: [&str; 3] = ["init", "migrate-metrics", "migrate-instruction-metrics"];

pub(super) fn register(r: &mut Registrar) {
    r.group = "Commands (allow-listed programs only, never through a shell)";
    api_fn!(
        r,
        "run",
        "Runs a program; returns #{code, stdout, stderr}; a non-zero exit fails the step.",
        |h, program: &str, args: Array| command(&h, program, args, Map::new())
    );
    api_fn!(
        r,
        "run",
        "Runs a program with options #{user: \"canopsis\", engine_env: true (go-engines-vars.conf), env: #{KEY: \"value\"}, cwd, timeout (s), allow_failure}.",
        |h, program: &str, args: Array, options: Map| command(&h, program, args, options)
    );
    register_database_files(r);
    register_database_code(r);
    api_fn!(
        r,
        "canopsis_tool",
        "Packages: runs a Canopsis tool that release notes ask for, /opt/canopsis/bin/<name> with go-engines-vars.conf: init (3.x queues), migrate-metrics (4.5), migrate-instruction-metrics (23.04).",
        |h, name: &str, args: Array| -> ApiResult<Map> { canopsis_tool(&h, name, args) }
    );
    api_fn!(
        r,
        "redis_flushdb",
        "Empties the Redis database of CPS_REDIS_URL.",
        |h| h.perform(Action::RedisFlushdb).map(drop)
    );
}

/// SQL and MongoDB script files.
fn register_database_files(r: &mut Registrar) {
    api_fn!(
        r,
        "psql_file",
        "Runs an SQL file with psql on CPS_POSTGRES_URL (ON_ERROR_STOP; compose: in the timescaledb service).",
        |h, path: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            h.perform(Action::PsqlFile { path }).map(drop)
        }
    );
    api_fn!(
        r,
        "mongo_file",
        "Runs a JavaScript file with the MongoDB shell on CPS_MONGO_URL (compose: in the mongodb service).",
        |h, path: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            h.perform(Action::MongoFile { path }).map(drop)
        }
    );
    api_fn!(
        r,
        "mongo_dir",
        "Runs every *.js below a directory in name order, like mongo_file (`for f in $(find dir -name '*.js' | sort)`); none is an error.",
        |h, dir: &str| -> ApiResult<()> {
            let dir = h.path(dir)?;
            h.perform(Action::MongoScripts { dir }).map(drop)
        }
    );
}

/// Inline code and statements, and flushing Redis.
fn register_database_code(r: &mut Registrar) {
    api_fn!(
        r,
        "mongo_eval",
        "Runs MongoDB shell code (`mongo --eval`) on CPS_MONGO_URL (compose: in the mongodb service), like the queries release notes give inline.",
        |h, code: &str| -> ApiResult<()> {
            let code = non_empty("code", code)?;
            h.perform(Action::MongoEval { code }).map(drop)
        }
    );
    api_fn!(
        r,
        "psql_eval",
        "Runs SQL text with psql (`-c`, ON_ERROR_STOP) on CPS_POSTGRES_URL (compose: in the timescaledb service).",
        |h, sql: &str| -> ApiResult<()> {
            let sql = non_empty("sql", sql)?;
            h.perform(Action::PsqlEval { sql }).map(drop)
        }
    );
    api_fn!(
        r,
        "redis_flushall",
        "Empties every database of the Redis server of CPS_REDIS_URL (`redis-cli flushall`; compose: in the redis service).",
        |h| h.perform(Action::RedisFlushall).map(drop)
    );
}

/// `/opt/canopsis/bin/<name>` with the engines' environment, on a package install.
fn canopsis_tool(host: &Host, name: &str, args: Array) -> ApiResult<Map> {
    if !CANOPSIS_TOOLS.contains(&name) {
        return Err(script_error(format!(
            "canopsis_tool: {name:?} is not one of {}",
            CANOPSIS_TOOLS.join(", ")
        )));
    }
    if host.ctx.install != InstallMethod::Packages {
        return Err(script_error("canopsis_tool: the tools are in the images of a Docker Compose install, not on the host"));
    }
    let program = format!("/opt/canopsis/bin/{name}");
    let mut options = Map::new();
    options.insert("engine_env".into(), Dynamic::from(true));
    // Through the allow-list like any program: a site may still refuse them.
    command(host, &program, args, options)
}

/// `run(program, args, options)`: checks everything, performs the command, returns
/// `#{code, stdout, stderr}` (all empty in a plan).
fn command(host: &Host, program: &str, args: Array, options: Map) -> ApiResult<Map> {
    host.program(program)?;
    let mut spec = CommandSpec {
        program: program.to_owned(),
        args: string_args(program, args)?,
        user: None,
        engine_env: false,
        env: Vec::new(),
        cwd: None,
        timeout_secs: host.ctx.command_timeout.as_secs(),
        allow_failure: false,
    };
    for (key, value) in options {
        apply_option(host, &mut spec, &key, value)?;
    }
    argschema::check(program, &spec.args).map_err(script_error)?;
    let output = match host.perform(Action::Command(spec))? {
        Outcome::Command(output) => output,
        Outcome::Done | Outcome::Skipped(_) => Default::default(),
    };
    let mut map = Map::new();
    map.insert("code".into(), Dynamic::from(output.code));
    map.insert("stdout".into(), Dynamic::from(output.stdout));
    map.insert("stderr".into(), Dynamic::from(output.stderr));
    Ok(map)
}

/// The arguments, each a string.
fn string_args(program: &str, args: Array) -> ApiResult<Vec<String>> {
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            arg.into_immutable_string()
                .map(|s| s.to_string())
                .map_err(|t| {
                    script_error(format!(
                        "run({program:?}): argument {} is a {t}, expected a string",
                        i + 1
                    ))
                })
        })
        .collect()
}

/// One entry of `run`'s options map.
fn apply_option(host: &Host, spec: &mut CommandSpec, key: &str, value: Dynamic) -> ApiResult<()> {
    let program = spec.program.clone();
    let bad = |want: &str| script_error(format!("run({program:?}): option {key} must be {want}"));
    match key {
        "user" => {
            let user: ImmutableString = value.into_immutable_string().map_err(|_| bad("a string"))?;
            let valid = !user.is_empty()
                && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid {
                return Err(bad("a user name"));
            }
            spec.user = Some(user.to_string());
        }
        "engine_env" => spec.engine_env = value.as_bool().map_err(|_| bad("true or false"))?,
        "env" => {
            let vars = value.try_cast::<Map>().ok_or_else(|| bad("a map of variables"))?;
            for (name, value) in vars {
                let value = env_value(&program, &name, value)
                    .ok_or_else(|| bad("a map of NAME: \"string\" pairs"))??;
                spec.env.push((name.to_string(), value));
            }
        }
        "allow_failure" => spec.allow_failure = value.as_bool().map_err(|_| bad("true or false"))?,
        "cwd" => {
            let dir: ImmutableString = value.into_immutable_string().map_err(|_| bad("a path"))?;
            spec.cwd = Some(host.path(&dir)?);
        }
        "timeout" => {
            let secs = value.as_int().map_err(|_| bad("a number of seconds"))?;
            if !(1..=24 * 3600).contains(&secs) {
                return Err(bad("between 1 and 86400 seconds"));
            }
            spec.timeout_secs = secs as u64;
        }
        other => {
            return Err(script_error(format!(
                "run({program:?}): unknown option {other} (user, engine_env, env, cwd, timeout, allow_failure)"
            )))
        }
    }
    Ok(())
}

/// The value of one variable of the `env` option: an error when the sandbox forbids the
/// variable, None when the name is not a variable name or the value not a string.
fn env_value(program: &str, name: &str, value: Dynamic) -> Option<ApiResult<String>> {
    if envfile::is_valid_name(name) && !is_allowed_script_env(name) {
        return Some(Err(script_error(format!(
            "sandbox: run({program:?}): setting {name} is not allowed (only CPS_*, _*, {})",
            DOCUMENTED_ENV.join(", ")
        ))));
    }
    let value = value.into_immutable_string().ok()?;
    envfile::is_valid_name(name).then(|| Ok(value.to_string()))
}
