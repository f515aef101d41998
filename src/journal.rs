//! The journal: the run under way (its plan, each step's state and timing, the files backed
//! up) and the history of applied procedures, kept in one JSON file written atomically.
//!
//! A missing journal is an empty one; a journal that does not parse, or that is not ours, is an
//! error (never a silent reset: it may be the only record of a half-done upgrade).

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::support::fs::write_atomically;
use crate::version::Version;

/// The `format` field of our journal.
pub const FORMAT: &str = "canopsis-upgrade-journal";
/// The schema version we write.
pub const SCHEMA: u32 = 1;

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Not readable or writable.
    #[error("{path}: {source}")]
    Io {
        /// The journal file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Not valid JSON or not the expected shape.
    #[error("{path}:{line}:{column}: the journal is corrupt ({message}); it was left as is: repair or move it away")]
    Corrupt {
        /// The journal file.
        path: String,
        /// Where the parser stopped (1-based).
        line: usize,
        /// Where the parser stopped (1-based).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// Valid JSON of something else, or of a newer schema.
    #[error(
        "{path}: not a canopsis-upgrade journal of schema {SCHEMA} ({found}); it was left as is"
    )]
    Foreign {
        /// The journal file.
        path: String,
        /// What it is instead.
        found: String,
    },
}

/// The state of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// Started, not finished (a crash leaves this: the step runs again).
    Running,
    /// Finished.
    Done,
    /// Failed.
    Failed,
}

/// One step of the run, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEntry {
    /// The release of the script, or null.
    pub version: Option<Version>,
    /// Its name in the plan.
    pub hook: String,
    /// The function called.
    pub function: String,
    /// The script's origin.
    pub script: String,
    /// The script's SHA-256 when the step was planned.
    pub sha256: String,
    /// Where it stands.
    pub state: StepState,
    /// How many times it was started.
    pub attempts: u32,
    /// When it last started.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A file saved before its first edit in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    /// The file edited.
    pub path: PathBuf,
    /// What it was before.
    pub original: Original,
    /// The step (1-based) that first changed it: restoring it undoes that step and the later ones.
    pub step: usize,
}

/// What a path held before the run changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Original {
    /// Nothing: restoring removes it.
    Missing,
    /// A file, copied here.
    File {
        /// The copy, in the run's backup directory.
        copy: PathBuf,
    },
    /// A symlink to this target.
    Symlink {
        /// Where it pointed.
        target: PathBuf,
    },
}

/// How the run under way stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Steps are being run (or the process crashed while they were).
    Running,
    /// A step failed; `run` again resumes.
    Failed,
    /// Stopped cleanly at a step boundary (SIGTERM, end of window); `run` again resumes.
    Stopped,
}

/// A queue's figures, as journaled (the baseline taken before the engines stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFigures {
    /// Ready messages.
    pub messages: u64,
    /// Consumers.
    pub consumers: u32,
}

/// The run under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// A unique id (start time and PID).
    pub id: String,
    /// The installed version when it began.
    pub from: Version,
    /// The target.
    pub to: Version,
    /// When it began.
    pub started_at: Timestamp,
    /// How it stands.
    pub status: RunStatus,
    /// The steps, in order.
    pub steps: Vec<StepEntry>,
    /// Files backed up in this run.
    pub backups: Vec<Backup>,
    /// Maintenance mode was switched on and not yet off (a crash leaves it so: the next run
    /// switches it off).
    #[serde(default)]
    pub maintenance_on: bool,
    /// The id of the broadcast message announcing this run.
    #[serde(default)]
    pub announcement: Option<String>,
    /// The engine queues before the engines stopped (kept across a crash: after one, the
    /// engines may be down and the queues no baseline).
    #[serde(default)]
    pub baseline: Option<std::collections::BTreeMap<String, QueueFigures>>,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The run's id.
    pub id: String,
    /// The installed version before.
    pub from: Version,
    /// The version after.
    pub to: Version,
    /// When it began.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// The procedures applied, in order.
    pub steps: Vec<StepEntry>,
}

