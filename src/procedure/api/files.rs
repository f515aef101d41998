//! Files below the configured roots: questions, line edits, whole writes, TOML and environment
//! files.

use rhai::{Array, Dynamic};

use super::{api_fn, boolean, mismatch, non_empty, single_line, Registrar};
use crate::action::{Action, Answer, Query};
use crate::procedure::host::{script_error, ApiResult, Host};
use crate::systemd::envfile;
use crate::tomlfile;

pub(super) fn register(r: &mut Registrar) {
    r.group = "Files (only below the configured roots, after resolving symlinks; edits are atomic and backed up)";
    register_reads_and_appends(r);
    register_whole_files(r);
    register_edits(r);
    register_toml(r);
    api_fn!(
        r,
        "env_set",
        "Sets KEY=value in an environment file (.env, go-engines-vars.conf), adding the line if missing.",
        |h, path: &str, key: &str, value: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            if !envfile::is_valid_name(key) {
                return Err(script_error(format!("env_set: {key:?} is not a variable name")));
            }
            let value = single_line(value)?;
            h.perform(Action::EnvSet { path, key: key.into(), value }).map(drop)
        }
    );
}

/// Questions on one file, and `ensure_line` (with and without a prefix).
fn register_reads_and_appends(r: &mut Registrar) {
    api_fn!(
        r,
        "file_exists",
        "Whether a file exists.",
        |h, path: &str| -> ApiResult<bool> {
            let path = h.path(path)?;
            boolean(h.ask(Query::FileExists(path))?)
        }
    );
    api_fn!(
        r,
        "read_file",
        "The text of a file, or () when it does not exist.",
        |h, path: &str| -> ApiResult<Dynamic> {
            let path = h.path(path)?;
            Ok(read(&h, path)?.map_or(Dynamic::UNIT, Dynamic::from))
        }
    );
    register_line_additions(r);
}

/// Whole files and links, and listings.
fn register_whole_files(r: &mut Registrar) {
    api_fn!(
        r,
        "write_file",
        "Writes a whole file (atomically), replacing what was there.",
        |h, path: &str, text: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            h.perform(Action::WriteFile {
                path,
                text: text.into(),
            })
            .map(drop)
        }
    );
    api_fn!(
        r,
        "copy_file",
        "Copies a file (atomically), replacing `to`; the source may come with the new packages.",
        |h, from: &str, to: &str| -> ApiResult<()> {
            let from = h.path(from)?;
            let to = h.writable_path(to)?;
            h.perform(Action::CopyFile { from, to }).map(drop)
        }
    );
    api_fn!(
        r,
        "symlink",
        "Points `link` at `target`, replacing what `link` was (`ln -sfn target link`); both below the roots.",
        |h, target: &str, link: &str| -> ApiResult<()> {
            let target = h.path(target)?;
            // The link itself is checked, not what it points to now.
            let link = h.path_of_link(link)?;
            h.check_link(&link, &target)?;
            h.perform(Action::Symlink { link, target }).map(drop)
        }
    );
    api_fn!(
        r,
        "list_files",
        "The files below a directory (recursively) whose names end with `suffix`, sorted (like `find dir -name '*suffix' | sort`).",
        |h, dir: &str, suffix: &str| -> ApiResult<Array> {
            let dir = h.path(dir)?;
            match h.ask(Query::ListFiles { dir, suffix: suffix.into() })? {
                Answer::Paths(paths) => Ok(paths.into_iter().map(|p| Dynamic::from(p.display().to_string())).collect()),
                other => Err(mismatch("a listing", &other)),
            }
        }
    );
}

/// `ensure_line`, with and without a prefix.
fn register_line_additions(r: &mut Registrar) {
    api_fn!(
        r,
        "ensure_line",
        "Appends a line to a file unless the same line is already there (creates the file).",
        |h, path: &str, line: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            let line = single_line(line)?;
            h.perform(Action::EnsureLine {
                path,
                line,
                prefix: None,
            })
            .map(drop)
        }
    );
    api_fn!(
        r,
        "ensure_line",
        "Appends a line unless a line starting with `prefix` is there (like `grep -q ^prefix || echo line >>`).",
        |h, path: &str, line: &str, prefix: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            let line = single_line(line)?;
            let prefix = Some(non_empty("prefix", prefix)?);
            h.perform(Action::EnsureLine { path, line, prefix }).map(drop)
        }
    );
}

/// Removing and replacing text.
fn register_edits(r: &mut Registrar) {
    api_fn!(
        r,
        "remove_lines",
        "Removes every line starting with `prefix`.",
        |h, path: &str, prefix: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            let prefix = non_empty("prefix", prefix)?;
            h.perform(Action::RemoveLines { path, prefix }).map(drop)
        }
    );
    api_fn!(
        r,
        "replace_in_file",
        "Replaces every occurrence of `from` with `to` in a file.",
        |h, path: &str, from: &str, to: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            let from = non_empty("from", from)?;
            h.perform(Action::ReplaceInFile {
                path,
                from,
                to: to.into(),
            })
            .map(drop)
        }
    );
}

/// TOML files, by dotted key, keeping comments.
fn register_toml(r: &mut Registrar) {
    api_fn!(
        r,
        "toml_get",
        "The value at a dotted key (\"Canopsis.global.PrefetchCount\") of a TOML file, or () when absent.",
        |h, path: &str, key: &str| -> ApiResult<Dynamic> {
            let real = h.path(path)?;
            let Some(text) = read(&h, real)? else {
                return Ok(Dynamic::UNIT);
            };
            let item = tomlfile::get(&text, key)
                .map_err(|e| script_error(format!("toml_get({path:?}): {e}")))?;
            Ok(item.map_or(Dynamic::UNIT, |i| toml_to_dynamic(&i)))
        }
    );
    api_fn!(
        r,
        "toml_set",
        "Sets a dotted key of a TOML file, keeping its comments (string, int, float, bool or array).",
        |h, path: &str, key: &str, value: Dynamic| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            let value: serde_json::Value = rhai::serde::from_dynamic(&value)
                .map_err(|e| script_error(format!("toml_set: {e}")))?;
            tomlfile::value_from_json(&value).map_err(|e| script_error(format!("toml_set: {e}")))?;
            tomlfile::get("", key).map_err(|e| script_error(format!("toml_set: {e}")))?;
            h.perform(Action::TomlSet { path, key: key.into(), value }).map(drop)
        }
    );
    api_fn!(
        r,
        "toml_remove",
        "Removes a dotted key of a TOML file, keeping its comments.",
        |h, path: &str, key: &str| -> ApiResult<()> {
            let path = h.writable_path(path)?;
            tomlfile::get("", key).map_err(|e| script_error(format!("toml_remove: {e}")))?;
            h.perform(Action::TomlRemove {
                path,
                key: key.into(),
            })
            .map(drop)
        }
    );
}

fn read(host: &Host, path: std::path::PathBuf) -> ApiResult<Option<String>> {
    match host.ask(Query::ReadFile(path))? {
        Answer::Text(text) => Ok(text),
        other => Err(mismatch("a file read", &other)),
    }
}

/// A TOML item as the script sees it: tables are maps, dates strings.
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
