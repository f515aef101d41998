//! URLs in messages: a URL may hold a password, and no message ever shows one.

/// The URL with its password replaced by `***`, the user kept; the whole URL hidden when it
/// does not parse, since a password may then be anywhere in it.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password: this one has one.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_the_user_kept() {
        assert_eq!(
            redact_url("amqp://u:s3cret@h:5672/canopsis"),
            "amqp://u:***@h:5672/canopsis"
        );
        assert_eq!(redact_url("https://a:b@h/p@q"), "https://a:***@h/p@q");
        assert_eq!(redact_url("http://h:8082/"), "http://h:8082/");
        assert_eq!(redact_url("::s3cret"), "<unparsable URL>");
    }
}
