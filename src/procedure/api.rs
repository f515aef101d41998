//! The script API: every function a procedure script can call, registered with its documentation
//! so that `api-doc` is generated from what is really there.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, FuncRegistration, ImmutableString, Map, RhaiNativeFunc, INT};

use super::host::{script_error, ApiResult, Host};
use super::sandbox::is_forbidden_env;
use crate::action::{Action, Answer, CommandSpec, Outcome, Query};
use crate::tomlfile;
use crate::version::Version;

/// One documented API function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiDoc {
    /// The group it belongs to.
    pub group: &'static str,
    /// Its Rhai signature, with parameter names and types.
    pub signature: String,
    /// What it does.
    pub doc: &'static str,
}

struct Registrar<'e> {
    engine: &'e mut Engine,
    group: &'static str,
    docs: Vec<ApiDoc>,
}

impl Registrar<'_> {
    /// Registers `f` as `name` with parameter names and a doc line.
    fn def<
        A: 'static,
        const N: usize,
        const X: bool,
        R: Clone + Send + Sync + 'static,
        const F: bool,
        FN,
    >(
        &mut self,
        name: &str,
        params: [&str; N],
        doc: &'static str,
        f: FN,
    ) where
        FN: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        let args: Vec<String> = params
            .iter()
            .zip(FN::param_names())
            .map(|(p, t)| format!("{p}: {}", type_name(t)))
            .collect();
        let ret = type_name(FN::return_type_name());
        let signature = match ret {
            "()" => format!("{name}({})", args.join(", ")),
            _ => format!("{name}({}) -> {ret}", args.join(", ")),
        };
        FuncRegistration::new(name)
            .with_comments([format!("/// {doc}")])
            .register_into_engine(self.engine, f);
        self.docs.push(ApiDoc {
            group: self.group,
            signature,
            doc,
        });
    }
}

/// Script-facing names of Rust types.
fn type_name(rust: &str) -> &'static str {
    // Results are what the script sees of their Ok type.
    let ok = rust.strip_prefix("core::result::Result<").unwrap_or(rust);
    let head = ok.split(['<', ',']).next().unwrap_or(ok);
    match head.rsplit("::").next().unwrap_or(head) {
        "ImmutableString" | "&str" | "String" | "str" => "string",
        "i64" => "int",
        "f64" => "float",
        "bool" => "bool",
        "BTreeMap" | "Map" => "map",
        "Vec" | "Array" => "array",
        "Version" => "Version",
        "()" => "()",
        _ => "any",
    }
}

/// Registers the whole API, bound to `host`, and returns its documentation.
pub fn register(engine: &mut Engine, host: &Arc<Host>) -> Vec<ApiDoc> {
    let mut r = Registrar {
        engine,
        group: "",
        docs: Vec::new(),
    };
    register_context(&mut r, host);
    register_units(&mut r, host);
    register_files(&mut r, host);
    register_commands(&mut r, host);
    register_flow(&mut r, host);
    r.docs
}

