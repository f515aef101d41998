//! What a script knows of its upgrade: versions, edition, install method, paths, dry run.

use rhai::INT;

use super::{api_fn, Registrar};
use crate::procedure::host::{script_error, ApiResult};
use crate::version::Version;

pub(super) fn register(r: &mut Registrar) {
    r.group = "Context";
    register_version_type(r);
    register_versions(r);
    api_fn!(
        r,
        "edition",
        "The edition: \"community\" or \"pro\".",
        |h| h.ctx.edition.as_str()
    );
    api_fn!(
        r,
        "install",
        "The install method: \"packages\" or \"compose\".",
        |h| h.ctx.install.as_str()
    );
    api_fn!(
        r,
        "dry_run",
        "True while planning: actions are recorded, not performed.",
        |h| h.dry_run()
    );
    api_fn!(
        r,
        "compose_dir",
        "The Docker Compose project directory (an error on a package install).",
        |h| -> ApiResult<String> {
            h.ctx
                .compose_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .ok_or_else(|| script_error("compose_dir(): this is not a Docker Compose install"))
        }
    );
    api_fn!(
        r,
        "engine_env_file",
        "The path of go-engines-vars.conf, the engines' environment file.",
        |h| h.ctx.engine_env_file.display().to_string()
    );
}

/// The versions of the upgrade, of the running script, and any version.
fn register_versions(r: &mut Registrar) {
    api_fn!(
        r,
        "from",
        "The installed version, before the upgrade.",
        |h| h.ctx.from.clone()
    );
    api_fn!(r, "to", "The target version of the upgrade.", |h| h
        .ctx
        .to
        .clone());
    api_fn!(
        r,
        "version",
        "The release whose script is running (the target for the standard procedure and add-ons).",
        |h| h.script_version()
    );
    api_fn!(
        r,
        "v",
        "Parses a version, to compare with from(), to() or version(): `to() >= v(\"22.10.0\")`. Versions have .major, .minor, .patch.",
        |_h, text: &str| Version::parse(text).map_err(|e| script_error(e.to_string()))
    );
}

/// `Version` values: printable, comparable, with .major, .minor and .patch.
fn register_version_type(r: &mut Registrar) {
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
}
