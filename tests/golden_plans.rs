//! Golden plans: the exact steps and actions of the upgrades the issue names, built with the
//! library (bundled catalog and scripts, default settings, dry-run executor) and compared with
//! the reviewed snapshots in tests/snapshots/. A change of a script shows up here as a diff to
//! review against the release notes.
//!
//! The rendering leaves out what changes without changing the plan (script checksums), and the
//! dry run touches nothing, so the snapshots hold no temporary path and no time.

use std::fmt::Write as _;

use canopsis_upgrade::catalog::Catalog;
use canopsis_upgrade::config::{Settings, Source};
use canopsis_upgrade::plan::Plan;
use canopsis_upgrade::procedure::ScriptSet;
use canopsis_upgrade::upgrade::inputs::dry_run_plan;
use canopsis_upgrade::version::Version;

const PRO: &str = "[install]\nedition = \"pro\"\n";
const COMPOSE: &str = "[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n";
const PRO_COMPOSE: &str =
    "[install]\nmethod = \"compose\"\nedition = \"pro\"\ncompose_dir = \"/srv/canopsis\"\n";

fn plan(config: &str, from: &str, to: &str) -> Plan {
    let settings = if config.is_empty() {
        Settings::from_sources(&[]).unwrap()
    } else {
        Settings::from_sources(&[Source {
            file: "golden.toml".into(),
            text: config.into(),
        }])
        .unwrap()
    };
    dry_run_plan(
        &settings,
        &Catalog::bundled(),
        &ScriptSet::bundled(),
        Version::parse(from).unwrap(),
        Version::parse(to).unwrap(),
    )
    .unwrap()
}

/// The plan for review: path, then each step with its actions and messages.
fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let path: Vec<&str> = plan.path.iter().map(Version::as_str).collect();
    let _ = writeln!(
        out,
        "Canopsis {} ({}) {} -> {}\npath: {}\nmanual steps: {}\nestimate: {} s\n",
        plan.edition,
        plan.install,
        plan.from,
        plan.to,
        path.join(", "),
        plan.manual.len(),
        plan.remaining_estimate(0).as_secs()
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "{:>3}. {}  [{}]", i + 1, step.title(), step.script);
        if step.actions.is_empty() {
            let _ = writeln!(out, "     (nothing to do for this install)");
        }
        for action in &step.actions {
            let _ = writeln!(out, "     - {}", action.describe());
        }
        for message in &step.messages {
            let _ = writeln!(out, "     {}: {}", message.level, message.text);
        }
    }
    out
}

macro_rules! golden {
    ($name:ident, $config:expr, $from:literal, $to:literal) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(render(&plan($config, $from, $to)));
        }
    };
}

// The guide's own example.
golden!(community_packages_3_38_0_to_3_40_0, "", "3.38.0", "3.40.0");
golden!(community_packages_4_4_0_to_4_5_0, "", "4.4.0", "4.5.0");
golden!(community_packages_4_3_0_to_4_5_14, "", "4.3.0", "4.5.14");
golden!(community_packages_4_6_3_to_22_10_0, "", "4.6.3", "22.10.0");
golden!(
    community_packages_22_10_13_to_23_10_8,
    "",
    "22.10.13",
    "23.10.8"
);
golden!(
    community_packages_23_10_0_to_24_04_3,
    "",
    "23.10.0",
    "24.04.3"
);
golden!(community_packages_3_5_0_to_24_04_3, "", "3.5.0", "24.04.3");
// Variants: the Pro steps, and Docker Compose.
golden!(pro_packages_3_33_0_to_3_48_0, PRO, "3.33.0", "3.48.0");
golden!(pro_packages_23_10_0_to_24_04_3, PRO, "23.10.0", "24.04.3");
golden!(
    community_compose_4_6_3_to_22_10_0,
    COMPOSE,
    "4.6.3",
    "22.10.0"
);
golden!(
    pro_compose_22_10_13_to_23_10_8,
    PRO_COMPOSE,
    "22.10.13",
    "23.10.8"
);
golden!(pro_compose_4_3_0_to_4_5_14, PRO_COMPOSE, "4.3.0", "4.5.14");

#[test]
fn the_json_plan_of_the_guides_example_is_stable_too() {
    let mut json = serde_json::to_value(plan("", "3.38.0", "3.40.0")).unwrap();
    for step in json["steps"].as_array_mut().unwrap() {
        step["sha256"] = "<sha256>".into();
    }
    insta::assert_json_snapshot!(json);
}