fn register_context(r: &mut Registrar, host: &Arc<Host>) {
    r.group = "Context";
    r.engine
        .register_type_with_name::<Version>("Version")
        .register_fn("to_string", |v: &mut Version| v.to_string())
        .register_fn("to_debug", |v: &mut Version| v.to_string())
        .register_get("major", |v: &mut Version| v.major() as INT)
        .register_get("minor", |v: &mut Version| v.minor() as INT)
        .register_get("patch", |v: &mut Version| v.patch() as INT)
        .register_fn("==", |a: Version, b: Version| a == b)
        .register_fn("!=", |a: Version, b: Version| a != b)
        .register_fn("<", |a: Version, b: Version| a < b)
        .register_fn("<=", |a: Version, b: Version| a <= b)
        .register_fn(">", |a: Version, b: Version| a > b)
        .register_fn(">=", |a: Version, b: Version| a >= b);
    let h = host.clone();
    r.def(
        "from",
        [],
        "The installed version, before the upgrade.",
        move || h.ctx.from.clone(),
    );
    let h = host.clone();
    r.def("to", [], "The target version of the upgrade.", move || {
        h.ctx.to.clone()
    });
    let h = host.clone();
    r.def(
        "version",
        [],
        "The release whose script is running (the target for the standard procedure and add-ons).",
        move || h.script_version(),
    );
    r.def(
        "v",
        ["text"],
        "Parses a version, to compare with from(), to() or version(): `to() >= v(\"22.10.0\")`. Versions have .major, .minor, .patch.",
        |text: &str| Version::parse(text).map_err(|e| script_error(e.to_string())),
    );
    let h = host.clone();
    r.def(
        "edition",
        [],
        "The edition: \"community\" or \"pro\".",
        move || h.ctx.edition.as_str(),
    );
    let h = host.clone();
    r.def(
        "install",
        [],
        "The install method: \"packages\" or \"compose\".",
        move || h.ctx.install.as_str(),
    );
    let h = host.clone();
    r.def(
        "dry_run",
        [],
        "True while planning: actions are recorded, not performed.",
        move || h.dry_run(),
    );
    let h = host.clone();
    r.def(
        "compose_dir",
        [],
        "The Docker Compose project directory (an error on a package install).",
        move || -> ApiResult<String> {
            h.ctx
                .compose_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .ok_or_else(|| script_error("compose_dir(): this is not a Docker Compose install"))
        },
    );
    let h = host.clone();
    r.def(
        "engine_env_file",
        [],
        "The path of go-engines-vars.conf, the engines' environment file.",
        move || h.ctx.engine_env_file.display().to_string(),
    );
}

