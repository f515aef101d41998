//! Small text helpers shared by the parsers.

/// The 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `text` with its control characters (C0, DEL, C1) escaped as `\n`, `\t`, `\r` or
/// `\u{..}`: a text from a script, a file name or a command's output can then never add lines
/// to an sd_notify datagram or forge a log line. Other characters pass as they are.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{escape_controls, line_col};

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(
            escape_controls("3/5 4.5.0 after_update: é ✓"),
            "3/5 4.5.0 after_update: é ✓"
        );
        assert_eq!(
            escape_controls("a\nMAINPID=1\nSTOPPING=1"),
            "a\\nMAINPID=1\\nSTOPPING=1"
        );
        assert_eq!(
            escape_controls("\t\r\u{0}\u{7f}\u{85}x"),
            "\\t\\r\\u{0}\\u{7f}\\u{85}x"
        );
    }

    #[test]
    fn counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('=').unwrap()), (1, 3));
        assert_eq!(line_col(text, text.rfind('=').unwrap()), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
