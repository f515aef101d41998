//! Backups of the files a run edits: each path is saved once per run, before its first
//! change, and recorded in the journal before the change is made, so that a failure (or a
//! crash) can put every file back.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::journal::{Backup, JournalFile, Original};
use crate::support::safe_fs::{self, Dir, Kind, WriteOptions};

/// Saves originals into a directory of the run and records them in the journal.
#[derive(Debug, Clone)]
pub struct BackupStore {
    dir: PathBuf,
    journal: Arc<JournalFile>,
    current_step: Arc<AtomicUsize>,
}

impl BackupStore {
    /// Backups of the run under way go to `dir`; `current_step` is the step under way.
    pub fn new(dir: PathBuf, journal: Arc<JournalFile>, current_step: Arc<AtomicUsize>) -> Self {
        Self {
            dir,
            journal,
            current_step,
        }
    }

    /// Saves what `path` holds now, unless this run saved it already.
    pub fn save_once(&self, path: &Path) -> io::Result<()> {
        let known = self.journal.read(|j| {
            j.current
                .as_ref()
                .is_some_and(|run| run.backups.iter().any(|b| b.path == path))
        });
        if known {
            return Ok(());
        }
        let count = self
            .journal
            .read(|j| j.current.as_ref().map_or(0, |r| r.backups.len()));
        let original = self.original(path, count)?;
        let backup = Backup {
            path: path.to_owned(),
            original,
            step: self.current_step.load(Ordering::SeqCst),
        };
        self.journal
            .update(|j| {
                if let Some(run) = j.current.as_mut() {
                    run.backups.push(backup);
                }
            })
            .map_err(io::Error::other)
    }

    /// What `path` is now, its bytes copied (0600, in a 0700 directory) when it is a file;
    /// reached without following a symlink, a FIFO or device refused.
    fn original(&self, path: &Path, count: usize) -> io::Result<Original> {
        let (dir, name) = safe_fs::open_parent(path)?;
        Ok(match dir.kind(&name)? {
            None => Original::Missing,
            Some(Kind::Symlink) => Original::Symlink {
                target: dir.read_link(&name)?.unwrap_or_default(),
            },
            Some(_) => {
                let bytes = dir
                    .read(&name, u64::MAX)?
                    .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
                let store = Dir::open_trusted(&self.dir)?;
                let copy = format!("{count:03}-{}", name.to_string_lossy());
                store.write(copy.as_ref(), &bytes, WriteOptions::PRIVATE)?;
                Original::File {
                    copy: self.dir.join(copy),
                }
            }
        })
    }
}

/// Puts every backed-up path back as it was, newest first; the paths that could not be
/// restored, with why.
pub fn restore(backups: &[Backup]) -> Vec<(PathBuf, io::Error)> {
    let mut failures = Vec::new();
    for backup in backups.iter().rev() {
        if let Err(e) = restore_one(backup) {
            failures.push((backup.path.clone(), e));
        }
    }
    failures
}

/// Puts one path back, reached without following a symlink anywhere in its path (the run's
/// paths never hold one: a symlink there now was planted).
fn restore_one(backup: &Backup) -> io::Result<()> {
    let (dir, name) = safe_fs::open_parent(&backup.path)?;
    match &backup.original {
        Original::Missing => dir.remove(&name),
        Original::File { copy } => {
            let (store, copy_name) = trusted_parent(copy)?;
            let bytes = store
                .read(&copy_name, u64::MAX)?
                .ok_or_else(|| io::Error::other(format!("{} is gone", copy.display())))?;
            // A symlink put in place by the run is replaced itself, never followed.
            let options = WriteOptions {
                replace_symlink: true,
                ..WriteOptions::SHARED
            };
            dir.write(&name, &bytes, options)
        }
        Original::Symlink { target } => dir.symlink(&name, target),
    }
}

fn trusted_parent(path: &Path) -> io::Result<(Dir, std::ffi::OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} is not a file path", path.display())))?;
    Ok((
        Dir::open_trusted(path.parent().unwrap_or(Path::new("/")))?,
        name.to_owned(),
    ))
}

/// Points `link` at `target` atomically (new link beside it under an unpredictable name,
/// renamed over), its directory reached without following a symlink.
pub fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    let (dir, name) = safe_fs::open_parent(link)?;
    dir.symlink(&name, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, Run, RunStatus};

    fn journal(dir: &Path) -> Arc<JournalFile> {
        let file = Arc::new(JournalFile::open(&dir.join("journal.json")).unwrap());
        file.update(|j: &mut Journal| {
            j.current = Some(Run {
                id: "t".into(),
                from: "4.4.0".parse().unwrap(),
                to: "4.5.0".parse().unwrap(),
                started_at: jiff::Timestamp::UNIX_EPOCH,
                status: RunStatus::Running,
                steps: vec![],
                backups: vec![],
                maintenance_on: false,
                announcement: None,
                baseline: None,
            })
        })
        .unwrap();
        file
    }

    #[test]
    fn saves_once_and_restores_files_links_and_absences() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        let store = BackupStore::new(
            dir.path().join("backups"),
            j.clone(),
            Arc::new(AtomicUsize::new(1)),
        );
        let conf = dir.path().join("webserver.conf");
        let link = dir.path().join("engine-axe");
        let created = dir.path().join("new.conf");
        std::fs::write(&conf, "original\n").unwrap();
        std::os::unix::fs::symlink("engine-axe-old", &link).unwrap();

        for path in [&conf, &link, &created, &conf] {
            store.save_once(path).unwrap();
        }
        std::fs::write(&conf, "edited\n").unwrap();
        store.save_once(&conf).unwrap();
        replace_symlink(Path::new("engine-axe-community"), &link).unwrap();
        std::fs::write(&created, "x").unwrap();

        let backups = j.read(|j| j.current.as_ref().unwrap().backups.clone());
        assert_eq!(backups.len(), 3, "each path once: {backups:?}");
        // The journal on disk already knows them (a crash after this point can restore).
        let on_disk = Journal::load(j.path()).unwrap();
        assert_eq!(on_disk.current.unwrap().backups, backups);

        assert!(restore(&backups).is_empty());
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "original\n");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            PathBuf::from("engine-axe-old")
        );
        assert!(!created.exists());
    }
}
