//! Reading and editing TOML documents by dotted key, keeping comments and layout (toml_edit).

use toml_edit::{DocumentMut, Item, Table, Value};

/// Why a TOML edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TomlEditError {
    /// The document does not parse.
    #[error("not valid TOML: {0}")]
    Parse(String),
    /// An empty key or an empty part in a dotted key.
    #[error("malformed key {0:?}")]
    BadKey(String),
    /// A part of the key names something that is not a table.
    #[error("{key}: {part} is not a table")]
    NotATable {
        /// The dotted key.
        key: String,
        /// The part that is not a table.
        part: String,
    },
    /// A value that TOML cannot hold.
    #[error("{0}")]
    BadValue(String),
}

fn parse(text: &str) -> Result<DocumentMut, TomlEditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| TomlEditError::Parse(e.to_string()))
}

fn split(key: &str) -> Result<Vec<&str>, TomlEditError> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(TomlEditError::BadKey(key.to_owned()));
    }
    Ok(parts)
}

/// The value at a dotted key (`Canopsis.global.PrefetchCount`), if any.
pub fn get(text: &str, key: &str) -> Result<Option<Item>, TomlEditError> {
    let doc = parse(text)?;
    let mut item = doc.as_item();
    for part in split(key)? {
        match item.get(part) {
            Some(next) => item = next,
            None => return Ok(None),
        }
    }
    Ok(Some(item.clone()))
}

/// The document with `key` set to `value`; missing tables are created.
pub fn set(text: &str, key: &str, value: Value) -> Result<String, TomlEditError> {
    let mut doc = parse(text)?;
    let parts = split(key)?;
    let (last, tables) = parts
        .split_last()
        .expect("split never returns an empty list");
    let table = walk_tables(doc.as_table_mut(), tables, key, true)?.expect("created on demand");
    match table.get_mut(last) {
        // Keep the decoration (comments, spacing) of the value being replaced.
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        Some(_) => {
            return Err(TomlEditError::NotATable {
                key: key.to_owned(),
                part: (*last).to_owned(),
            })
        }
        None => {
            table.insert(last, Item::Value(value));
        }
    }
    Ok(doc.to_string())
}

/// The document without `key`, and whether it was there.
pub fn remove(text: &str, key: &str) -> Result<(String, bool), TomlEditError> {
    let mut doc = parse(text)?;
    let parts = split(key)?;
    let (last, tables) = parts
        .split_last()
        .expect("split never returns an empty list");
    let removed = match walk_tables(doc.as_table_mut(), tables, key, false)? {
        Some(table) => table.remove(last).is_some(),
        None => false,
    };
    Ok((doc.to_string(), removed))
}

fn walk_tables<'t>(
    mut table: &'t mut Table,
    parts: &[&str],
    key: &str,
    create: bool,
) -> Result<Option<&'t mut Table>, TomlEditError> {
    for part in parts {
        if !table.contains_key(part) {
            if !create {
                return Ok(None);
            }
            let mut new = Table::new();
            new.set_implicit(true);
            table.insert(part, Item::Table(new));
        }
        table = table
            .get_mut(part)
            .and_then(Item::as_table_mut)
            .ok_or_else(|| TomlEditError::NotATable {
                key: key.to_owned(),
                part: (*part).to_owned(),
            })?;
    }
    Ok(Some(table))
}

/// A TOML value from JSON (scalars and arrays of them; null is refused).
pub fn value_from_json(json: &serde_json::Value) -> Result<Value, TomlEditError> {
    use serde_json::Value as J;
    Ok(match json {
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(value_from_json(item)?);
            }
            Value::Array(array)
        }
        J::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                table.insert(k, value_from_json(v)?);
            }
            Value::InlineTable(table)
        }
        J::Null => {
            return Err(TomlEditError::BadValue(
                "TOML has no null value (use toml_remove)".into(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Canopsis main config\n[Canopsis.global]\n# how many\nPrefetchCount = 10000 # keep\nReconnectRetries = 3\n\n[Canopsis.api]\nTokenSigningMethod = \"HS256\"\n";

    #[test]
    fn gets_by_dotted_key() {
        let item = get(DOC, "Canopsis.global.PrefetchCount").unwrap().unwrap();
        assert_eq!(item.as_integer(), Some(10000));
        assert!(get(DOC, "Canopsis.global.Missing").unwrap().is_none());
        assert!(get(DOC, "Nope.x").unwrap().is_none());
    }

    #[test]
    fn set_keeps_comments_and_layout() {
        let out = set(DOC, "Canopsis.global.PrefetchCount", Value::from(100)).unwrap();
        assert_eq!(out, DOC.replace("10000 # keep", "100 # keep"));
        let out = set(DOC, "Canopsis.api.New", Value::from("x")).unwrap();
        assert!(
            out.contains("TokenSigningMethod = \"HS256\"\nNew = \"x\"\n"),
            "{out}"
        );
        assert!(out.starts_with("# Canopsis main config\n"));
    }

    #[test]
    fn set_creates_missing_tables() {
        let out = set(DOC, "Canopsis.metrics.Enabled", Value::from(true)).unwrap();
        assert_eq!(
            get(&out, "Canopsis.metrics.Enabled")
                .unwrap()
                .unwrap()
                .as_bool(),
            Some(true)
        );
    }

    #[test]
    fn remove_reports_whether_it_was_there() {
        let (out, removed) = remove(DOC, "Canopsis.global.ReconnectRetries").unwrap();
        assert!(removed);
        assert!(!out.contains("ReconnectRetries"));
        assert!(out.contains("# how many"));
        let (same, removed) = remove(DOC, "Canopsis.nothing.here").unwrap();
        assert!(!removed);
        assert_eq!(same, DOC);
    }

    #[test]
    fn refuses_bad_keys_and_documents() {
        assert!(matches!(get(DOC, "a..b"), Err(TomlEditError::BadKey(_))));
        assert!(matches!(get("a = [", "a"), Err(TomlEditError::Parse(_))));
        assert!(matches!(
            set(DOC, "Canopsis.global.PrefetchCount.x", Value::from(1)),
            Err(TomlEditError::NotATable { .. })
        ));
    }
}
