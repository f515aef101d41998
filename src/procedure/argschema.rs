//! The arguments each allowed program accepts. The daemon runs them as root: an option that
//! loads code, configuration or plugins from elsewhere (`rpm --eval`, `--define`, `--rcfile`,
//! `yum -c`/`--setopt`/`--installroot`, `docker run`, `-f` outside the compose directory...)
//! would turn an allowed program into a command runner. So each program has an allow-list of
//! subcommands and flags, the ones the procedures need; anything else is refused. The database
//! shells are reached only through their typed functions (`psql_file`, `redis_flushdb`...),
//! with the one Redis form that 4.3.1's note gives kept for `run`.

/// Why a command line is refused.
pub type Refusal = String;

/// Checks `args` of `program` (as written on the allow-list) against its schema.
pub fn check(program: &str, args: &[String]) -> Result<(), Refusal> {
    let base = program.rsplit('/').next().unwrap_or(program);
    let result = match base {
        "yum" | "dnf" => package_manager(args),
        "rpm" => rpm(args),
        "canopsinit" => valued_flags(args, &["--canopsis-edition", "--canopsis-stack"]),
        "canoctl" => one_of(args, &["start", "stop", "restart", "status"]),
        "canopsis-reconfigure" => reconfigure(args),
        "init" => conf_flag(args),
        "migrate-metrics" | "migrate-instruction-metrics" => no_args(args),
        "docker" => docker(args),
        "docker-compose" => compose(args),
        "redis-cli" => redis_flush(args),
        "psql" | "mongo" | "mongosh" => Err(
            "a database shell runs only through its typed functions (psql_file, psql_eval, mongo_file, mongo_dir, mongo_eval, redis_flushdb, redis_flushall)"
                .into(),
        ),
        _ => Err(format!("{base} has no argument schema: it cannot be run")),
    };
    result.map_err(|why| format!("sandbox: run({program:?}, {args:?}) refused: {why}"))
}

/// A package, repository or service name: letters, digits and `._+-`, never a path, a URL or
/// an option.
fn is_name(arg: &str) -> bool {
    !arg.is_empty()
        && arg.len() <= 128
        && arg.as_bytes()[0].is_ascii_alphanumeric()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        && !arg.ends_with(".rpm")
}

/// A repository glob of `--enablerepo=`/`--disablerepo=`: a name, `*` allowed.
fn is_repo_glob(arg: &str) -> bool {
    !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-*".contains(&b))
}

/// yum/dnf: makecache, clean, check-update, update/upgrade/install of named packages from the
/// configured repositories, with -y/-q and repository selection only.
fn package_manager(args: &[String]) -> Result<(), Refusal> {
    let mut positional = Vec::new();
    for arg in args {
        let repo = arg
            .strip_prefix("--enablerepo=")
            .or_else(|| arg.strip_prefix("--disablerepo="));
        match (arg.as_str(), repo) {
            ("-y" | "-q" | "--assumeyes" | "--quiet", _) => {}
            (_, Some(glob)) if is_repo_glob(glob) => {}
            (flag, _) if flag.starts_with('-') => {
                return Err(format!("option {flag} is not allowed"))
            }
            (word, _) => positional.push(word),
        }
    }
    match positional.split_first() {
        // Bare `yum` prints its usage.
        None => Ok(()),
        Some((&"makecache" | &"check-update", [])) => Ok(()),
        Some((&"clean", [what])) if ["all", "metadata", "expire-cache"].contains(what) => Ok(()),
        Some((&("update" | "upgrade" | "install"), names)) if names.iter().all(|n| is_name(n)) => {
            if positional[0] == "install" && names.is_empty() {
                return Err("install needs package names".into());
            }
            Ok(())
        }
        _ => Err("allowed: makecache, check-update, clean all, update|upgrade|install <package names>, -y, -q, --enablerepo=, --disablerepo=".into()),
    }
}

/// rpm: queries of installed packages only (`-q [--quiet] name...`).
fn rpm(args: &[String]) -> Result<(), Refusal> {
    let (flags, names): (Vec<_>, Vec<_>) = args.iter().partition(|a| a.starts_with('-'));
    let query = flags.iter().any(|f| matches!(f.as_str(), "-q" | "--query"));
    let known = flags
        .iter()
        .all(|f| matches!(f.as_str(), "-q" | "--query" | "--quiet"));
    if query && known && !names.is_empty() && names.iter().all(|n| is_name(n)) {
        Ok(())
    } else {
        Err("allowed: -q [--quiet] <package names>".into())
    }
}

/// Only the listed `--flag value` pairs, each value a name.
fn valued_flags(args: &[String], flags: &[&str]) -> Result<(), Refusal> {
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if !flags.contains(&flag.as_str()) {
            return Err(format!("allowed: {}", flags.join(" <value>, ")));
        }
        match rest.next() {
            Some(value) if is_name(value) => {}
            _ => return Err(format!("{flag} needs a plain value")),
        }
    }
    Ok(())
}

fn one_of(args: &[String], words: &[&str]) -> Result<(), Refusal> {
    match args {
        [word] if words.contains(&word.as_str()) => Ok(()),
        _ => Err(format!("allowed: one of {}", words.join(", "))),
    }
}

