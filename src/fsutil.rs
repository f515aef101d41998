//! Small filesystem helpers shared by the modules that read directories.

use std::io;
use std::path::{Path, PathBuf};

/// The regular files of `dir` (not recursive) with extension `ext`, sorted by name; a missing
/// directory has none.
pub fn files_with_extension(dir: &Path, ext: &str) -> io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        // is_file follows symlinks: a symlinked drop-in or script counts.
        if path.extension().is_some_and(|e| e == ext) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
