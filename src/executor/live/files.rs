//! File actions: every path is checked against the sandbox again at execution (a symlink may
//! have changed since planning), then reached through directory handles that never follow a
//! symlink (`support::safe_fs`): a local user who owns a directory below a root cannot redirect
//! a write by swapping it. Edits are atomic, after a backup taken once per run.

use std::path::{Path, PathBuf};

use super::{fail, not_of_family, LiveExecutor};
use crate::action::{Action, Answer, ExecError, Outcome, Query};
use crate::executor::edits;
use crate::support::safe_fs::{self, WriteOptions};
use crate::systemd::envfile;

impl LiveExecutor {
    /// Performs a file action.
    pub(super) fn file_action(&self, action: &Action) -> Result<Outcome, ExecError> {
        match action {
            Action::EnsureLine { path, line, prefix } => self.edit(path, |text| {
                Ok(edits::ensure_line(text, line, prefix.as_deref()))
            }),
            Action::RemoveLines { path, prefix } => {
                self.edit(path, |text| Ok(edits::remove_lines(text, prefix)))
            }
            Action::ReplaceInFile { path, from, to } => {
                self.edit(path, |text| Ok(edits::replace(text, from, to)))
            }
            Action::TomlSet { path, key, value } => self.edit(path, |text| {
                edits::toml_set(text, key, value).map_err(|e| e.to_string())
            }),
            Action::TomlRemove { path, key } => self.edit(path, |text| {
                edits::toml_remove(text, key).map_err(|e| e.to_string())
            }),
            Action::EnvSet { path, key, value } => self.edit(path, |text| {
                envfile::try_set(text, key, value).map_err(|e| e.to_string())
            }),
            Action::WriteFile { path, text } => self.edit(path, |_| Ok(text.clone())),
            Action::CopyFile { from, to } => self.copy_file(from, to),
            Action::Symlink { link, target } => self.symlink(link, target),
            other => Err(not_of_family("file", other)),
        }
    }

    /// Answers a question about files.
    pub(super) fn file_query(&self, query: &Query) -> Result<Answer, ExecError> {
        Ok(match query {
            Query::FileExists(path) => Answer::Bool(path.exists()),
            Query::ReadFile(path) => Answer::Text(read_text(path)?),
            Query::ListFiles { dir, suffix } => Answer::Paths(
                crate::support::fs::list_files(dir, suffix)
                    .map_err(|e| fail(format!("cannot list {}: {e}", dir.display())))?,
            ),
            other => {
                return Err(fail(format!(
                    "internal error: {other:?} is not a file question"
                )))
            }
        })
    }

    /// The path, checked again now: it must still resolve to itself, inside the roots.
    pub(super) fn recheck(&self, path: &Path) -> Result<PathBuf, ExecError> {
        let text = path
            .to_str()
            .ok_or_else(|| fail(format!("{} is not UTF-8", path.display())))?;
        let real = self
            .settings
            .rules
            .check_path(text)
            .map_err(|v| fail(v.to_string()))?;
        if real != path {
            return Err(fail(format!(
                "{} now resolves to {}: refused",
                path.display(),
                real.display()
            )));
        }
        Ok(real)
    }

    /// [`Self::recheck`], and the file is no program (executable, or on the allow-list).
    fn recheck_writable(&self, path: &Path) -> Result<PathBuf, ExecError> {
        let path = self.recheck(path)?;
        self.settings
            .rules
            .check_writable(&path)
            .map_err(|v| fail(v.to_string()))?;
        Ok(path)
    }

    /// Reads a file (None when missing), lets `change` compute the new text, and writes it
    /// atomically after a backup, unless nothing changed.
    fn edit(
        &self,
        path: &Path,
        change: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<Outcome, ExecError> {
        let path = self.recheck_writable(path)?;
        let old = read_text(&path)?;
        let new = change(old.as_deref().unwrap_or(""))
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if old.as_deref() == Some(new.as_str()) {
            return Ok(Outcome::Done);
        }
        self.write(&path, new.as_bytes())
    }

    /// Writes a whole file atomically, after its backup.
    pub(super) fn write(&self, path: &Path, bytes: &[u8]) -> Result<Outcome, ExecError> {
        self.backups
            .save_once(path)
            .map_err(|e| fail(format!("cannot back up {}: {e}", path.display())))?;
        safe_fs::open_parent(path)
            .and_then(|(dir, name)| dir.write(&name, bytes, WriteOptions::SHARED))
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
        Ok(Outcome::Done)
    }

    fn copy_file(&self, from: &Path, to: &Path) -> Result<Outcome, ExecError> {
        let from = self.recheck(from)?;
        let bytes = read_bytes(&from)?
            .ok_or_else(|| fail(format!("cannot read {}: it does not exist", from.display())))?;
        let to = self.recheck_writable(to)?;
        if read_bytes(&to)?.is_some_and(|old| old == bytes) {
            Ok(Outcome::Done)
        } else {
            self.write(&to, &bytes)
        }
    }

    /// `ln -sfn target link`: the link's directory is checked, not what the link points to now.
    fn symlink(&self, link: &Path, target: &Path) -> Result<Outcome, ExecError> {
        let target = self.recheck(target)?;
        let dir = self.recheck(link.parent().unwrap_or(Path::new("/")))?;
        let link = dir.join(link.file_name().unwrap_or_default());
        self.settings
            .rules
            .check_link(&link, &target)
            .map_err(|v| fail(v.to_string()))?;
        let cannot = |e: std::io::Error| fail(format!("cannot link {}: {e}", link.display()));
        let (handle, name) = safe_fs::open_parent(&link).map_err(cannot)?;
        if handle
            .read_link(&name)
            .is_ok_and(|t| t.as_ref() == Some(&target))
        {
            return Ok(Outcome::Done);
        }
        self.backups
            .save_once(&link)
            .map_err(|e| fail(format!("cannot back up {}: {e}", link.display())))?;
        handle.symlink(&name, &target).map_err(cannot)?;
        Ok(Outcome::Done)
    }
}

/// A file's bytes (None when missing): see [`safe_fs::read_capped`].
pub(crate) fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, ExecError> {
    safe_fs::read_capped(path, safe_fs::MAX_SCRIPT_READ)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))
}

/// A text file (None when missing), read as [`read_bytes`] does.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, ExecError> {
    read_bytes(path)?
        .map(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| fail(format!("cannot read {}: not UTF-8 text", path.display())))
        })
        .transpose()
}
