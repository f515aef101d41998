//! The file edits of the script API as pure functions: old text in, new text out. The live
//! executor reads the file, applies one of these, and writes the result atomically.

use crate::tomlfile::{self, TomlEditError};

/// `ensure_line`: append `line` unless it (or a line starting with `prefix`) is there.
pub fn ensure_line(text: &str, line: &str, prefix: Option<&str>) -> String {
    let present = text.lines().any(|l| match prefix {
        Some(prefix) => l.starts_with(prefix),
        None => l == line,
    });
    if present {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// `remove_lines`: drop every line starting with `prefix` (like `sed -i '/^prefix/d'`).
pub fn remove_lines(text: &str, prefix: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| !l.starts_with(prefix))
        .collect()
}

/// `replace_in_file`: every occurrence.
pub fn replace(text: &str, from: &str, to: &str) -> String {
    text.replace(from, to)
}

/// `toml_set`, keeping comments.
pub fn toml_set(text: &str, key: &str, value: &serde_json::Value) -> Result<String, TomlEditError> {
    tomlfile::set(text, key, tomlfile::value_from_json(value)?)
}

/// `toml_remove`, keeping comments.
pub fn toml_remove(text: &str, key: &str) -> Result<String, TomlEditError> {
    tomlfile::remove(text, key).map(|(text, _)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_line_is_idempotent_and_respects_the_prefix() {
        let conf = "a=1\ncanopsis.webcore.services.metaalarmrule=0";
        let once = ensure_line(conf, "b=2", None);
        assert_eq!(
            once,
            "a=1\ncanopsis.webcore.services.metaalarmrule=0\nb=2\n"
        );
        assert_eq!(ensure_line(&once, "b=2", None), once);
        let line = "canopsis.webcore.services.metaalarmrule=1";
        // Like the note's grep -q ^prefix: an existing setting, even =0, is left alone.
        assert_eq!(
            ensure_line(conf, line, Some("canopsis.webcore.services.metaalarmrule")),
            conf
        );
        assert_eq!(ensure_line("", "x", None), "x\n");
    }

    #[test]
    fn remove_lines_keeps_the_rest_byte_for_byte() {
        let env = "CPS_MONGO_URL=m\nCPS_INFLUX_URL=i\n# CPS_INFLUX_URL stays in a comment\nCPS_INFLUX_URL=j";
        assert_eq!(
            remove_lines(env, "CPS_INFLUX_URL"),
            "CPS_MONGO_URL=m\n# CPS_INFLUX_URL stays in a comment\n"
        );
    }

    #[test]
    fn toml_edits_keep_comments() {
        let doc = "# main\n[Canopsis.global]\nPrefetchCount = 10 # keep\n";
        let out = toml_set(doc, "Canopsis.global.PrefetchCount", &serde_json::json!(20)).unwrap();
        assert_eq!(
            out,
            "# main\n[Canopsis.global]\nPrefetchCount = 20 # keep\n"
        );
        assert_eq!(
            toml_remove(&out, "Canopsis.global.PrefetchCount").unwrap(),
            "# main\n[Canopsis.global]\n"
        );
    }
}
