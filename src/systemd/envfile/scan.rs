//! systemd 252's reader of environment files (`parse_env_file_internal`), as a state machine
//! fed one character at a time. Line numbers count `\n` only, and an assignment's line is the
//! one its key starts on (systemd's own messages may be off by one).

use std::ops::Range;

use super::{is_valid_name, EnvWarning};

/// One `KEY=...` as systemd reads it, valid name or not.
#[derive(Debug)]
pub(super) struct Assignment {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) valid: bool,
    /// From the first character of the key to the end of the value (before the newline that
    /// ends it, or the end of the text).
    pub(super) span: Range<usize>,
}

/// Every assignment read and every warning, in line order.
pub(super) struct Scan {
    pub(super) assignments: Vec<Assignment>,
    pub(super) warnings: Vec<EnvWarning>,
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

/// Reads the whole text (see the module documentation).
pub(super) fn scan(text: &str) -> Scan {
    let mut scanner = Scanner::default();
    let mut end = text.len();
    for (pos, c) in text.char_indices() {
        if c == '\0' {
            scanner.warn(
                scanner.line,
                "NUL character: systemd stops reading the file here".to_string(),
            );
            end = pos;
            break;
        }
        scanner.step(pos, c);
        if c == '\n' {
            scanner.line += 1;
        }
    }
    scanner.end_of_text(end);
    scanner.warnings.sort_by_key(|w| w.line);
    Scan {
        assignments: scanner.assignments,
        warnings: scanner.warnings,
    }
}

/// The reader's state between two characters.
struct Scanner {
    state: State,
    /// The current line (1-based).
    line: usize,
    key: String,
    value: String,
    /// Where the trailing whitespace of the key starts (systemd's last_key_whitespace).
    key_ws: Option<usize>,
    /// Where the trailing whitespace of the value starts (systemd's last_value_whitespace).
    value_ws: Option<usize>,
    /// Byte offset and line of the current key's first character.
    start: usize,
    start_line: usize,
    /// Where the open quote, or the current comment, started.
    quote_line: usize,
    comment_line: usize,
    assignments: Vec<Assignment>,
    warnings: Vec<EnvWarning>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            state: State::PreKey,
            line: 1,
            key: String::new(),
            value: String::new(),
            key_ws: None,
            value_ws: None,
            start: 0,
            start_line: 1,
            quote_line: 1,
            comment_line: 1,
            assignments: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl Scanner {
    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(EnvWarning::plain(line, message));
    }

    /// One character, at byte offset `pos`.
    fn step(&mut self, pos: usize, c: char) {
        match self.state {
            State::PreKey => self.pre_key(pos, c),
            State::Key => self.in_key(c),
            State::PreValue => self.pre_value(pos, c),
            State::Value => self.in_value(pos, c),
            State::ValueEscape => {
                self.state = State::Value;
                if !is_newline(c) {
                    self.value.push(c);
                }
            }
            State::SingleQuote => self.single_quoted(c),
            State::DoubleQuote => self.double_quoted(c),
            State::DoubleQuoteEscape => self.double_quote_escape(c),
            State::Comment => self.comment(c),
            State::CommentEscape => self.comment_escape(c),
        }
    }

    fn pre_key(&mut self, pos: usize, c: char) {
        if c == '#' || c == ';' {
            self.state = State::Comment;
            self.comment_line = self.line;
        } else if !is_whitespace(c) {
            self.state = State::Key;
            self.key.clear();
            self.key.push(c);
            self.key_ws = None;
            self.start = pos;
            self.start_line = self.line;
        }
    }

    fn in_key(&mut self, c: char) {
        if is_newline(c) {
            self.warnings.push(no_equals(self.start_line, &self.key));
            self.state = State::PreKey;
        } else if c == '=' {
            self.state = State::PreValue;
            self.value.clear();
            self.value_ws = None;
        } else {
            if !is_whitespace(c) {
                self.key_ws = None;
            } else if self.key_ws.is_none() {
                self.key_ws = Some(self.key.len());
            }
            self.key.push(c);
        }
    }

