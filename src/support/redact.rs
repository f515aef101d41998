//! Secrets in free text: a line a script writes (`CPS_POSTGRES_URL=postgresql://u:pw@h/db`) is
//! shown by `plan`, kept in the journal and named in errors; its passwords never are.

/// `text` with the password of every URL in it replaced by `***`, and the value of every
/// `NAME=value` whose name says it is secret (PASSWORD, SECRET, TOKEN) too.
pub fn redact_secrets(text: &str) -> String {
    let text = redact_urls(text);
    redact_secret_assignments(&text)
}

fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c == '/' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn redact_secret_assignments(text: &str) -> String {
    let Some((name, value)) = text.split_once('=') else {
        return text.to_owned();
    };
    let upper = name.trim().to_ascii_uppercase();
    let secret = ["PASSWORD", "PASSWD", "SECRET", "TOKEN"]
        .iter()
        .any(|w| upper.contains(w));
    if secret && !value.is_empty() && !value.contains("***") {
        format!("{name}=***")
    } else {
        text.to_owned()
    }
}

/// serde: serializes a text with its secrets redacted.
pub fn serialize_redacted<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_secrets(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_of_urls_and_secret_values_are_hidden() {
        assert_eq!(
            redact_secrets("CPS_POSTGRES_URL=\"postgresql://cps:S3cret@db:5432/canopsis\""),
            "CPS_POSTGRES_URL=\"postgresql://cps:***@db:5432/canopsis\""
        );
        assert_eq!(
            redact_secrets("a amqp://u:p@h/x and redis://:pw@r:6379/1"),
            "a amqp://u:***@h/x and redis://:***@r:6379/1"
        );
        assert_eq!(
            redact_secrets("CPS_API_PASSWORD=hunter2"),
            "CPS_API_PASSWORD=***"
        );
        assert_eq!(redact_secrets("http://h:8082/x a=1"), "http://h:8082/x a=1");
        assert_eq!(redact_secrets("plain text"), "plain text");
    }
}
