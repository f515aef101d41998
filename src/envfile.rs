//! systemd `EnvironmentFile=` files (`/opt/canopsis/etc/go-engines-vars.conf`, a compose `.env`).
//!
//! The engines get their environment from systemd, so a command run "in the engines'
//! environment" must see exactly what systemd would give them. [`parse`] follows systemd 252's
//! own reader (`parse_env_file_internal` in src/basic/env-file.c, then the validity filter of
//! `exec_context_load_environment`) character for character:
//!
//! - `KEY=VALUE` assignments; whitespace around the key is trimmed; blank lines and lines whose
//!   first non-blank character is `#` or `;` are comments. A `#` anywhere else is data:
//!   `A=b#c` is `b#c`.
//! - The value's leading whitespace is skipped. Unquoted text has its trailing whitespace
//!   trimmed, and a backslash takes the next character literally (a backslash before a newline
//!   continues the value on the next line).
//! - A quote only opens at the start of the value or right after a closing quote: `"..."` keeps
//!   everything, a backslash escapes `"`, `\`, `` ` ``, `$` and a newline (continuation) and is
//!   kept before any other character; `'...'` is literal. Quoted and unquoted parts that follow a
//!   closing quote concatenate (`"b c"d` is `b cd`, `'a' "b"` is `ab`), but once unquoted text has
//!   started, quotes are ordinary characters (`a"b c"` is `a"b c"`).
//! - `\r` ends a line like `\n` (outside quotes), so CRLF files read as expected.
//! - A line without `=`, or whose key is not `[A-Za-z_][A-Za-z0-9_]*` (`export A=b` included),
//!   is ignored by systemd with a warning in its log: here it is an [`EnvWarning`] with its line.
//! - A later assignment of a key wins.
//! - systemd 252 (not 254 and later) lets a comment line ending with a backslash swallow the
//!   next line; reading stops at a NUL character. Both are reported as warnings too.
//!
//! [`set`] edits such a file in place, keeping every other byte.

use std::fmt;
use std::ops::Range;

/// The parsed file: what systemd would put in the environment, plus what it would complain about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    /// Every valid assignment, in file order; a key may repeat, the last value wins on lookup.
    pub vars: Vec<(String, String)>,
    /// Lines systemd would ignore (or read surprisingly), in line order.
    pub warnings: Vec<EnvWarning>,
}

/// Something systemd would skip or read in a surprising way, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWarning {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl EnvFile {
    /// The value systemd would give `key` (its last assignment).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The environment as systemd builds it: one entry per key, at the place of its first
    /// assignment, with the value of its last one.
    pub fn resolved(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::with_capacity(self.vars.len());
        for (key, value) in &self.vars {
            match out.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => out.push((key.clone(), value.clone())),
            }
        }
        out
    }
}

/// Whether systemd accepts `name` as a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the text of an environment file the way systemd 252 does (see the module docs).
pub fn parse(text: &str) -> EnvFile {
    let scan = scan(text);
    EnvFile {
        vars: scan
            .assignments
            .into_iter()
            .filter(|a| a.valid)
            .map(|a| (a.key, a.value))
            .collect(),
        warnings: scan.warnings,
    }
}

/// Why [`try_set`] could not set a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("{0:?} is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")]
    InvalidName(String),
    #[error("the value of {0} contains a NUL character, which an environment cannot hold")]
    NulInValue(String),
    #[error("setting {key} would not take effect: {reason}")]
    NoEffect { key: String, reason: String },
}

/// The file's text with `key` set to `value`; see [`try_set`].
///
/// # Panics
/// When [`try_set`] fails: an invalid name, a NUL in the value, or a file whose own syntax
/// would swallow the new line (an unterminated quote at its end). Callers handling
/// arbitrary input should use [`try_set`].
pub fn set(text: &str, key: &str, value: &str) -> String {
    match try_set(text, key, value) {
        Ok(text) => text,
        Err(e) => panic!("envfile::set: {e}"),
    }
}

