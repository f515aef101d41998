//! Trusted inputs (issue 10, item 9): a procedure script or a config file is read only when
//! root owns it and nobody else can write it (the file a symlink leads to included); else a
//! clear error names the file and why.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use canopsis_upgrade::config::Settings;
use canopsis_upgrade::procedure::discover;

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn addons_and_release_scripts_others_can_write_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let addons = dir.path().join("addons.d");
    let releases = dir.path().join("releases.d");
    std::fs::create_dir_all(&addons).unwrap();
    std::fs::create_dir_all(&releases).unwrap();
    write(&addons.join("ok.rhai"), "fn after_update() {}", 0o644);
    write(&addons.join("writable.rhai"), "fn after_update() {}", 0o666);
    write(
        &dir.path().join("elsewhere.rhai"),
        "fn after_update() {}",
        0o664,
    );
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere.rhai"),
        addons.join("linked.rhai"),
    )
    .unwrap();
    write(&releases.join("4.5.0.rhai"), "fn after_update() {}", 0o644);
    std::os::unix::fs::chown(releases.join("4.5.0.rhai"), Some(65534), Some(65534)).unwrap();

    let Err(errors) = discover::load(&[releases], &[addons]) else {
        panic!("the untrusted scripts must be refused");
    };
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{text:?}");
    assert!(
        text.iter()
            .any(|e| e.contains("writable.rhai") && e.contains("world-writable")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("linked.rhai") && e.contains("really")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("4.5.0.rhai") && e.contains("owned by uid 65534")),
        "{text:?}"
    );
}

#[test]
fn a_config_file_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    write(&config, "", 0o666);
    let err = Settings::load_file(&config).unwrap_err().to_string();
    assert!(
        err.contains("config.toml") && err.contains("writable"),
        "{err}"
    );
    write(&config, "", 0o644);
    std::os::unix::fs::chown(&config, Some(65534), Some(65534)).unwrap();
    let err = Settings::load_file(&config).unwrap_err().to_string();
    assert!(err.contains("owned by uid 65534"), "{err}");
    std::os::unix::fs::chown(&config, Some(0), Some(0)).unwrap();
    Settings::load_file(&config).unwrap();
}
