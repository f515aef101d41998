//! Inputs that decide what root does (procedure scripts, config files) are trusted only when
//! nobody but root can have written them: owned by root (or by the user running a command
//! that is not root, who reads their own files) and writable by neither group nor others,
//! checked on the file a symlink leads to.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Why a file is not trusted; `None` when it is.
pub fn untrusted_reason(path: &Path) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        // Missing or unreadable: the read that follows says so.
        Err(_) => return None,
    };
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let shown = if real == path {
        String::new()
    } else {
        format!(" (really {})", real.display())
    };
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() {
        return Some(format!("not trusted{shown}: not a regular file"));
    }
    if meta.uid() != 0 && meta.uid() != me {
        return Some(format!(
            "not trusted{shown}: owned by uid {}, not root",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "not trusted{shown}: group- or world-writable (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn roots_private_files_are_trusted_and_others_not() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.rhai");
        std::fs::write(&good, "").unwrap();
        assert_eq!(untrusted_reason(&good), None);

        let writable = dir.path().join("writable.rhai");
        std::fs::write(&writable, "").unwrap();
        std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(untrusted_reason(&writable)
            .unwrap()
            .contains("world-writable"));

        let link = dir.path().join("link.rhai");
        std::os::unix::fs::symlink(&writable, &link).unwrap();
        let why = untrusted_reason(&link).unwrap();
        assert!(why.contains("really") && why.contains("writable"), "{why}");

        if unsafe { libc::geteuid() } == 0 {
            let theirs = dir.path().join("theirs.rhai");
            std::fs::write(&theirs, "").unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            assert!(untrusted_reason(&theirs)
                .unwrap()
                .contains("owned by uid 65534"));
        }
    }
}
