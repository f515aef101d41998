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

mod scan;

use scan::scan;

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
    /// The 1-based line.
    pub line: usize,
    /// What systemd does with it.
    pub message: String,
    /// The same without the text of the file it quotes (which may hold a secret), for logs.
    without_text: Option<String>,
}

impl EnvWarning {
    /// A warning that quotes nothing of the file.
    fn plain(line: usize, message: String) -> Self {
        Self {
            line,
            message,
            without_text: None,
        }
    }

    /// A warning that quotes the file, and how to say it without the quote.
    fn quoting(line: usize, message: String, without_text: &str) -> Self {
        Self {
            line,
            message,
            without_text: Some(without_text.to_owned()),
        }
    }

    /// The message without any text of the file, safe for a log even when the file holds
    /// passwords.
    pub fn redacted(&self) -> &str {
        self.without_text.as_deref().unwrap_or(&self.message)
    }
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
    /// The key is not `[A-Za-z_][A-Za-z0-9_]*`.
    #[error("{0:?} is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")]
    InvalidName(String),
    /// The value holds a NUL.
    #[error("the value of {0} contains a NUL character, which an environment cannot hold")]
    NulInValue(String),
    /// The file's own syntax would hide the new assignment or change other variables.
    #[error("setting {key} would not take effect: {reason}")]
    NoEffect {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
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