/// The file's text with `key` set to `value`: the last assignment of `key` is replaced in place
/// (all of it, continuation lines included), every other byte is kept; without one,
/// `KEY=value` is appended on a line of its own (after adding the missing final newline, if
/// any). The value is written double-quoted (escaping `"`, `\`, `` ` ``, `$`) when it holds
/// anything that systemd or a shell sourcing the file would read differently: whitespace,
/// control characters, quotes, `#`, `;`, `\`, `$`, backticks, and the shell's `*?[()<>|&!~`
/// (systemd's own writer quotes the same set, plus `#` and `~`).
///
/// The result is checked by parsing it again: `parse(result).get(key) == Some(value)` and the
/// other keys keep their values.
pub fn try_set(text: &str, key: &str, value: &str) -> Result<String, SetError> {
    if !is_valid_name(key) {
        return Err(SetError::InvalidName(key.to_string()));
    }
    if value.contains('\0') {
        return Err(SetError::NulInValue(key.to_string()));
    }
    let line = format!("{key}={}", quote(value));
    let scanned = scan(text);
    let out = match scanned
        .assignments
        .iter()
        .rev()
        .find(|a| a.valid && a.key == key)
    {
        Some(a) => {
            let mut out = String::with_capacity(text.len() + line.len());
            out.push_str(&text[..a.span.start]);
            out.push_str(&line);
            out.push_str(&text[a.span.end..]);
            out
        }
        None => {
            let mut out = String::with_capacity(text.len() + line.len() + 2);
            out.push_str(text);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
            out.push('\n');
            out
        }
    };

    // The edit must do exactly what it says, as systemd will read it.
    let before = parse(text);
    let after = parse(&out);
    if after.get(key) != Some(value) {
        return Err(SetError::NoEffect {
            key: key.to_string(),
            reason: match scanned.warnings.last() {
                Some(w) => format!("the file's syntax swallows the new assignment ({w})"),
                None => "the file's syntax swallows the new assignment".to_string(),
            },
        });
    }
    let others = |f: &EnvFile| -> Vec<(String, String)> {
        f.resolved().into_iter().filter(|(k, _)| k != key).collect()
    };
    if others(&before) != others(&after) {
        return Err(SetError::NoEffect {
            key: key.to_string(),
            reason: "the edit would change other variables of the file".to_string(),
        });
    }
    Ok(out)
}

