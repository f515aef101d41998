//! File operations no local user can redirect. The daemon runs as root and writes below
//! directories that another user (`canopsis`) owns: a path checked, then opened by name, can be
//! swapped under it (a directory for a symlink, a planted symlink at a temporary name). Here
//! every path is walked from `/` through directory handles, one component at a time, never
//! following a symlink (`openat` with `O_NOFOLLOW|O_DIRECTORY`: RHEL 8's kernel 4.18 has no
//! `openat2`); the file itself is opened, created or renamed relative to its directory's
//! handle; temporary files are created `O_EXCL|O_NOFOLLOW` under an unpredictable name; a
//! target that is not a regular file (FIFO, device, socket) is refused without blocking.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{fsync, symlinkat, unlinkat, UnlinkatFlags};

/// An open directory, reached without following any symlink (or trusted, see
/// [`Dir::open_trusted`]); every operation is relative to its handle.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// What kind of file a name holds (as `lstat` sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A FIFO, a device or a socket: never read or written.
    Special,
}

/// How [`Dir::write`] treats the file it replaces.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// The mode of a file that did not exist (an existing file's mode and owner are kept).
    pub new_mode: u32,
    /// Whether a symlink at the name may be replaced by the file (restoring a backup); when
    /// false it is refused.
    pub replace_symlink: bool,
}

impl WriteOptions {
    /// A file readable by all when new (configuration files the engines read).
    pub const SHARED: Self = Self {
        new_mode: 0o644,
        replace_symlink: false,
    };
    /// A file only root reads (backups, the journal).
    pub const PRIVATE: Self = Self {
        new_mode: 0o600,
        replace_symlink: false,
    };
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

fn refused(message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refused: {message}"),
    )
}

fn kind_of(stat: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFDIR => Kind::Directory,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Special,
    }
}

fn kind_name(stat: &FileStat) -> &'static str {
    match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFCHR | SFlag::S_IFBLK => "a device",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFLNK => "a symlink",
        _ => "not a regular file",
    }
}

/// The most a script's read, edit or copy takes in: bigger files are refused before reading.
pub const MAX_SCRIPT_READ: u64 = 16 << 20;

/// A file's bytes (None when it or its directory is missing), read without following a
/// symlink anywhere in its path, never from a FIFO or device, refused over `max` bytes.
pub fn read_capped(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    match open_parent(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
        Ok((dir, name)) => dir.read(&name, max),
    }
}

/// The parent directory of an absolute path, opened strictly, and the path's last name.
pub fn open_parent(path: &Path) -> io::Result<(Dir, OsString)> {
    let name = path
        .file_name()
        .filter(|_| !path.ends_with(".."))
        .ok_or_else(|| io::Error::other(format!("{} is not a file path", path.display())))?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    Ok((Dir::open_strict(parent)?, name.to_owned()))
}

impl Dir {
    /// Opens an absolute directory path from `/`, one component at a time, refusing a symlink
    /// or `..` anywhere in it.
    pub fn open_strict(path: &Path) -> io::Result<Dir> {
        if !path.is_absolute() {
            return Err(refused(format!("{} is not absolute", path.display())));
        }
        let mut fd = openat(nix::fcntl::AT_FDCWD, "/", DIR_FLAGS, Mode::empty())?;
        let mut walked = PathBuf::from("/");
        for component in path.components() {
            match component {
                Component::RootDir | Component::CurDir => continue,
                Component::Normal(name) => {
                    walked.push(name);
                    fd = open_child_dir(&fd, name, &walked)?;
                }
                _ => return Err(refused(format!("{} holds `..`", path.display()))),
            }
        }
        Ok(Dir {
            fd,
            path: path.to_owned(),
        })
    }

    /// Opens a directory of the daemon's own (its state directory, root's alone), following
    /// symlinks in it as configured; creates it, mode 0700, when missing.
    pub fn open_trusted(path: &Path) -> io::Result<Dir> {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = openat(nix::fcntl::AT_FDCWD, path, flags, Mode::empty())?;
        Ok(Dir {
            fd,
            path: path.to_owned(),
        })
    }

    /// What `name` is, without following it; None when missing.
    pub fn kind(&self, name: &OsStr) -> io::Result<Option<Kind>> {
        Ok(self.lstat(name)?.as_ref().map(kind_of))
    }

    fn lstat(&self, name: &OsStr) -> io::Result<Option<FileStat>> {
        match fstatat(&self.fd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the regular file `name` (None when missing), refusing a symlink or a special file
    /// without blocking, and a file over `max` bytes before reading it.
    pub fn read(&self, name: &OsStr, max: u64) -> io::Result<Option<Vec<u8>>> {
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC;
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => return Err(refused(format!("{} is a symlink", self.shown(name)))),
            // A socket cannot be opened (ENXIO): say what it is.
            Err(e) => {
                return Err(match self.lstat(name)? {
                    Some(stat) if kind_of(&stat) != Kind::File => {
                        refused(format!("{} is {}", self.shown(name), kind_name(&stat)))
                    }
                    _ => e.into(),
                })
            }
        };
        let stat = fstat(&fd)?;
        if kind_of(&stat) != Kind::File {
            return Err(refused(format!(
                "{} is {}",
                self.shown(name),
                kind_name(&stat)
            )));
        }
        if stat.st_size as u64 > max {
            return Err(refused(format!(
                "{} is {} bytes, over the limit of {max}",
                self.shown(name),
                stat.st_size
            )));
        }
        let mut bytes = Vec::with_capacity(stat.st_size as usize);
        // The file may grow meanwhile: never read past the limit.
        std::fs::File::from(fd)
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(refused(format!(
                "{} grew over {max} bytes",
                self.shown(name)
            )));
        }
        Ok(Some(bytes))
    }