fn no_args(args: &[String]) -> Result<(), Refusal> {
    if args.is_empty() {
        Ok(())
    } else {
        Err("it takes no arguments".into())
    }
}

/// A configuration path of Canopsis's own: below /opt/canopsis/etc, no `..`.
fn is_canopsis_conf(path: &str) -> bool {
    path.strip_prefix("/opt/canopsis/etc/")
        .is_some_and(|rest| !rest.is_empty() && !rest.split('/').any(|c| c == ".." || c.is_empty()))
}

/// init: `-conf <file below /opt/canopsis/etc>`.
fn conf_flag(args: &[String]) -> Result<(), Refusal> {
    match args {
        [] => Ok(()),
        [flag, path] if flag == "-conf" && is_canopsis_conf(path) => Ok(()),
        _ => Err("allowed: -conf <a file below /opt/canopsis/etc>".into()),
    }
}

/// canopsis-reconfigure: the edition, the PostgreSQL migration switches, its configuration
/// below /opt/canopsis/etc and migrations below /opt/canopsis/share.
fn reconfigure(args: &[String]) -> Result<(), Refusal> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let value = match inline {
            Some(value) => value,
            None if flag == "-edition" || flag == "-conf" => {
                rest.next().cloned().unwrap_or_default()
            }
            None => String::new(),
        };
        let ok = match flag {
            "-edition" => ["community", "pro"].contains(&value.as_str()),
            "-migrate-postgres" | "-migrate-mongo" => ["true", "false"].contains(&value.as_str()),
            "-postgres-migration-mode" => ["up", "down"].contains(&value.as_str()),
            "-postgres-migration-directory" => value
                .strip_prefix("/opt/canopsis/share/")
                .is_some_and(|r| !r.split('/').any(|c| c == "..")),
            "-conf" | "-override" => is_canopsis_conf(&value),
            _ => false,
        };
        if !ok {
            return Err(format!("{arg} is not allowed (-edition community|pro, -migrate-postgres=, -postgres-migration-mode=, -postgres-migration-directory=/opt/canopsis/share/..., -conf /opt/canopsis/etc/...)"));
        }
    }
    Ok(())
}

/// docker: `version [--format ...]` and `compose ...` (see [`compose`]); never `run`, `exec`
/// outside compose, `-H`, `--config`, `--context`...
fn docker(args: &[String]) -> Result<(), Refusal> {
    match args.split_first() {
        Some((sub, rest)) if sub == "compose" => compose(rest),
        Some((sub, [])) if sub == "version" => Ok(()),
        Some((sub, [flag, format])) if sub == "version" && flag == "--format" && !format.is_empty() => Ok(()),
        _ => Err("allowed: version [--format F], compose <pull|up|down|version|ps|exec -T <service> redis-cli -n N flushdb>".into()),
    }
}

/// docker-compose / docker compose: files of the compose directory (plain names), then pull,
/// up -d, down, stop, ps, version, disable-v2, and the one `exec` of 4.3.1.
fn compose(args: &[String]) -> Result<(), Refusal> {
    let mut rest = args;
    while let [flag, file, tail @ ..] = rest {
        if flag != "-f" {
            break;
        }
        if !is_name(file) {
            return Err(format!(
                "-f {file}: only a file of the compose directory, by name"
            ));
        }
        rest = tail;
    }
    let Some((sub, tail)) = rest.split_first() else {
        return Err("a subcommand is needed".into());
    };
    let flags_ok = |allowed: &[&str]| {
        tail.iter()
            .all(|a| allowed.contains(&a.as_str()) || (!a.starts_with('-') && is_name(a)))
    };
    let ok = match sub.as_str() {
        "pull" | "stop" | "start" | "restart" | "ps" => flags_ok(&["-q", "--quiet"]),
        "up" => flags_ok(&["-d", "--detach", "--remove-orphans", "--no-deps"]),
        "down" => tail.iter().all(|a| a == "--remove-orphans"),
        "version" => tail.iter().all(|a| a == "--short"),
        "disable-v2" => tail.is_empty(),
        "exec" => match tail {
            [t, service, redis @ ..] if t == "-T" && is_name(service) => {
                redis.first().is_some_and(|p| p == "redis-cli") && redis_flush(&redis[1..]).is_ok()
            }
            _ => false,
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("compose {sub} with these arguments is not allowed (pull, up -d [--remove-orphans] [services], down [--remove-orphans], stop, start, restart, ps, version [--short], exec -T <service> redis-cli -n N flushdb)"))
    }
}

/// redis-cli: `[-n N] flushdb|flushall` on the default local server only (4.3.1's note).
fn redis_flush(args: &[String]) -> Result<(), Refusal> {
    let command = match args {
        [flag, db, command] if flag == "-n" && db.parse::<u8>().is_ok() => command,
        [command] => command,
        _ => return Err("allowed: [-n N] flushdb|flushall (else redis_flushdb())".into()),
    };
    if command.eq_ignore_ascii_case("flushdb") || command.eq_ignore_ascii_case("flushall") {
        Ok(())
    } else {
        Err("allowed: [-n N] flushdb|flushall (else redis_flushdb())".into())
    }
}

#[cfg(test)]
#[path = "argschema_tests.rs"]
mod tests;