    fn pre_value(&mut self, pos: usize, c: char) {
        if is_newline(c) {
            self.finish(None, pos);
            self.state = State::PreKey;
        } else if c == '\'' {
            self.state = State::SingleQuote;
            self.quote_line = self.line;
        } else if c == '"' {
            self.state = State::DoubleQuote;
            self.quote_line = self.line;
        } else if c == '\\' {
            self.state = State::ValueEscape;
        } else if !is_whitespace(c) {
            self.state = State::Value;
            self.value.push(c);
        }
    }

    fn in_value(&mut self, pos: usize, c: char) {
        if is_newline(c) {
            self.finish(self.value_ws, pos);
            self.state = State::PreKey;
        } else if c == '\\' {
            self.state = State::ValueEscape;
            self.value_ws = None;
        } else {
            if !is_whitespace(c) {
                self.value_ws = None;
            } else if self.value_ws.is_none() {
                self.value_ws = Some(self.value.len());
            }
            self.value.push(c);
        }
    }

    fn single_quoted(&mut self, c: char) {
        if c == '\'' {
            self.state = State::PreValue;
        } else {
            self.value.push(c);
        }
    }

    fn double_quoted(&mut self, c: char) {
        if c == '"' {
            self.state = State::PreValue;
        } else if c == '\\' {
            self.state = State::DoubleQuoteEscape;
        } else {
            self.value.push(c);
        }
    }

    fn double_quote_escape(&mut self, c: char) {
        self.state = State::DoubleQuote;
        if matches!(c, '"' | '\\' | '`' | '$') {
            self.value.push(c);
        } else if c != '\n' {
            self.value.push('\\');
            self.value.push(c);
        }
    }

    fn comment(&mut self, c: char) {
        if c == '\\' {
            self.state = State::CommentEscape;
        } else if is_newline(c) {
            self.state = State::PreKey;
        }
    }

    fn comment_escape(&mut self, c: char) {
        if c == '\n' {
            let message = format!(
                "comment ends with a backslash: systemd 252 also ignores line {} \
                 (systemd 254 and later do not)",
                self.line + 1
            );
            self.warn(self.comment_line, message);
        }
        self.state = State::Comment;
    }

    /// The text ended (or a NUL stopped it) at byte offset `end`.
    fn end_of_text(&mut self, end: usize) {
        match self.state {
            State::Key => self.warnings.push(no_equals(self.start_line, &self.key)),
            State::SingleQuote | State::DoubleQuote | State::DoubleQuoteEscape => {
                self.warn(
                    self.quote_line,
                    "unterminated quote: systemd takes the rest of the file as the value"
                        .to_string(),
                );
                self.finish(None, end);
            }
            State::Value => self.finish(self.value_ws, end),
            State::PreValue | State::ValueEscape => self.finish(None, end),
            State::PreKey | State::Comment | State::CommentEscape => {}
        }
    }

    /// Records the current assignment, its value cut at `chomp` (trailing whitespace), its
    /// span ending at `end`.
    fn finish(&mut self, chomp: Option<usize>, end: usize) {
        if let Some(at) = self.key_ws {
            self.key.truncate(at);
        }
        if let Some(at) = chomp {
            self.value.truncate(at);
        }
        let valid = is_valid_name(&self.key);
        if !valid {
            let hint = if self.key.starts_with("export ") || self.key.starts_with("export\t") {
                " (`export` is shell syntax, systemd does not understand it)"
            } else {
                ""
            };
            let message = format!(
                "invalid variable name {:?}: systemd ignores this assignment{hint}",
                self.key
            );
            let without_text =
                format!("invalid variable name: systemd ignores this assignment{hint}");
            self.warnings
                .push(EnvWarning::quoting(self.start_line, message, &without_text));
        }
        self.assignments.push(Assignment {
            key: std::mem::take(&mut self.key),
            value: std::mem::take(&mut self.value),
            valid,
            span: self.start..end,
        });
    }
}

fn no_equals(line: usize, key: &str) -> EnvWarning {
    EnvWarning::quoting(
        line,
        format!("no '=' in {:?}: systemd ignores this line", key.trim_end()),
        "no '=': systemd ignores this line",
    )
}
