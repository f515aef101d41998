use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "secret").unwrap();
    (dir, root, outside)
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    let (dir, name) = open_parent(path)?;
    dir.write(&name, text.as_bytes(), WriteOptions::SHARED)
}

fn assert_refused(result: io::Result<impl std::fmt::Debug>, why: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(why), "{err} should say {why}");
}

#[test]
fn writes_atomically_keeping_mode_and_new_files_get_the_asked_mode() {
    let (_dir, root, _) = setup();
    let conf = root.join("etc/canopsis.toml");
    std::fs::write(&conf, "old").unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    write(&conf, "new").unwrap();
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "new");
    assert_eq!(std::fs::metadata(&conf).unwrap().mode() & 0o7777, 0o640);
    let (dir, name) = open_parent(&root.join("etc/private")).unwrap();
    dir.write(&name, b"x", WriteOptions::PRIVATE).unwrap();
    let meta = std::fs::metadata(root.join("etc/private")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(root.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_symlinked_directory_component_is_refused() {
    let (_dir, root, outside) = setup();
    std::os::unix::fs::symlink(&outside, root.join("etc/sub")).unwrap();
    assert_refused(write(&root.join("etc/sub/secret"), "owned"), "symlink");
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "secret"
    );
}

#[test]
fn a_symlink_at_the_target_is_refused_for_writes_and_reads() {
    let (_dir, root, outside) = setup();
    let link = root.join("etc/link");
    std::os::unix::fs::symlink(outside.join("secret"), &link).unwrap();
    assert_refused(write(&link, "owned"), "symlink");
    let (dir, name) = open_parent(&link).unwrap();
    assert_refused(dir.read(&name, 1 << 20), "symlink");
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "secret"
    );
    // Restoring a backup replaces the link itself, never its target.
    let restore = WriteOptions {
        replace_symlink: true,
        ..WriteOptions::SHARED
    };
    dir.write(&name, b"restored", restore).unwrap();
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "secret"
    );
}

#[test]
fn dot_dot_and_relative_paths_are_refused() {
    let (_dir, root, _) = setup();
    assert_refused(write(&root.join("etc/../../outside/secret"), "x"), "..");
    assert_refused(write(Path::new("etc/x"), "x"), "not absolute");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let (_dir, root, _) = setup();
    let fifo = root.join("etc/fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
    let (dir, name) = open_parent(&fifo).unwrap();
    assert_refused(dir.read(&name, 1 << 20), "FIFO");
    assert_refused(dir.write(&name, b"x", WriteOptions::SHARED), "FIFO");
    assert_refused(dir.symlink(&name, Path::new("x")), "FIFO");
}

#[test]
fn a_device_and_a_directory_are_refused() {
    let (dir, name) = open_parent(Path::new("/dev/null")).unwrap();
    assert_refused(dir.read(&name, 10), "device");
    assert_refused(dir.write(&name, b"x", WriteOptions::SHARED), "device");
    let (_tmp, root, _) = setup();
    let (dir, name) = open_parent(&root.join("etc")).unwrap();
    assert_refused(dir.write(&name, b"x", WriteOptions::SHARED), "directory");
}

#[test]
fn a_socket_is_refused() {
    let (_dir, root, _) = setup();
    let path = root.join("etc/sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let (dir, name) = open_parent(&path).unwrap();
    assert_refused(dir.read(&name, 10), "socket");
    assert_refused(dir.write(&name, b"x", WriteOptions::SHARED), "socket");
}

#[test]
fn reads_are_capped_before_reading() {
    let (_dir, root, _) = setup();
    let big = root.join("etc/big");
    std::fs::write(&big, vec![b'x'; 4096]).unwrap();
    let (dir, name) = open_parent(&big).unwrap();
    assert_refused(dir.read(&name, 1024), "over the limit");
    assert_eq!(dir.read(&name, 4096).unwrap().unwrap().len(), 4096);
    assert!(dir.read(OsStr::new("missing"), 10).unwrap().is_none());
}

#[test]
fn temporary_names_are_unpredictable_and_planted_links_are_not_followed() {
    let (_dir, root, outside) = setup();
    let a = temp_name(OsStr::new("f"), "tmp").unwrap();
    let b = temp_name(OsStr::new("f"), "tmp").unwrap();
    assert_ne!(a, b);
    // The old predictable name, planted: ignored.
    let planted = root.join(format!("etc/.f.tmp-{}", std::process::id()));
    std::os::unix::fs::symlink(outside.join("secret"), &planted).unwrap();
    write(&root.join("etc/f"), "mine").unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "secret"
    );
    assert_eq!(std::fs::read_to_string(root.join("etc/f")).unwrap(), "mine");
}

#[test]
fn symlinks_are_replaced_atomically_and_read_back() {
    let (_dir, root, _) = setup();
    let (dir, _) = open_parent(&root.join("etc/x")).unwrap();
    let name = OsStr::new("engine-axe");
    dir.symlink(name, Path::new("engine-axe-old")).unwrap();
    dir.symlink(name, Path::new("engine-axe-community"))
        .unwrap();
    assert_eq!(
        dir.read_link(name).unwrap().unwrap(),
        PathBuf::from("engine-axe-community")
    );
    assert_eq!(dir.kind(name).unwrap(), Some(Kind::Symlink));
    dir.remove(name).unwrap();
    assert_eq!(dir.kind(name).unwrap(), None);
}

#[test]
fn trusted_directories_are_created_private() {
    let (_dir, root, _) = setup();
    let backups = root.join("state/backups");
    let _dir = Dir::open_trusted(&backups).unwrap();
    assert_eq!(std::fs::metadata(&backups).unwrap().mode() & 0o777, 0o700);
}
