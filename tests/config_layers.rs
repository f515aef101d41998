//! The layered configuration: /usr/lib -> /etc -> /run, config.d drop-ins, errors located.

use std::path::Path;
use std::time::Duration;

use canopsis_upgrade::config::{ConfigError, Settings};
use canopsis_upgrade::install::Edition;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_empty_root_gives_the_defaults() {
    let root = tempfile::tempdir().unwrap();
    let settings = Settings::load_layered(root.path()).unwrap();
    assert_eq!(settings.edition, Edition::Community);
    assert!(settings.files.is_empty());
}

#[test]
fn later_layers_and_drop_ins_win() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "usr/lib/canopsis-upgrade/config.toml",
        "[install]\nedition = \"pro\"\n[sandbox]\nscript_timeout = \"5s\"\n",
    );
    write(
        r,
        "etc/canopsis-upgrade/config.toml",
        "[sandbox]\nscript_timeout = \"6s\"\n",
    );
    write(
        r,
        "run/canopsis-upgrade/config.toml",
        "[sandbox]\ncommand_timeout = \"1h\"\n",
    );
    write(
        r,
        "usr/lib/canopsis-upgrade/config.d/10-limits.toml",
        "[sandbox]\nscript_timeout = \"7s\"\n",
    );
    // Same name in /etc hides the /usr/lib drop-in entirely.
    write(
        r,
        "etc/canopsis-upgrade/config.d/10-limits.toml",
        "[sandbox]\nmax_operations = 5000\n",
    );
    write(
        r,
        "etc/canopsis-upgrade/config.d/20-ack.toml",
        "[manual]\nacknowledged = [\"24.04.0\"]\n",
    );
    write(
        r,
        "etc/canopsis-upgrade/config.d/README",
        "not toml, ignored",
    );
    let s = Settings::load_layered(r).unwrap();
    assert_eq!(s.edition, Edition::Pro);
    assert_eq!(
        s.limits.timeout,
        Duration::from_secs(6),
        "the /usr/lib drop-in was hidden"
    );
    assert_eq!(s.limits.max_operations, 5000);
    assert_eq!(s.command_timeout, Duration::from_secs(3600));
    assert_eq!(s.acknowledged[0].as_str(), "24.04.0");
    assert_eq!(s.files.len(), 5, "{:?}", s.files);
    assert!(s.files[0].ends_with("usr/lib/canopsis-upgrade/config.toml"));
    assert!(s
        .files
        .last()
        .unwrap()
        .ends_with("etc/canopsis-upgrade/config.d/20-ack.toml"));
}

#[test]
fn an_error_in_a_drop_in_names_that_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "etc/canopsis-upgrade/config.toml",
        "[install]\nedition = \"pro\"\n",
    );
    write(
        r,
        "run/canopsis-upgrade/config.d/50-bad.toml",
        "# comment\n[sandbox]\nunit_patterns = [\"canopsis[\"]\n",
    );
    let err = Settings::load_layered(r).unwrap_err();
    match &err {
        ConfigError::At { file, line, .. } => {
            assert!(
                file.ends_with("run/canopsis-upgrade/config.d/50-bad.toml"),
                "{err}"
            );
            assert_eq!(*line, 3, "{err}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_unreadable_layer_is_an_error_not_a_default() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // A directory where the file should be cannot be read.
    std::fs::create_dir_all(r.join("etc/canopsis-upgrade/config.toml")).unwrap();
    let err = Settings::load_layered(r).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}