fn register_units(r: &mut Registrar, host: &Arc<Host>) {
    r.group = "Units (over D-Bus; names without a type get .service; only units matching the configured patterns)";
    type Make = fn(String) -> Action;
    let simple: [(&str, &'static str, Make); 5] = [
        (
            "unit_start",
            "Starts a unit and waits for its job to finish.",
            |unit| Action::UnitStart { unit },
        ),
        (
            "unit_stop",
            "Stops a unit and waits for its job to finish.",
            |unit| Action::UnitStop { unit },
        ),
        (
            "unit_restart",
            "Restarts a unit and waits for its job to finish.",
            |unit| Action::UnitRestart { unit },
        ),
        ("unit_enable", "Enables a unit file.", |unit| {
            Action::UnitEnable { unit }
        }),
        (
            "unit_disable",
            "Disables a unit file; a unit that no longer exists is reported and skipped.",
            |unit| Action::UnitDisable { unit },
        ),
    ];
    for (name, doc, make) in simple {
        let h = host.clone();
        r.def(name, ["unit"], doc, move |unit: &str| -> ApiResult<()> {
            let unit = h.unit(unit)?;
            h.perform(make(unit)).map(drop)
        });
    }
    let h = host.clone();
    r.def(
        "unit_dropin",
        ["unit", "name", "text"],
        "Writes /etc/systemd/system/<unit>.d/<name>.conf (replacing it) and reloads systemd.",
        move |unit: &str, name: &str, text: &str| -> ApiResult<()> {
            let unit = h.unit(unit)?;
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid {
                return Err(script_error(format!(
                    "unit_dropin: {name:?} must be a plain name (letters, digits, - and _)"
                )));
            }
            h.perform(Action::UnitDropin {
                unit,
                name: name.into(),
                text: text.into(),
            })
            .map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "unit_active",
        ["unit"],
        "Whether a unit is active (a plan assumes yes).",
        move |unit: &str| -> ApiResult<bool> {
            let unit = h.unit(unit)?;
            boolean(h.ask(Query::UnitActive(unit))?)
        },
    );
    let h = host.clone();
    r.def(
        "unit_exists",
        ["unit"],
        "Whether a unit is loaded or has a unit file (a plan assumes yes).",
        move |unit: &str| -> ApiResult<bool> {
            let unit = h.unit(unit)?;
            boolean(h.ask(Query::UnitExists(unit))?)
        },
    );
    let h = host.clone();
    r.def(
        "restart_units",
        ["units"],
        "Restarts the given units at once (like `systemctl restart a b c`) and waits until all are active; a unit that does not exist is reported and skipped.",
        move |units: Array| -> ApiResult<()> {
            if units.is_empty() {
                return Err(script_error("restart_units: no unit given"));
            }
            let units = units
                .into_iter()
                .map(|u| {
                    let name = u
                        .into_immutable_string()
                        .map_err(|t| script_error(format!("restart_units: a unit is a {t}, expected a string")))?;
                    h.unit(&name)
                })
                .collect::<ApiResult<Vec<_>>>()?;
            h.perform(Action::RestartUnits { units }).map(drop)
        },
    );
    type MakeAll = fn() -> Action;
    let whole: [(&str, &'static str, MakeAll); 4] = [
        ("daemon_reload", "Reloads systemd's unit files.", || Action::DaemonReload),
        (
            "restart_canopsis",
            "Restarts every Canopsis unit at once and waits until all are active (downtime = the slowest unit).",
            || Action::RestartCanopsis,
        ),
        ("stop_canopsis", "Stops every Canopsis unit.", || Action::StopCanopsis),
        ("start_canopsis", "Starts every Canopsis unit and waits until all are active.", || Action::StartCanopsis),
    ];
    for (name, doc, make) in whole {
        let h = host.clone();
        r.def(name, [], doc, move || h.perform(make()).map(drop));
    }
}

fn register_files(r: &mut Registrar, host: &Arc<Host>) {
    r.group = "Files (only below the configured roots, after resolving symlinks; edits are atomic and backed up)";
    let h = host.clone();
    r.def(
        "file_exists",
        ["path"],
        "Whether a file exists.",
        move |path: &str| -> ApiResult<bool> {
            let path = h.path(path)?;
            boolean(h.ask(Query::FileExists(path))?)
        },
    );
    let h = host.clone();
    r.def(
        "read_file",
        ["path"],
        "The text of a file, or () when it does not exist.",
        move |path: &str| -> ApiResult<Dynamic> {
            let path = h.path(path)?;
            Ok(read(&h, path)?.map_or(Dynamic::UNIT, Dynamic::from))
        },
    );
    let h = host.clone();
    r.def(
        "ensure_line",
        ["path", "line"],
        "Appends a line to a file unless the same line is already there (creates the file).",
        move |path: &str, line: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            let line = single_line(line)?;
            h.perform(Action::EnsureLine {
                path,
                line,
                prefix: None,
            })
            .map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "ensure_line",
        ["path", "line", "prefix"],
        "Appends a line unless a line starting with `prefix` is there (like `grep -q ^prefix || echo line >>`).",
        move |path: &str, line: &str, prefix: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            let line = single_line(line)?;
            let prefix = Some(non_empty("prefix", prefix)?);
            h.perform(Action::EnsureLine { path, line, prefix }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "write_file",
        ["path", "text"],
        "Writes a whole file (atomically), replacing what was there.",
        move |path: &str, text: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            h.perform(Action::WriteFile {
                path,
                text: text.into(),
            })
            .map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "copy_file",
        ["from", "to"],
        "Copies a file (atomically), replacing `to`; the source may come with the new packages.",
        move |from: &str, to: &str| -> ApiResult<()> {
            let from = h.path(from)?;
            let to = h.path(to)?;
            h.perform(Action::CopyFile { from, to }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "symlink",
        ["target", "link"],
        "Points `link` at `target`, replacing what `link` was (`ln -sfn target link`); both below the roots.",
        move |target: &str, link: &str| -> ApiResult<()> {
            let target = h.path(target)?;
            // The link itself is checked, not what it points to now.
            let link = h.path_of_link(link)?;
            h.perform(Action::Symlink { link, target }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "list_files",
        ["dir", "suffix"],
        "The files below a directory (recursively) whose names end with `suffix`, sorted (like `find dir -name '*suffix' | sort`).",
        move |dir: &str, suffix: &str| -> ApiResult<Array> {
            let dir = h.path(dir)?;
            match h.ask(Query::ListFiles { dir, suffix: suffix.into() })? {
                Answer::Paths(paths) => Ok(paths.into_iter().map(|p| Dynamic::from(p.display().to_string())).collect()),
                other => Err(mismatch("a listing", &other)),
            }
        },
    );
    let h = host.clone();
    r.def(
        "remove_lines",
        ["path", "prefix"],
        "Removes every line starting with `prefix`.",
        move |path: &str, prefix: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            let prefix = non_empty("prefix", prefix)?;
            h.perform(Action::RemoveLines { path, prefix }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "replace_in_file",
        ["path", "from", "to"],
        "Replaces every occurrence of `from` with `to` in a file.",
        move |path: &str, from: &str, to: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            let from = non_empty("from", from)?;
            h.perform(Action::ReplaceInFile {
                path,
                from,
                to: to.into(),
            })
            .map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "toml_get",
        ["path", "key"],
        "The value at a dotted key (\"Canopsis.global.PrefetchCount\") of a TOML file, or () when absent.",
        move |path: &str, key: &str| -> ApiResult<Dynamic> {
            let real = h.path(path)?;
            let Some(text) = read(&h, real)? else {
                return Ok(Dynamic::UNIT);
            };
            let item = tomlfile::get(&text, key).map_err(|e| script_error(format!("toml_get({path:?}): {e}")))?;
            Ok(item.map_or(Dynamic::UNIT, |i| toml_to_dynamic(&i)))
        },
    );
    let h = host.clone();
    r.def(
        "toml_set",
        ["path", "key", "value"],
        "Sets a dotted key of a TOML file, keeping its comments (string, int, float, bool or array).",
        move |path: &str, key: &str, value: Dynamic| -> ApiResult<()> {
            let path = h.path(path)?;
            let value: serde_json::Value =
                rhai::serde::from_dynamic(&value).map_err(|e| script_error(format!("toml_set: {e}")))?;
            tomlfile::value_from_json(&value).map_err(|e| script_error(format!("toml_set: {e}")))?;
            tomlfile::get("", key).map_err(|e| script_error(format!("toml_set: {e}")))?;
            h.perform(Action::TomlSet { path, key: key.into(), value }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "toml_remove",
        ["path", "key"],
        "Removes a dotted key of a TOML file, keeping its comments.",
        move |path: &str, key: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            tomlfile::get("", key).map_err(|e| script_error(format!("toml_remove: {e}")))?;
            h.perform(Action::TomlRemove {
                path,
                key: key.into(),
            })
            .map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "env_set",
        ["path", "key", "value"],
        "Sets KEY=value in an environment file (.env, go-engines-vars.conf), adding the line if missing.",
        move |path: &str, key: &str, value: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(script_error(format!("env_set: {key:?} is not a variable name")));
            }
            let value = single_line(value)?;
            h.perform(Action::EnvSet { path, key: key.into(), value }).map(drop)
        },
    );
}

fn register_commands(r: &mut Registrar, host: &Arc<Host>) {
    r.group = "Commands (allow-listed programs only, never through a shell)";
    let h = host.clone();
    r.def(
        "run",
        ["program", "args"],
        "Runs a program; returns #{code, stdout, stderr}; a non-zero exit fails the step.",
        move |program: &str, args: Array| command(&h, program, args, Map::new()),
    );
    let h = host.clone();
    r.def(
        "run",
        ["program", "args", "options"],
        "Runs a program with options #{user: \"canopsis\", engine_env: true (go-engines-vars.conf), env: #{KEY: \"value\"}, cwd, timeout (s), allow_failure}.",
        move |program: &str, args: Array, options: Map| command(&h, program, args, options),
    );
    let h = host.clone();
    r.def(
        "psql_file",
        ["path"],
        "Runs an SQL file with psql on CPS_POSTGRES_URL (ON_ERROR_STOP; compose: in the timescaledb service).",
        move |path: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            h.perform(Action::PsqlFile { path }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "mongo_file",
        ["path"],
        "Runs a JavaScript file with the MongoDB shell on CPS_MONGO_URL (compose: in the mongodb service).",
        move |path: &str| -> ApiResult<()> {
            let path = h.path(path)?;
            h.perform(Action::MongoFile { path }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "mongo_dir",
        ["dir"],
        "Runs every *.js below a directory in name order, like mongo_file (`for f in $(find dir -name '*.js' | sort)`); none is an error.",
        move |dir: &str| -> ApiResult<()> {
            let dir = h.path(dir)?;
            h.perform(Action::MongoScripts { dir }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "mongo_eval",
        ["code"],
        "Runs MongoDB shell code (`mongo --eval`) on CPS_MONGO_URL (compose: in the mongodb service), like the queries release notes give inline.",
        move |code: &str| -> ApiResult<()> {
            let code = non_empty("code", code)?;
            h.perform(Action::MongoEval { code }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "psql_eval",
        ["sql"],
        "Runs SQL text with psql (`-c`, ON_ERROR_STOP) on CPS_POSTGRES_URL (compose: in the timescaledb service).",
        move |sql: &str| -> ApiResult<()> {
            let sql = non_empty("sql", sql)?;
            h.perform(Action::PsqlEval { sql }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "redis_flushall",
        [],
        "Empties every database of the Redis server of CPS_REDIS_URL (`redis-cli flushall`; compose: in the redis service).",
        move || h.perform(Action::RedisFlushall).map(drop),
    );
    let h = host.clone();
    r.def(
        "canopsis_tool",
        ["name", "args"],
        "Packages: runs a Canopsis tool that release notes ask for, /opt/canopsis/bin/<name> with go-engines-vars.conf: init (3.x queues), migrate-metrics (4.5), migrate-instruction-metrics (23.04).",
        move |name: &str, args: Array| -> ApiResult<Map> {
            if !CANOPSIS_TOOLS.contains(&name) {
                return Err(script_error(format!(
                    "canopsis_tool: {name:?} is not one of {}",
                    CANOPSIS_TOOLS.join(", ")
                )));
            }
            if h.ctx.install != crate::install::InstallMethod::Packages {
                return Err(script_error("canopsis_tool: the tools are in the images of a Docker Compose install, not on the host"));
            }
            let program = format!("/opt/canopsis/bin/{name}");
            let mut options = Map::new();
            options.insert("engine_env".into(), Dynamic::from(true));
            // Through the allow-list like any program: a site may still refuse them.
            command(&h, &program, args, options)
        },
    );
    let h = host.clone();
    r.def(
        "redis_flushdb",
        [],
        "Empties the Redis database of CPS_REDIS_URL.",
        move || h.perform(Action::RedisFlushdb).map(drop),
    );
}

fn register_flow(r: &mut Registrar, host: &Arc<Host>) {
    r.group = "Flow";
    let h = host.clone();
    r.def(
        "manual",
        ["text"],
        "A step a person must do: shown by `plan`, and `run` refuses until it is acknowledged.",
        move |text: &str| -> ApiResult<()> {
            let text = non_empty("text", text)?;
            h.perform(Action::Manual { text }).map(drop)
        },
    );
    let h = host.clone();
    r.def(
        "refuse",
        ["text"],
        "This upgrade cannot be done by the tool (say why and what to do instead): `plan` shows it, `run` refuses before READY.",
        move |text: &str| -> ApiResult<()> {
            let text = non_empty("text", text)?;
            h.perform(Action::Refusal { text }).map(drop)
        },
    );
    let h = host.clone();
    r.def("log", ["text"], "Logs a message.", move |text: &str| {
        h.say("info", text.into())
    });
    let h = host.clone();
    r.def("warn", ["text"], "Logs a warning.", move |text: &str| {
        h.say("warn", text.into())
    });
    r.def(
        "fail",
        ["text"],
        "Stops the step with an error.",
        |text: &str| -> ApiResult<()> { Err(script_error(format!("failed: {text}"))) },
    );
    let h = host.clone();
    r.def(
        "sleep",
        ["seconds"],
        "Waits (at most one hour); planned as a wait action.",
        move |s: INT| wait(&h, s as f64),
    );
    let h = host.clone();
    r.def(
        "sleep",
        ["seconds"],
        "Waits a fractional number of seconds.",
        move |s: f64| wait(&h, s),
    );
}

fn wait(host: &Host, seconds: f64) -> ApiResult<()> {
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(script_error(format!(
            "sleep({seconds}): must be between 0 and 3600 seconds"
        )));
    }
    host.perform(Action::Wait { seconds }).map(drop)
}

/// The Canopsis tools `canopsis_tool` runs (from /opt/canopsis/bin).
const CANOPSIS_TOOLS: [&str; 3] = ["init", "migrate-metrics", "migrate-instruction-metrics"];

fn command(host: &Host, program: &str, args: Array, options: Map) -> ApiResult<Map> {
    host.program(program)?;
    let args = args
        .into_iter()
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
        .collect::<ApiResult<Vec<_>>>()?;
    let mut spec = CommandSpec {
        program: program.to_owned(),
        args,
        user: None,
        engine_env: false,
        env: Vec::new(),
        cwd: None,
        timeout_secs: host.ctx.command_timeout.as_secs(),
        allow_failure: false,
    };
    for (key, value) in options {
        let bad =
            |want: &str| script_error(format!("run({program:?}): option {key} must be {want}"));
        match key.as_str() {
            "user" => {
                let user: ImmutableString = value.into_immutable_string().map_err(|_| bad("a string"))?;
                let valid = !user.is_empty() && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                if !valid {
                    return Err(bad("a user name"));
                }
                spec.user = Some(user.to_string());
            }
            "engine_env" => spec.engine_env = value.as_bool().map_err(|_| bad("true or false"))?,
            "env" => {
                let vars = value.try_cast::<Map>().ok_or_else(|| bad("a map of variables"))?;
                for (name, value) in vars {
                    let valid = !name.is_empty()
                        && !name.starts_with(|c: char| c.is_ascii_digit())
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if is_forbidden_env(&name) {
                        return Err(script_error(format!("sandbox: run({program:?}): setting {name} is not allowed")));
                    }
                    let value = value.into_immutable_string().ok().filter(|_| valid);
                    let value = value.ok_or_else(|| bad("a map of NAME: \"string\" pairs"))?;
                    spec.env.push((name.to_string(), value.to_string()));
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
    }
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

fn read(host: &Host, path: std::path::PathBuf) -> ApiResult<Option<String>> {
    match host.ask(Query::ReadFile(path))? {
        Answer::Text(text) => Ok(text),
        other => Err(mismatch("a file read", &other)),
    }
}

fn boolean(answer: Answer) -> ApiResult<bool> {
    match answer {
        Answer::Bool(b) => Ok(b),
        other => Err(mismatch("a yes/no question", &other)),
    }
}

/// An executor that answers the wrong kind of question is a bug of ours, not of the script.
fn mismatch(question: &str, answer: &Answer) -> Box<rhai::EvalAltResult> {
    script_error(format!(
        "internal error: the executor answered {question} with {answer:?}"
    ))
}

fn single_line(text: &str) -> ApiResult<String> {
    if text.contains('\n') || text.contains('\r') {
        return Err(script_error(format!("{text:?} must be a single line")));
    }
    Ok(text.to_owned())
}

fn non_empty(what: &str, text: &str) -> ApiResult<String> {
    if text.is_empty() {
        return Err(script_error(format!("{what} must not be empty")));
    }
    Ok(text.to_owned())
}

fn toml_to_dynamic(item: &toml_edit::Item) -> Dynamic {
    use toml_edit::{Item, Value};
    fn value(v: &Value) -> Dynamic {
        match v {
            Value::String(s) => Dynamic::from(s.value().clone()),
            Value::Integer(i) => Dynamic::from(*i.value()),
            Value::Float(f) => Dynamic::from(*f.value()),
            Value::Boolean(b) => Dynamic::from(*b.value()),
            Value::Datetime(d) => Dynamic::from(d.value().to_string()),
            Value::Array(a) => Dynamic::from_array(a.iter().map(value).collect()),
            Value::InlineTable(t) => {
                Dynamic::from_map(t.iter().map(|(k, v)| (k.into(), value(v))).collect())
            }
        }
    }
    match item {
        Item::None => Dynamic::UNIT,
        Item::Value(v) => value(v),
        Item::Table(t) => Dynamic::from_map(
            t.iter()
                .map(|(k, i)| (k.into(), toml_to_dynamic(i)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Dynamic::from_array(
            a.iter()
                .map(|t| {
                    Dynamic::from_map(
                        t.iter()
                            .map(|(k, i)| (k.into(), toml_to_dynamic(i)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}
