//! `plan` from the command line: the guide's example, long paths, and every refusal.

use canopsis_upgrade_test_support::site::{plan_json, stderr, stdout, Site};
use serde_json::Value;

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// Position of the first step matching a predicate.
fn position(steps: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    steps.iter().position(pred).expect("step not found")
}

#[test]
fn the_guides_example_3_38_to_3_40() {
    let site = Site::new("");
    let plan = plan_json(&site, &["--from", "3.38.0", "--to", "3.40.0"]);
    assert_eq!(plan["from"], "3.38.0");
    assert_eq!(plan["to"], "3.40.0");
    assert_eq!(strings(&plan["path"]), ["3.39.0", "3.39.1", "3.40.0"]);
    let steps = plan["steps"].as_array().unwrap();
    for step in steps {
        assert_eq!(step["sha256"].as_str().unwrap().len(), 64, "{step}");
        assert!(
            step["script"].as_str().unwrap().starts_with("bundled:"),
            "{step}"
        );
        for action in step["actions"].as_array().unwrap() {
            assert!(action["action"].is_string(), "{action}");
        }
    }
    let after_3_40 = position(steps, |s| {
        s["version"] == "3.40.0" && s["hook"] == "after_update"
    });
    let standard: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i]["hook"] == "standard")
        .collect();
    assert_eq!(standard.len(), 2, "the standard procedure's two halves");
    assert!(
        standard.iter().all(|&i| i < after_3_40),
        "standard before the after_update hooks"
    );
    for (i, step) in steps.iter().enumerate() {
        if step["hook"] == "before_update" {
            assert!(i < standard[0], "before_update hooks come first");
        }
    }
    // The 3.40.0 note's two webserver.conf lines, guarded like its grep, then a restart.
    let actions = steps[after_3_40]["actions"].as_array().unwrap();
    let lines: Vec<(&str, &str)> = actions
        .iter()
        .filter(|a| a["action"] == "ensure_line")
        .map(|a| (a["line"].as_str().unwrap(), a["prefix"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                "canopsis.webcore.services.metaalarmrule=1",
                "canopsis.webcore.services.metaalarmrule"
            ),
            (
                "canopsis.webcore.services.broadcast_message=1",
                "canopsis.webcore.services.broadcast_message"
            ),
        ]
    );
    assert!(actions
        .iter()
        .filter(|a| a["action"] == "ensure_line")
        .all(|a| a["path"] == "/opt/canopsis/etc/webserver.conf"));
    assert_eq!(actions.last().unwrap()["action"], "restart_canopsis");
}

#[test]
fn four_four_to_four_five_and_the_long_way_to_4_5_14() {
    let site = Site::new("");
    let plan = plan_json(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    assert_eq!(strings(&plan["path"]), ["4.4.1", "4.5.0"]);
    assert!(plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["version"] == "4.5.0"));

    let plan = plan_json(&site, &["--from", "3.38.0", "--to", "4.5.14"]);
    let path = strings(&plan["path"]);
    assert_eq!(path.first(), Some(&"3.39.0"));
    assert_eq!(path.last(), Some(&"4.5.14"));
    let manual = plan["manual"].as_array().unwrap();
    let of = |v: &str| manual.iter().filter(|m| m["version"] == v).count();
    assert!(
        of("4.0.0") > 0,
        "the 4.0.0 migration guide's manual steps: {manual:?}"
    );
    assert!(of("4.5.0") > 0, "the 4.5.0 migration guide's manual steps");
    assert!(manual
        .iter()
        .all(|m| !m["text"].as_str().unwrap().is_empty()));
}