/// `value` as written by [`try_set`]: bare when that reads back the same in systemd and in a
/// shell, else double-quoted with `"`, `\`, `` ` ``, `$` escaped.
pub fn quote(value: &str) -> String {
    let needs_quotes = value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"'\\`$#;*?[()<>|&!~".contains(c));
    if !needs_quotes {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One `KEY=...` as systemd reads it, valid name or not.
#[derive(Debug)]
struct Assignment {
    key: String,
    value: String,
    valid: bool,
    /// From the first character of the key to the end of the value (before the newline that
    /// ends it, or the end of the text).
    span: Range<usize>,
}

struct Scan {
    assignments: Vec<Assignment>,
    warnings: Vec<EnvWarning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// The systemd state machine. Line numbers count `\n` only, and an assignment's line is the
/// one its key starts on (systemd's own messages may be off by one).
fn scan(text: &str) -> Scan {
    let mut assignments = Vec::new();
    let mut warnings = Vec::new();
    let mut state = State::PreKey;
    let mut line = 1usize;
    let mut key = String::new();
    let mut value = String::new();
    // Byte offsets where trailing whitespace starts (systemd's last_*_whitespace).
    let mut key_ws: Option<usize> = None;
    let mut value_ws: Option<usize> = None;
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut quote_line = 1usize;
    let mut comment_line = 1usize;
    let mut end = text.len();

    let mut finish = |key: &mut String,
                      value: &mut String,
                      key_ws: Option<usize>,
                      chomp: Option<usize>,
                      start: usize,
                      start_line: usize,
                      end: usize,
                      warnings: &mut Vec<EnvWarning>| {
        if let Some(at) = key_ws {
            key.truncate(at);
        }
        if let Some(at) = chomp {
            value.truncate(at);
        }
        let valid = is_valid_name(key);
        if !valid {
            let hint = if key.starts_with("export ") || key.starts_with("export\t") {
                " (`export` is shell syntax, systemd does not understand it)"
            } else {
                ""
            };
            warnings.push(EnvWarning {
                line: start_line,
                message: format!(
                    "invalid variable name {key:?}: systemd ignores this assignment{hint}"
                ),
            });
        }
        assignments.push(Assignment {
            key: std::mem::take(key),
            value: std::mem::take(value),
            valid,
            span: start..end,
        });
    };

    for (pos, c) in text.char_indices() {
        if c == '\0' {
            warnings.push(EnvWarning {
                line,
                message: "NUL character: systemd stops reading the file here".to_string(),
            });
            end = pos;
            break;
        }
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                    comment_line = line;
                } else if !is_whitespace(c) {
                    state = State::Key;
                    key.clear();
                    key.push(c);
                    key_ws = None;
                    start = pos;
                    start_line = line;
                }
            }
            State::Key => {
                if is_newline(c) {
                    warnings.push(no_equals(start_line, &key));
                    state = State::PreKey;
                } else if c == '=' {
                    state = State::PreValue;
                    value.clear();
                    value_ws = None;
                } else {
                    if !is_whitespace(c) {
                        key_ws = None;
                    } else if key_ws.is_none() {
                        key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            State::PreValue => {
                if is_newline(c) {
                    finish(
                        &mut key,
                        &mut value,
                        key_ws,
                        None,
                        start,
                        start_line,
                        pos,
                        &mut warnings,
                    );
                    state = State::PreKey;
                } else if c == '\'' {
                    state = State::SingleQuote;
                    quote_line = line;
                } else if c == '"' {
                    state = State::DoubleQuote;
                    quote_line = line;
                } else if c == '\\' {
                    state = State::ValueEscape;
                } else if !is_whitespace(c) {
                    state = State::Value;
                    value.push(c);
                }
            }
            State::Value => {
                if is_newline(c) {
                    finish(
                        &mut key,
                        &mut value,
                        key_ws,
                        value_ws,
                        start,
                        start_line,
                        pos,
                        &mut warnings,
                    );
                    state = State::PreKey;
                } else if c == '\\' {
                    state = State::ValueEscape;
                    value_ws = None;
                } else {
                    if !is_whitespace(c) {
                        value_ws = None;
                    } else if value_ws.is_none() {
                        value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            State::ValueEscape => {
                state = State::Value;
                if !is_newline(c) {
                    value.push(c);
                }
            }
            State::SingleQuote => {
                if c == '\'' {
                    state = State::PreValue;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuote => {
                if c == '"' {
                    state = State::PreValue;
                } else if c == '\\' {
                    state = State::DoubleQuoteEscape;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuoteEscape => {
                state = State::DoubleQuote;
                if matches!(c, '"' | '\\' | '`' | '$') {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                } else if is_newline(c) {
                    state = State::PreKey;
                }
            }
            State::CommentEscape => {
                if c == '\n' {
                    warnings.push(EnvWarning {
                        line: comment_line,
                        message: format!(
                            "comment ends with a backslash: systemd 252 also ignores line {} \
                             (systemd 254 and later do not)",
                            line + 1
                        ),
                    });
                }
                state = State::Comment;
            }
        }
        if c == '\n' {
            line += 1;
        }
    }

    match state {
        State::Key => warnings.push(no_equals(start_line, &key)),
        State::PreValue
        | State::Value
        | State::ValueEscape
        | State::SingleQuote
        | State::DoubleQuote
        | State::DoubleQuoteEscape => {
            if matches!(
                state,
                State::SingleQuote | State::DoubleQuote | State::DoubleQuoteEscape
            ) {
                warnings.push(EnvWarning {
                    line: quote_line,
                    message: "unterminated quote: systemd takes the rest of the file as the value"
                        .to_string(),
                });
            }
            let chomp = if state == State::Value {
                value_ws
            } else {
                None
            };
            finish(
                &mut key,
                &mut value,
                key_ws,
                chomp,
                start,
                start_line,
                end,
                &mut warnings,
            );
        }
        State::PreKey | State::Comment | State::CommentEscape => {}
    }
    warnings.sort_by_key(|w| w.line);
    Scan {
        assignments,
        warnings,
    }
}

fn no_equals(line: usize, key: &str) -> EnvWarning {
    EnvWarning {
        line,
        message: format!("no '=' in {:?}: systemd ignores this line", key.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(text).vars
    }

    fn one(text: &str) -> String {
        let file = parse(text);
        assert_eq!(file.vars.len(), 1, "{text:?} gave {:?}", file.vars);
        file.vars[0].1.clone()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn facts_example() {
        let file = parse(
            "CPS_AMQP_URL=\"amqp://cpsrabbit:canopsis@localhost:5672/canopsis\"\n\
             CPS_API_URL=http://localhost:8082\n",
        );
        assert_eq!(
            file.get("CPS_AMQP_URL"),
            Some("amqp://cpsrabbit:canopsis@localhost:5672/canopsis")
        );
        assert_eq!(file.get("CPS_API_URL"), Some("http://localhost:8082"));
        assert!(file.warnings.is_empty());
        assert_eq!(file.get("CPS_MONGO_URL"), None);
    }

    #[test]
    fn simple_assignments_in_order() {
        assert_eq!(
            vars("A=1\nB=two\nC=\n"),
            pairs(&[("A", "1"), ("B", "two"), ("C", "")])
        );
        // No final newline.
        assert_eq!(vars("A=1\nB=2"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(vars("A="), pairs(&[("A", "")]));
        // The value may hold '='.
        assert_eq!(one("URL=http://h/?a=b"), "http://h/?a=b");
    }

    #[test]
    fn comments_and_blank_lines() {
        let file = parse("# comment\n\n   \n; semicolon comment\n  # indented\nA=1\n\t;x=y\n");
        assert_eq!(file.vars, pairs(&[("A", "1")]));
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn hash_only_starts_a_comment_at_line_start() {
        assert_eq!(one("A=b#c"), "b#c");
        assert_eq!(one("A=b #c"), "b #c");
        assert_eq!(one("A=\"b#c\""), "b#c");
        assert_eq!(one("A='b # c'"), "b # c");
        assert_eq!(one("A=#x"), "#x");
        assert_eq!(one("A=;x"), ";x");
    }

    #[test]
    fn whitespace_around_key_and_value() {
        assert_eq!(vars("  A  =  b  \n"), pairs(&[("A", "b")]));
        assert_eq!(vars("\tA\t=\tb c\t\n"), pairs(&[("A", "b c")]));
        // Whitespace inside the key makes it invalid.
        let file = parse("A B=c\n");
        assert!(file.vars.is_empty());
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].line, 1);
    }

    #[test]
    fn unquoted_backslash_escapes() {
        assert_eq!(one(r"A=a\ b"), "a b");
        assert_eq!(one(r"A=a\\b"), r"a\b");
        assert_eq!(one(r"A=\$HOME"), "$HOME");
        assert_eq!(one(r#"A=\"x\""#), "\"x\"");
        assert_eq!(one(r"A=\n"), "n");
        // An escaped trailing space is kept, a plain one is trimmed.
        assert_eq!(one("A=x\\  \n"), "x ");
        // A backslash at the end of the text is dropped.
        assert_eq!(one("A=x\\"), "x");
    }

    #[test]
    fn unquoted_continuation_lines() {
        let file = parse("A=one\\\ntwo\nB=3\n");
        assert_eq!(file.vars, pairs(&[("A", "onetwo"), ("B", "3")]));
        // The continuation keeps the next line's leading whitespace.
        assert_eq!(one("A=one \\\n  two\n"), "one   two");
        // A backslash right after '=' continues too.
        assert_eq!(one("A=\\\nx\n"), "x");
    }

    #[test]
    fn double_quotes() {
        assert_eq!(one("A=\"  spaced  out  \""), "  spaced  out  ");
        assert_eq!(one(r#"A="q\"uote""#), "q\"uote");
        assert_eq!(one(r#"A="back\\slash""#), r"back\slash");
        assert_eq!(one(r#"A="\`cmd\`""#), "`cmd`");
        assert_eq!(one(r#"A="\$HOME""#), "$HOME");
        // Other backslashes are kept, as a shell would.
        assert_eq!(one(r#"A="a\nb\tc""#), r"a\nb\tc");
        assert_eq!(one(r#"A="it's""#), "it's");
        // A newline inside quotes is part of the value; backslash-newline continues the line.
        assert_eq!(one("A=\"one\ntwo\""), "one\ntwo");
        assert_eq!(one("A=\"one\\\ntwo\""), "onetwo");
        // Trailing whitespace after the closing quote is not part of the value.
        assert_eq!(one("A=\"x \"   \n"), "x ");
        assert_eq!(one("A=\"\""), "");
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(one(r"A='a\b $c \'"), r"a\b $c \");
        assert_eq!(one("A='say \"hi\"'"), "say \"hi\"");
        assert_eq!(one("A='multi\nline'"), "multi\nline");
        assert_eq!(one("A=''"), "");
    }

    #[test]
    fn quoted_and_unquoted_parts_concatenate() {
        assert_eq!(one("A=\"b c\"d"), "b cd");
        assert_eq!(one("A='b c'\"d e\""), "b cd e");
        assert_eq!(one("A=\"b\" 'c'"), "bc");
        assert_eq!(one("A=\"b c\"d e  "), "b cd e");
        // Once unquoted text has started, quotes are plain characters (systemd, unlike a shell).
        assert_eq!(one("A=a\"b c\"d"), "a\"b c\"d");
        assert_eq!(one("A=a 'b'"), "a 'b'");
    }

    #[test]
    fn crlf_lines() {
        let file = parse("A=1\r\nB=\"two\"\r\n# c\r\nC=3\r\n");
        assert_eq!(file.vars, pairs(&[("A", "1"), ("B", "two"), ("C", "3")]));
        assert!(file.warnings.is_empty());
    }

    #[test]
    fn lines_without_equals_are_warnings() {
        let file = parse("A=1\nJUSTAWORD\nB=2\nlast words");
        assert_eq!(file.vars, pairs(&[("A", "1"), ("B", "2")]));
        let lines: Vec<usize> = file.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [2, 4]);
        assert!(
            file.warnings[0].message.contains("JUSTAWORD"),
            "{}",
            file.warnings[0]
        );
        assert!(file.warnings[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn invalid_keys_are_warnings() {
        let file = parse("1A=x\nA-B=y\nexport C=z\nÉ=1\nGOOD_1=ok\n_u=2\n");
        assert_eq!(file.vars, pairs(&[("GOOD_1", "ok"), ("_u", "2")]));
        let lines: Vec<usize> = file.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert!(file.warnings[2].message.contains("export"));
        // An empty key ("=x") is invalid too.
        let file = parse("=x\n");
        assert!(file.vars.is_empty());
        assert_eq!(file.warnings.len(), 1);
    }

    #[test]
    fn warning_lines_account_for_multiline_values() {
        let file = parse("A=\"x\ny\"\nB=1\\\n2\nbad line\n");
        assert_eq!(file.vars, pairs(&[("A", "x\ny"), ("B", "12")]));
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].line, 5);
    }

    #[test]
    fn later_duplicates_win() {
        let file = parse("A=1\nB=2\nA=3\n");
        assert_eq!(file.get("A"), Some("3"));
        assert_eq!(file.vars.len(), 3);
        assert_eq!(file.resolved(), pairs(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn comment_ending_with_backslash_swallows_the_next_line_in_systemd_252() {
        let file = parse("# note \\\nA=1\nB=2\n");
        assert_eq!(file.vars, pairs(&[("B", "2")]));
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].line, 1);
        assert!(file.warnings[0].message.contains("line 2"));
        // A CRLF line ending is consumed by the backslash, the LF then ends the comment.
        assert_eq!(parse("# note \\\r\nA=1\n").vars, pairs(&[("A", "1")]));
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        let file = parse("A=\"open\nB=2\n");
        assert_eq!(file.vars, pairs(&[("A", "open\nB=2\n")]));
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].line, 1);
    }

    #[test]
    fn nul_stops_reading() {
        let file = parse("A=1\nB=2\0junk\nC=3\n");
        assert_eq!(file.vars, pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].line, 2);
    }

    #[test]
    fn non_ascii_values() {
        assert_eq!(one("A=héllo wörld ✓"), "héllo wörld ✓");
        assert_eq!(one("A=\"ünï\" "), "ünï");
    }

    #[test]
    fn names() {
        for ok in ["A", "_", "a_1", "CPS_AMQP_URL"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=", "É"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("amqp://u:p@h:5672/v"), "amqp://u:p@h:5672/v");
        assert_eq!(quote(""), "");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("a#b"), "\"a#b\"");
        assert_eq!(quote("a&b"), "\"a&b\"");
        assert_eq!(quote(r#"q"$`\"#), r#""q\"\$\`\\""#);
        assert_eq!(quote("it's"), "\"it's\"");
    }

    #[test]
    fn set_replaces_the_last_assignment_in_place() {
        let text = "# head\nA=1 # not a comment\n\n; other\nB=2\nA=old\nC=3\n";
        assert_eq!(
            set(text, "A", "new"),
            "# head\nA=1 # not a comment\n\n; other\nB=2\nA=new\nC=3\n"
        );
        // Indentation and an unusual spacing are kept around the edit.
        assert_eq!(set("  A = 'x'  \nB=1", "A", "y"), "  A=y\nB=1");
        // The whole multi-line assignment is replaced.
        assert_eq!(
            set("A=\"one\ntwo\"\nB=1\\\n2\nC=3\n", "B", "x y"),
            "A=\"one\ntwo\"\nB=\"x y\"\nC=3\n"
        );
        // CRLF endings stay.
        assert_eq!(set("A=1\r\nB=2\r\n", "A", "9"), "A=9\r\nB=2\r\n");
        // An assignment with an invalid key is not an assignment of anything.
        assert_eq!(set("export A=1\n", "A", "2"), "export A=1\nA=2\n");
        // A line that a backslash comment swallows is not an assignment.
        assert_eq!(set("# c \\\nA=1\n", "A", "2"), "# c \\\nA=1\nA=2\n");
    }

    #[test]
    fn set_appends_when_missing() {
        assert_eq!(set("", "A", "1"), "A=1\n");
        assert_eq!(set("B=2\n", "A", "1"), "B=2\nA=1\n");
        assert_eq!(set("B=2", "A", "1"), "B=2\nA=1\n");
        assert_eq!(
            set("# only a comment", "A", "x y"),
            "# only a comment\nA=\"x y\"\n"
        );
    }

    #[test]
    fn set_refuses_what_cannot_work() {
        assert_eq!(
            try_set("", "1A", "x"),
            Err(SetError::InvalidName("1A".to_string()))
        );
        assert_eq!(
            try_set("", "A", "x\0y"),
            Err(SetError::NulInValue("A".to_string()))
        );
        // An unterminated quote at the end of the file would swallow an appended line.
        assert!(matches!(
            try_set("B=\"open\n", "A", "1"),
            Err(SetError::NoEffect { .. })
        ));
        // A trailing backslash comment without a final newline would swallow it too.
        assert!(matches!(
            try_set("# c \\", "A", "1"),
            Err(SetError::NoEffect { .. })
        ));
    }

    #[test]
    #[should_panic(expected = "not a valid environment variable name")]
    fn set_panics_on_invalid_names() {
        set("", "A B", "x");
    }

    #[test]
    fn set_round_trips_tricky_values() {
        let values = [
            "",
            "plain",
            "amqp://cpsrabbit:canopsis@localhost:5672/canopsis",
            "mongodb://u:p@h:27017/canopsis?replicaSet=rs0&w=majority",
            "with space",
            " leading",
            "trailing ",
            "  ",
            "\t",
            "tab\there",
            "new\nline",
            "\n",
            "ends with newline\n",
            "carriage\rreturn",
            "crlf\r\n",
            "quote\"d",
            "\"",
            "'",
            "single'quote",
            "back\\slash",
            "\\",
            "trailing\\",
            "\\\n",
            "\\\"",
            "dollar$HOME",
            "${X}",
            "`cmd`",
            "hash#x",
            "#start",
            ";semi",
            "a=b",
            "==",
            "héllo ✓",
            "~/x",
            "*?[]",
            "a|b>c<d(e)!",
            "\u{7f}\u{1}",
        ];
        let texts = [
            "",
            "K=old\n",
            "K=old",
            "# comment\nK=\"old\nvalue\"\nOTHER=1\n",
            "K=1\nOTHER=x y\nK=2\\\n3\n",
            "OTHER=1\r\nK=old\r\n",
            "OTHER='kept'",
            "export K=shell\n",
        ];
        for text in texts {
            let before = parse(text);
            for value in values {
                let out = set(text, "K", value);
                let after = parse(&out);
                assert_eq!(
                    after.get("K"),
                    Some(value),
                    "value {value:?} in {text:?} gave {out:?}"
                );
                assert_eq!(
                    after.get("OTHER"),
                    before.get("OTHER"),
                    "value {value:?} in {text:?} gave {out:?}"
                );
                // Setting again the same value changes nothing.
                assert_eq!(set(&out, "K", value), out, "value {value:?} in {text:?}");
            }
        }
    }
}