/// The whole journal file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The run under way, if any.
    pub current: Option<Run>,
    /// Finished runs, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Default for Journal {
    fn default() -> Self {
        Self {
            format: FORMAT.into(),
            schema: SCHEMA,
            current: None,
            history: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    schema: Option<u32>,
}

impl Journal {
    /// Parses a journal's text; `path` is for messages.
    pub fn parse(path: &str, text: &str) -> Result<Self, JournalError> {
        let corrupt = |e: serde_json::Error| JournalError::Corrupt {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let header: Header = serde_json::from_str(text).map_err(corrupt)?;
        if header.format.as_deref() != Some(FORMAT) || header.schema != Some(SCHEMA) {
            return Err(JournalError::Foreign {
                path: path.to_owned(),
                found: format!("format {:?}, schema {:?}", header.format, header.schema),
            });
        }
        serde_json::from_str(text).map_err(corrupt)
    }

    /// Reads the journal at `path`; a missing file is an empty journal.
    pub fn load(path: &Path) -> Result<Self, JournalError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(JournalError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the journal atomically: a crash leaves the old or the new one, never a mix.
    pub fn save(&self, path: &Path) -> Result<(), JournalError> {
        let text = serde_json::to_string_pretty(self).expect("a journal always serializes");
        write_atomically(path, text.as_bytes()).map_err(|source| JournalError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// The journal file and its content, shared by the run and the live executor (backups), with
/// every change saved at once.
#[derive(Debug)]
pub struct JournalFile {
    path: PathBuf,
    journal: std::sync::Mutex<Journal>,
}

impl JournalFile {
    /// Loads (or starts) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        Ok(Self {
            path: path.to_owned(),
            journal: std::sync::Mutex::new(Journal::load(path)?),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the journal.
    pub fn read<R>(&self, f: impl FnOnce(&Journal) -> R) -> R {
        f(&self.journal.lock().unwrap())
    }

    /// Changes the journal and saves it; on a failed save the change is undone in memory too.
    pub fn update<R>(&self, f: impl FnOnce(&mut Journal) -> R) -> Result<R, JournalError> {
        let mut journal = self.journal.lock().unwrap();
        let before = journal.clone();
        let result = f(&mut journal);
        if let Err(e) = journal.save(&self.path) {
            *journal = before;
            return Err(e);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Journal {
        let v = |s: &str| Version::parse(s).unwrap();
        Journal {
            current: Some(Run {
                id: "r1".into(),
                from: v("4.4.0"),
                to: v("4.5.0"),
                started_at: Timestamp::UNIX_EPOCH,
                status: RunStatus::Running,
                steps: vec![StepEntry {
                    version: Some(v("4.5.0")),
                    hook: "after_update".into(),
                    function: "after_update".into(),
                    script: "bundled:releases/4.5.0.rhai".into(),
                    sha256: "ab".repeat(32),
                    state: StepState::Running,
                    attempts: 1,
                    started_at: Some(Timestamp::UNIX_EPOCH),
                    finished_at: None,
                    error: None,
                }],
                backups: vec![],
                maintenance_on: false,
                announcement: None,
                baseline: None,
            }),
            ..Journal::default()
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.json");
        assert_eq!(Journal::load(&path).unwrap(), Journal::default());
        sample().save(&path).unwrap();
        assert_eq!(Journal::load(&path).unwrap(), sample());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_corrupt_journal_is_an_error_with_its_place() {
        let text = serde_json::to_string_pretty(&sample()).unwrap();
        let truncated = &text[..text.len() / 2];
        let err = Journal::parse("j.json", truncated).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
        assert!(err.to_string().starts_with("j.json:"), "{err}");
        let wrong_type = text.replace("\"attempts\": 1", "\"attempts\": \"one\"");
        assert!(matches!(
            Journal::parse("j.json", &wrong_type),
            Err(JournalError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_foreign_or_newer_journal_is_refused() {
        let err = Journal::parse("j.json", r#"{"hello": "world"}"#).unwrap_err();
        assert!(matches!(err, JournalError::Foreign { .. }), "{err}");
        let newer = serde_json::to_string(&sample())
            .unwrap()
            .replace("\"schema\":1", "\"schema\":2");
        assert!(matches!(
            Journal::parse("j.json", &newer),
            Err(JournalError::Foreign { .. })
        ));
    }
}