#[test]
fn text_plan_lists_steps_and_manual_steps() {
    let site = Site::new("");
    let output = site.run(&["plan", "--from", "3.48.0", "--to", "4.5.14"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("from 3.48.0 to 4.5.14"), "{text}");
    assert!(text.contains("Manual steps"), "{text}");
    assert!(!text.contains("CANNOT BE RUN"), "{text}");
}

#[test]
fn a_plan_the_scripts_refuse_exits_4_with_the_refusal_first() {
    let site = Site::new("");
    let output = site.run(&["plan", "--from", "3.38.0", "--to", "4.5.14"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stdout(&output);
    let refusal = text
        .find("THIS UPGRADE CANNOT BE RUN")
        .expect("the refusal is shown");
    let first_step = text.find("  1. ").expect("the steps are still shown");
    assert!(
        refusal < first_step,
        "the refusal comes before the steps:\n{text}"
    );
    assert!(text[refusal..first_step].contains("[4.0.0]"), "{text}");
    let json = site.run(&[
        "plan", "--from", "3.38.0", "--to", "4.5.14", "--format", "json",
    ]);
    assert_eq!(json.status.code(), Some(4));
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["schema"], 1);
    assert_eq!(plan["runnable"], false);
}

#[test]
fn the_plan_estimate_is_the_sum_of_the_steps() {
    let site = Site::new("");
    let plan = plan_json(&site, &["--from", "4.4.0", "--to", "24.04.3"]);
    let steps: u64 = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["estimate_secs"].as_u64().unwrap())
        .sum();
    assert!(steps > 0);
    assert_eq!(plan["estimate_secs"].as_u64(), Some(steps));
}

fn refused(site: &Site, from: &str, to: &str) -> String {
    let output = site.run(&["plan", "--from", from, "--to", to]);
    assert!(!output.status.success(), "{from} -> {to} was accepted");
    assert!(stdout(&output).is_empty(), "no plan on refusal");
    stderr(&output)
}

#[test]
fn refusals_say_why() {
    let site = Site::new("");
    assert!(refused(&site, "4.5.0", "4.4.0").contains("downgrades are not supported"));
    assert!(refused(&site, "4.5.0", "4.5.0").contains("already installed"));
    assert!(refused(&site, "4.5.0", "4.5.99").contains("not a published Canopsis release"));
    assert!(refused(&site, "4.5.99", "4.6.0").contains("not a known Canopsis release"));
    assert!(refused(&site, "24.04.0", "24.10.0")
        .contains("newer than the newest known release 24.04.3"));
    assert!(refused(&site, "4.5.1", "4.5.2").contains("cannot be a target"));
    let malformed = refused(&site, "4.5", "4.6.0");
    assert!(
        malformed.contains("malformed version \"4.5\""),
        "{malformed}"
    );
    assert!(refused(&site, "4.5.0", "24.4").contains("malformed version"));
}

#[test]
fn a_site_index_makes_a_newer_target_known() {
    let site = Site::new("");
    let index = site.write("index.toml", "[releases]\n\"24.10.0\" = 2024-11-05\n");
    site.append_config(&format!(
        "[catalog]\nindex_files = [\"{}\"]\n",
        index.display()
    ));
    let plan = plan_json(&site, &["--from", "24.04.3", "--to", "24.10.0"]);
    assert_eq!(strings(&plan["path"]), ["24.10.0"]);

    site.write("index.toml", "[releases]\n\"24.10\" = 2024-11-05\n");
    let output = site.run(&["plan", "--from", "24.04.3", "--to", "24.10.0"]);
    let err = stderr(&output);
    assert!(err.contains("index.toml:2:1: malformed version"), "{err}");
}

#[test]
fn a_bad_config_names_file_line_and_column() {
    let site = Site::new("[install]\nedition = \"community\"\nflavour = \"x\"\n");
    let output = site.run(&["plan", "--from", "4.4.0", "--to", "4.5.0"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    let expected = format!("{}:6:1: unknown field `flavour`", site.config().display());
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn a_site_script_replaces_the_bundled_one_and_addons_run() {
    let site = Site::new("");
    site.write(
        "releases.d/3.40.0.rhai",
        "fn after_update() { ensure_line(\"/opt/canopsis/etc/site.conf\", \"x=1\"); }\n",
    );
    site.write(
        "addons.d/ldap.rhai",
        "fn after_update() { unit_restart(\"canopsis-ldap\"); }\n",
    );
    let plan = plan_json(&site, &["--from", "3.39.1", "--to", "3.40.0"]);
    let steps = plan["steps"].as_array().unwrap();
    let release = &steps[position(steps, |s| s["version"] == "3.40.0")];
    assert!(release["script"]
        .as_str()
        .unwrap()
        .ends_with("releases.d/3.40.0.rhai"));
    assert_eq!(release["actions"][0]["path"], "/opt/canopsis/etc/site.conf");
    let addon = steps.last().unwrap();
    assert_eq!(addon["hook"], "ldap");
    assert!(addon["version"].is_null());
    assert_eq!(addon["actions"][0]["unit"], "canopsis-ldap.service");
}

#[test]
fn an_upgrade_the_tool_cannot_do_is_shown_as_a_refusal() {
    let site = Site::new("");
    let plan = plan_json(&site, &["--from", "3.38.0", "--to", "4.5.14"]);
    let refusals = plan["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["version"], "4.0.0");
    assert!(refusals[0]["text"]
        .as_str()
        .unwrap()
        .contains("Upgrade to 3.48.0 first"));
    // From 3.48.0 the same upgrade can run.
    let plan = plan_json(&site, &["--from", "3.48.0", "--to", "4.5.14"]);
    assert_eq!(
        plan["refusals"],
        serde_json::json!([]),
        "always there, empty when runnable"
    );
    assert_eq!(plan["runnable"], true);
    assert_eq!(plan["schema"], 1);
}
