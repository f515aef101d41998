//! The configuration's own tests: defaults, located errors, merging, the shipped sample.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::install::{Edition, InstallMethod};

fn from(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_sources(&[Source {
        file: "/etc/canopsis-upgrade/config.toml".into(),
        text: text.into(),
    }])
}

#[test]
fn no_file_gives_a_standard_community_package_install() {
    let s = Settings::from_sources(&[]).unwrap();
    assert_eq!(s.edition, Edition::Community);
    assert_eq!(s.install, InstallMethod::Packages);
    assert_eq!(s.file_roots, [PathBuf::from("/opt/canopsis")]);
    assert_eq!(s.api_url, "http://localhost:8082");
    assert_eq!(s.detect_sources.len(), 3);
    assert!(s.allowed_commands.iter().any(|c| c == "canoctl"));
}

#[test]
fn unknown_key_names_file_line_and_column() {
    let err = from("[install]\nedition = \"pro\"\nmehtod = \"packages\"\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("/etc/canopsis-upgrade/config.toml:3:1: unknown field `mehtod`"),
        "{text}"
    );
}

#[test]
fn bad_values_name_where_they_were_written() {
    let cases = [
        (
            "[install]\nedition = \"enterprise\"\n",
            2,
            "unknown variant",
        ),
        (
            "[sandbox]\nallowed_commands = [\"yum\", \"bash\"]\n",
            2,
            "can never be allowed",
        ),
        (
            "[sandbox]\nscript_timeout = \"soon\"\n",
            2,
            "not a duration",
        ),
        (
            "[sandbox]\nfile_roots = [\"opt/canopsis\"]\n",
            2,
            "not an absolute path",
        ),
        ("[sandbox]\nmax_operations = 0\n", 2, "greater than 0"),
        (
            "\n[manual]\nacknowledged = [\"24.4\"]\n",
            3,
            "malformed version",
        ),
        (
            "[detect]\nsources = [\"rpm\", \"guess\"]\n",
            2,
            "unknown variant `guess`, expected one of `rpm`, `version-file`, `api`",
        ),
        ("[install]\napi_url = \"localhost:8082\"\n", 2, "http"),
        ("[install]\nedition = \"pro\"\n[install]\n", 3, "duplicate"),
    ];
    for (text, line, needle) in cases {
        let err = from(text).unwrap_err();
        match &err {
            ConfigError::At {
                line: l, message, ..
            } => {
                assert_eq!(*l, line, "{text}: {err}");
                assert!(message.contains(needle), "{text}: {err}");
            }
            other => panic!("{text}: {other}"),
        }
    }
}

#[test]
fn api_credentials_come_from_a_file_or_a_systemd_credential_never_the_config() {
    let err = from("[api]\nauth = \"basic\"\n").unwrap_err();
    assert!(
        err.to_string().contains("secrets never go in the config"),
        "{err}"
    );
    let s = from("[api]\nauth = \"login\"\ncredential = \"canopsis-api\"\n").unwrap();
    assert_eq!(
        s.api.credentials,
        CredentialSource::Systemd("canopsis-api".into())
    );
    let err = from("[api]\ncredential = \"x\"\ncredentials_file = \"/etc/x\"\n").unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
}

#[test]
fn compose_needs_its_directory_which_becomes_a_root() {
    let err = from("[install]\nmethod = \"compose\"\n").unwrap_err();
    assert!(err.to_string().contains("compose_dir is required"), "{err}");
    let s = from("[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n").unwrap();
    assert!(s.file_roots.contains(&PathBuf::from("/srv/canopsis")));
}

#[test]
fn later_fragments_win_field_by_field() {
    let s = Settings::from_sources(&[
        Source {
            file: "a".into(),
            text: "[install]\nedition = \"pro\"\n[sandbox]\nscript_timeout = \"30s\"\n".into(),
        },
        Source {
            file: "b".into(),
            text: "[sandbox]\nscript_timeout = \"1m\"\n".into(),
        },
    ])
    .unwrap();
    assert_eq!(s.edition, Edition::Pro);
    assert_eq!(s.limits.timeout, Duration::from_secs(60));
}

