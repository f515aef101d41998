//! The command line's conventions: documented exit statuses, JSON for every listing, -v/-q,
//! examples and the exit status table in --help.

use canopsis_upgrade_test_support::site::{stderr, stdout, Site};

#[test]
fn help_shows_examples_and_the_exit_statuses() {
    let site = Site::new("");
    let help = stdout(&site.run(&["--help"]));
    for status in [
        "0  done",
        "2  usage",
        "3  configuration",
        "4  not runnable",
        "5  locked",
    ] {
        assert!(help.contains(status), "{status}: {help}");
    }
    let plan = stdout(&site.run(&["plan", "--help"]));
    assert!(
        plan.contains("Examples:") && plan.contains("--format json"),
        "{plan}"
    );
    let run = stdout(&site.run(&["run", "--help"]));
    assert!(
        run.contains("systemctl start canopsis-upgrade@4.5.0"),
        "{run}"
    );
}

#[test]
fn an_unusable_configuration_exits_3_naming_where() {
    let site = Site::new("[window]\ntime_zone = \"Mars/Olympus\"\n");
    let output = site.run(&["window"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("config.toml:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_command_line_wrong_exits_2_and_verbose_and_quiet_exclude_each_other() {
    let site = Site::new("");
    assert_eq!(site.run(&["plan"]).status.code(), Some(2));
    assert_eq!(site.run(&["-v", "-q", "window"]).status.code(), Some(2));
    assert!(site.run(&["-q", "window"]).status.success());
    assert!(site.run(&["-vv", "window"]).status.success());
}

#[test]
fn an_error_is_said_once() {
    let site = Site::new("");
    let output = site.run(&["plan", "--from", "4.5.0", "--to", "4.4.0"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(
        err.matches("downgrades are not supported").count(),
        1,
        "{err}"
    );
}

#[test]
fn window_speaks_json() {
    let site = Site::new(
        "[window]\ntime_zone = \"Europe/Paris\"\n[[window.slot]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength = \"2h\"\n",
    );
    let output = site.run(&["window", "--next", "3", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["time_zone"], "Europe/Paris");
    assert_eq!(json["always"], false);
    let next = json["next"].as_array().unwrap();
    assert_eq!(next.len(), 3);
    assert_eq!(next[0]["length_secs"], 7200);
    let start: jiff::Timestamp = next[0]["start"].as_str().unwrap().parse().unwrap();
    let local = start.to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
    assert_eq!((local.hour(), local.minute()), (2, 0));
    assert_eq!(local.weekday(), jiff::civil::Weekday::Saturday);
}

#[test]
fn check_speaks_json() {
    let site = Site::new("");
    site.write(
        "addons.d/bad.rhai",
        "fn after_update() { restart_units([\"sshd.service\"]); }\n",
    );
    site.write("addons.d/good.rhai", "fn after_update() { log(\"hi\"); }\n");
    let output = site.run(&["check", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["checked"].as_u64().unwrap() > 2);
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].as_str().unwrap().contains("bad.rhai:1:"),
        "{errors:?}"
    );
}
