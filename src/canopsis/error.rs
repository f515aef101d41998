//! What can go wrong talking to the Canopsis API. No variant ever holds a credential.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// A failed Canopsis API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The base URL is not usable.
    #[error("invalid Canopsis API URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (refused before it could hold credentials in an error elsewhere).
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The request was refused before it was sent (bad colour, empty message...).
    #[error("not sent to Canopsis: {0}")]
    InvalidRequest(String),
    /// No connection could be made, or it broke.
    #[error("{method} {url}: Canopsis is unreachable: {cause}")]
    Unreachable {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The transport error.
        cause: String,
    },
    /// No complete answer within the timeout.
    #[error("{method} {url}: no answer within {timeout:?}")]
    Timeout {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// 401: the credentials were refused (after one fresh login for login credentials).
    #[error("{method} {url}: not authorized with {auth} (HTTP 401: {message})")]
    Unauthorized {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// How the client authenticated (kind and user only).
        auth: String,
        /// What the API said.
        message: String,
    },
    /// 503 because Canopsis is in maintenance mode and the user lacks the api_maintenance right.
    #[error("{method} {url}: Canopsis is under maintenance (HTTP 503: {message})")]
    Maintenance {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// What the API said.
        message: String,
    },
    /// Any other unexpected status, with what the API said.
    #[error("{method} {url}: HTTP {status}: {message}")]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The API's `error`, or its `errors` as `field: message; ...`, or the raw body.
        message: String,
        /// The API's per-field validation errors (`errors`), if any.
        fields: BTreeMap<String, String>,
    },
    /// A success status whose body is not what was expected.
    #[error("{method} {url}: the answer is not {expected}: {cause}")]
    BadJson {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// What was expected, in words.
        expected: &'static str,
        /// The parse error.
        cause: String,
    },
}

impl ApiError {
    /// Whether trying again later may succeed: unreachable, timeout, 5xx, maintenance.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } | ApiError::Timeout { .. } => true,
            ApiError::Maintenance { .. } => true,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status, when the API answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Maintenance { .. } => Some(503),
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The error bodies of the API: `{"error": "..."}` or `{"errors": {"field": "..."}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, serde_json::Value>,
}

/// What an error body says: a message for people and the per-field errors.
pub(crate) fn describe_error_body(body: &str) -> (String, BTreeMap<String, String>) {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let fields: BTreeMap<String, String> = parsed
        .errors
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    let message = match (parsed.error, fields.is_empty()) {
        (Some(error), true) => error,
        (Some(error), false) => format!("{error} ({})", join_fields(&fields)),
        (None, false) => join_fields(&fields),
        (None, true) => {
            let raw = body.trim();
            if raw.is_empty() {
                "(empty body)".to_owned()
            } else {
                truncate(raw, 200)
            }
        }
    };
    (message, fields)
}

fn join_fields(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_both_error_shapes() {
        assert_eq!(
            describe_error_body(r#"{"error":"Not found"}"#).0,
            "Not found"
        );
        let (message, fields) =
            describe_error_body(r#"{"errors":{"_id":"ID already exists.","color":"Bad."}}"#);
        assert_eq!(message, "_id: ID already exists.; color: Bad.");
        assert_eq!(fields["_id"], "ID already exists.");
        assert_eq!(describe_error_body("  ").0, "(empty body)");
        let long = "x".repeat(500);
        assert_eq!(describe_error_body(&long).0.len(), 203);
    }

    #[test]
    fn only_transient_errors_are_retried() {
        let status = |status| ApiError::Status {
            method: "GET",
            url: "u".into(),
            status,
            message: String::new(),
            fields: BTreeMap::new(),
        };
        assert!(status(500).is_transient());
        assert!(status(502).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(404).is_transient());
        assert!(ApiError::Maintenance {
            method: "GET",
            url: "u".into(),
            message: String::new()
        }
        .is_transient());
        assert!(!ApiError::InvalidRequest("x".into()).is_transient());
    }
}