#[test]
fn a_bad_choice_is_refused_where_it_is_written_with_the_valid_ones() {
    let cases = [
        ("[run]\non_failure = \"later\"\n", "`restore` or `keep`"),
        (
            "[api]\nunreachable_before = \"panic\"\n",
            "`warn` or `error`",
        ),
        (
            "[api]\nauth = \"token\"\n",
            "`none`, `api-key`, `basic`, `login`",
        ),
        (
            "[rabbitmq]\non_drain_timeout = \"wait\"\n",
            "`fail` or `warn`",
        ),
        ("[nightly]\nsource = \"web\"\n", "`repository` or `catalog`"),
        ("[install]\nmethod = \"snap\"\n", "`packages` or `compose`"),
    ];
    for (text, valid) in cases {
        let err = from(text).unwrap_err();
        let column = text.find('"').unwrap() - text.find('\n').unwrap();
        match &err {
            ConfigError::At {
                line: 2,
                column: c,
                message,
                ..
            } if *c == column => {
                assert!(message.starts_with("unknown variant"), "{text}: {err}");
                assert!(message.contains(valid), "{text}: {err}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

/// Each line of the shipped sample that is a commented-out key (`#key = ...` or
/// `# key = ...`) or table header, uncommented; prose stays a comment.
fn every_sample_key_uncommented(sample: &str) -> (String, usize) {
    let mut keys = 0;
    let text = sample
        .lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix('#') else {
                return line;
            };
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let is_key = rest.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
            let is_header = rest.starts_with('[') && rest.ends_with(']') && !rest.contains(' ');
            if is_key {
                keys += 1;
            }
            if is_key || is_header {
                rest
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text, keys)
}

#[test]
fn every_key_of_the_shipped_sample_is_a_known_key() {
    let sample = include_str!("../../packaging/config.toml");
    let (text, keys) = every_sample_key_uncommented(sample);
    assert!(keys >= 60, "only {keys} keys found in the sample:\n{text}");
    // deny_unknown_fields on every section: a key the sample documents but the input types do
    // not know (or a bad example value) fails here.
    input::parse("packaging/config.toml", &text).unwrap();
    let mut merged = input::Merged::default();
    merged.apply("sample", &text, input::parse("sample", &text).unwrap());
    assert!(merged
        .window
        .is_some_and(|w| w.value.input.slots.len() == 1));
    assert!(merged.nightly.policy.is_some());
}

#[test]
fn every_error_of_a_file_is_reported_each_at_its_value() {
    let text = "[install]\nedition = \"community\"\n\n[window]\n# a comment\n\ntime_zone = \"Mars/Olympus\"\n[[window.slot]]\ndays = [\"Sat\"]\nstart = \"25:00\"\nlength = \"2h\"\n[api]\ntimeout = \"forever\"\n";
    let err = from(text).unwrap_err();
    let each: Vec<String> = err.each().iter().map(ToString::to_string).collect();
    assert_eq!(each.len(), 3, "{each:#?}");
    assert!(each[0].starts_with("/etc/canopsis-upgrade/config.toml:7:13: window.time_zone: unknown time zone \"Mars/Olympus\""), "{each:#?}");
    assert!(
        each[1].starts_with(
            "/etc/canopsis-upgrade/config.toml:10:9: window.slot[0].start: bad time \"25:00\""
        ),
        "{each:#?}"
    );
    assert!(
        each[2].starts_with("/etc/canopsis-upgrade/config.toml:13:11: api.timeout:"),
        "{each:#?}"
    );
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn the_shipped_sample_documents_every_key_of_every_section() {
    let sample = include_str!("../../packaging/config.toml");
    // A key is documented as `key = ...`, `#key = ...` or `# key = ...` under its section.
    let documented = |section: &str, key: &str| {
        let start = sample
            .find(&format!("[{section}]"))
            .unwrap_or_else(|| panic!("[{section}] is not in packaging/config.toml"));
        let rest = &sample[start..];
        let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
        rest[..end].lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.strip_prefix(key)
                .is_some_and(|after| after.trim_start().starts_with('='))
        })
    };
    let mut missing = Vec::new();
    let window = ("window", super::sections::window::KEYS);
    for (section, keys) in super::input::SECTIONS.iter().copied().chain([window]) {
        for key in keys {
            if !documented(section, key) {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from packaging/config.toml: {missing:?}"
    );
}
