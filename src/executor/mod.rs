//! Executors of actions: the dry run (plans); the live executor comes with `run`.

pub mod backup;
pub mod command;
mod dry_run;
pub mod edits;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod live;

pub use dry_run::DryRunExecutor;

use std::io;
use std::path::{Path, PathBuf};

/// The regular files below `dir` (recursively) whose names end with `suffix`, sorted by path;
/// a missing directory has none.
pub fn list_files(dir: &Path, suffix: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_matching_files_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("release4.5");
        std::fs::create_dir_all(&sub).unwrap();
        for name in ["002_b.js", "001_a.js", "notes.txt"] {
            std::fs::write(sub.join(name), "").unwrap();
        }
        let files = list_files(dir.path(), ".js").unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["001_a.js", "002_b.js"]);
        assert!(list_files(&dir.path().join("missing"), ".js")
            .unwrap()
            .is_empty());
    }
}
