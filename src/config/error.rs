//! What makes a configuration unusable.

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value, or the syntax, at a known place.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file that cannot be read.
    #[error("{file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// Settings that contradict each other.
    #[error("{0}")]
    Inconsistent(String),
    /// Several errors, each on its own line, in the order of the sections.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ConfigError>),
}

impl ConfigError {
    /// One error, or all of them.
    pub fn all(mut errors: Vec<ConfigError>) -> ConfigError {
        match errors.len() {
            1 => errors.remove(0),
            _ => ConfigError::Many(errors),
        }
    }

    /// The single errors (a `Many` flattened).
    pub fn each(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Many(errors) => errors.iter().flat_map(ConfigError::each).collect(),
            error => vec![error],
        }
    }
}
