//! The sample config shipped in packaging/ documents the real defaults.

use canopsis_upgrade::config::{Settings, Source};

#[test]
fn the_sample_config_shows_the_built_in_defaults() {
    let sample = include_str!("../packaging/config.toml");
    let as_shipped = Settings::from_sources(&[Source {
        file: "sample".into(),
        text: sample.into(),
    }])
    .unwrap();
    // Uncomment every setting (not the prose) and the result must be the same settings.
    let uncommented: String = sample
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.starts_with(' ') && !rest.is_empty() => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut uncommented_settings = uncommented.clone();
    // compose_dir only applies to compose installs; keep the rest.
    uncommented_settings =
        uncommented_settings.replace("compose_dir = \"/opt/canopsis-compose\"", "");
    let explicit = Settings::from_sources(&[Source {
        file: "uncommented".into(),
        text: uncommented_settings,
    }])
    .unwrap();
    assert_eq!(
        format!("{:?}", strip_files(as_shipped)),
        format!("{:?}", strip_files(explicit))
    );
    assert!(uncommented.contains("compose_dir"));
}

fn strip_files(mut s: Settings) -> Settings {
    s.files.clear();
    s
}
