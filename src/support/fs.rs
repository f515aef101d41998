//! Files: listing the ones a directory holds, and writing one atomically.

use std::io;

use super::safe_fs;
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

/// Writes a file of the daemon's own (the journal) atomically: a temporary file created
/// exclusively under an unpredictable name in the same directory, fsync, rename over the
/// target, fsync of the directory. An existing file keeps its mode and owner; a new one is
/// 0600, its missing directories 0700.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    safe_fs::Dir::open_trusted(dir)?.write(name, bytes, safe_fs::WriteOptions::PRIVATE)
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

    #[test]
    fn atomic_write_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("canopsis.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let new = dir.path().join("state/journal.json");
        write_atomically(&new, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&new), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
    }
}
