//! Errors in messages: an error with its causes on one line.

/// An error and its causes, `a: b: c`, each said once (a cause whose text an earlier part
/// already holds is left out: many errors repeat their source in their own text).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    #[test]
    fn causes_follow_each_said_once() {
        let inner = Layer {
            text: "connection refused",
            source: None,
        };
        let middle = Layer {
            text: "tcp connect error: connection refused",
            source: Some(Box::new(inner)),
        };
        let outer = Layer {
            text: "error sending request",
            source: Some(Box::new(middle)),
        };
        assert_eq!(
            chain(&outer),
            "error sending request: tcp connect error: connection refused"
        );
    }
}