    /// Where the symlink `name` points; None when missing, an error when it is no symlink.
    pub fn read_link(&self, name: &OsStr) -> io::Result<Option<PathBuf>> {
        match nix::fcntl::readlinkat(&self.fd, name) {
            Ok(target) => Ok(Some(PathBuf::from(target))),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces `name` with `bytes` atomically: a new file under an unpredictable name,
    /// created exclusively beside it, given the old file's owner and mode through its handle,
    /// synced, renamed over within this directory, the directory synced.
    pub fn write(&self, name: &OsStr, bytes: &[u8], options: WriteOptions) -> io::Result<()> {
        let old = self.lstat(name)?;
        if let Some(stat) = &old {
            let kind = kind_of(stat);
            let allowed = kind == Kind::File || (kind == Kind::Symlink && options.replace_symlink);
            if !allowed {
                return Err(refused(format!(
                    "{} is {}",
                    self.shown(name),
                    kind_name(stat)
                )));
            }
        }
        let keep = old.filter(|s| kind_of(s) == Kind::File);
        let (temp, file) = self.create_temp(name, "tmp")?;
        let result = (|| {
            let mut file = std::fs::File::from(file);
            file.write_all(bytes)?;
            match keep {
                Some(stat) => {
                    std::os::unix::fs::fchown(&file, Some(stat.st_uid), Some(stat.st_gid))?;
                    fchmod(&file, Mode::from_bits_truncate(stat.st_mode & 0o7777))?;
                }
                None => fchmod(&file, Mode::from_bits_truncate(options.new_mode))?,
            }
            file.sync_all()?;
            renameat(&self.fd, temp.as_os_str(), &self.fd, name)?;
            fsync(&self.fd).map_err(io::Error::from)
        })();
        if result.is_err() {
            let _ = unlinkat(&self.fd, temp.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
        result
    }

    /// Points the symlink `name` at `target` atomically (a new link under an unpredictable
    /// name, renamed over); a directory or special file at `name` is refused.
    pub fn symlink(&self, name: &OsStr, target: &Path) -> io::Result<()> {
        if let Some(stat) = self.lstat(name)? {
            if !matches!(kind_of(&stat), Kind::File | Kind::Symlink) {
                return Err(refused(format!(
                    "{} is {}",
                    self.shown(name),
                    kind_name(&stat)
                )));
            }
        }
        let temp = loop {
            let temp = temp_name(name, "link")?;
            match symlinkat(target, &self.fd, temp.as_os_str()) {
                Ok(()) => break temp,
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        renameat(&self.fd, temp.as_os_str(), &self.fd, name)
            .and_then(|()| fsync(&self.fd))
            .map_err(|e| {
                let _ = unlinkat(&self.fd, temp.as_os_str(), UnlinkatFlags::NoRemoveDir);
                io::Error::from(e)
            })
    }

    /// Removes the file or symlink `name` (never a directory); a missing name is fine.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A new file beside `name`, created exclusively (never through a planted symlink) under
    /// a name nobody can predict, mode 0600 until written.
    fn create_temp(&self, name: &OsStr, what: &str) -> io::Result<(OsString, OwnedFd)> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        loop {
            let temp = temp_name(name, what)?;
            match openat(
                &self.fd,
                temp.as_os_str(),
                flags,
                Mode::from_bits_truncate(0o600),
            ) {
                Ok(fd) => return Ok((temp, fd)),
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn shown(&self, name: &OsStr) -> String {
        self.path.join(name).display().to_string()
    }
}

fn open_child_dir(dir: &OwnedFd, name: &OsStr, walked: &Path) -> io::Result<OwnedFd> {
    match openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ELOOP) | Err(Errno::ENOTDIR) => Err(refused(format!(
            "{} is a symlink or not a directory",
            walked.display()
        ))),
        Err(e) => Err(io::Error::new(
            io::Error::from(e).kind(),
            format!("{}: {e}", walked.display()),
        )),
    }
}

/// `.<name>.<what>-<16 random hex digits>`.
fn temp_name(name: &OsStr, what: &str) -> io::Result<OsString> {
    let mut random = [0u8; 8];
    // SAFETY: getrandom writes at most `len` bytes into the buffer given.
    let got = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
    if got != random.len() as isize {
        return Err(io::Error::last_os_error());
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut temp = OsString::from(".");
    // Long names are cut so that the temporary name stays under NAME_MAX.
    temp.push(OsStr::from_bytes(&name.as_bytes()[..name.len().min(200)]));
    temp.push(format!(".{what}-{hex}"));
    Ok(temp)
}

#[cfg(test)]
#[path = "safe_fs_tests.rs"]
mod tests;
