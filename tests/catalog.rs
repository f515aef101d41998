//! The release catalog against its scripts: every release whose note asks for something has a
//! script (scripts/releases/procedures.toml, derived once from the notes, says which), every
//! script names its note, and every script compiles and dry-runs for both editions and both
//! install methods, alone and inside longer upgrades.

use std::collections::BTreeMap;

use canopsis_upgrade::action::Action;
use canopsis_upgrade::catalog::Catalog;
use canopsis_upgrade::check;
use canopsis_upgrade::config::{Settings, Source};
use canopsis_upgrade::procedure::ScriptSet;
use canopsis_upgrade::upgrade::inputs::dry_run_plan;
use canopsis_upgrade::version::Version;

const PROCEDURES: &str = include_str!("../scripts/releases/procedures.toml");

/// procedures.toml: the releases whose note shows a procedure, and the two exception tables.
struct Procedures {
    releases: BTreeMap<Version, toml::Value>,
    no_script: BTreeMap<Version, String>,
    script_only: BTreeMap<Version, String>,
}

fn procedures() -> Procedures {
    let doc: toml::Table = toml::from_str(PROCEDURES).expect("procedures.toml parses");
    let table = |name: &str| -> BTreeMap<Version, toml::Value> {
        doc[name]
            .as_table()
            .unwrap_or_else(|| panic!("[{name}] is a table"))
            .iter()
            .map(|(k, v)| (Version::parse(k).unwrap(), v.clone()))
            .collect()
    };
    let reasons = |name: &str| -> BTreeMap<Version, String> {
        table(name)
            .into_iter()
            .map(|(v, reason)| {
                let reason = reason.as_str().unwrap_or_default().to_owned();
                assert!(reason.len() > 10, "[{name}] {v}: say why");
                (v, reason)
            })
            .collect()
    };
    Procedures {
        releases: table("releases"),
        no_script: reasons("no_script"),
        script_only: reasons("script_only"),
    }
}

/// The four kinds of install, as config texts (site script directories kept out).
const VARIANTS: [(&str, &str); 4] = [
    ("community packages", ""),
    ("pro packages", "[install]\nedition = \"pro\"\n"),
    (
        "community compose",
        "[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n",
    ),
    (
        "pro compose",
        "[install]\nmethod = \"compose\"\nedition = \"pro\"\ncompose_dir = \"/srv/canopsis\"\n",
    ),
];

fn settings(extra: &str) -> Settings {
    let text = format!("[scripts]\nrelease_dirs = []\naddon_dirs = []\n{extra}");
    Settings::from_sources(&[Source {
        file: "test.toml".into(),
        text,
    }])
    .unwrap()
}

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

#[test]
fn every_release_whose_note_shows_a_procedure_has_a_script() {
    let catalog = Catalog::bundled();
    let scripts = ScriptSet::bundled();
    let p = procedures();
    for version in p
        .releases
        .keys()
        .chain(p.no_script.keys())
        .chain(p.script_only.keys())
    {
        assert!(
            catalog.get(version).is_some(),
            "procedures.toml names {version}, which index.toml does not list"
        );
    }
    for version in p.no_script.keys() {
        assert!(
            p.releases.contains_key(version),
            "[no_script] {version} is not in [releases]: nothing to excuse"
        );
    }
    for version in p.script_only.keys() {
        assert!(
            !p.releases.contains_key(version),
            "[script_only] {version} is in [releases]: no excuse needed"
        );
    }
    let mut missing = Vec::new();
    for release in catalog.releases() {
        let v = &release.version;
        let needs = p.releases.contains_key(v) && !p.no_script.contains_key(v);
        if needs && !scripts.releases.contains_key(v) {
            missing.push(format!("{v} ({})", p.releases[v]));
        }
    }
    assert!(
        missing.is_empty(),
        "releases whose note shows an upgrade procedure but that have no script \
         (write scripts/releases/<version>.rhai, or say why not in [no_script]):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn every_script_is_for_a_listed_release_or_says_why() {
    let p = procedures();
    for (version, script) in &ScriptSet::bundled().releases {
        let listed = p.releases.contains_key(version) && !p.no_script.contains_key(version);
        assert!(
            listed || p.script_only.contains_key(version),
            "{}: {version} is not in procedures.toml's [releases] (or is in [no_script]); \
             add it to [script_only] with the reason",
            script.origin
        );
    }
}

#[test]
fn every_script_names_its_note_and_summarises_its_steps() {
    for (version, script) in &ScriptSet::bundled().releases {
        let mut lines = script.source.lines();
        let first = lines.next().unwrap_or_default();
        let header = format!("// Canopsis {version}: implements release-notes/{version}.md");
        assert!(
            first.starts_with(&header),
            "{}: the first line must be {header:?}, got {first:?}",
            script.origin
        );
        let comments = lines.take_while(|l| l.starts_with("//")).count();
        assert!(
            comments >= 1,
            "{}: one summary line per step below the header",
            script.origin
        );
    }
}

#[test]
fn every_script_compiles_and_dry_runs_for_both_editions_and_both_install_methods() {
    let catalog = Catalog::bundled();
    for (name, extra) in VARIANTS {
        let settings = settings(extra);
        let report = check::check(&settings, &catalog, &[]);
        assert!(report.errors.is_empty(), "{name}: {:#?}", report.errors);
        assert_eq!(
            report.checked,
            ScriptSet::bundled().releases.len() + 1,
            "{name}: every release script and the standard one"
        );
    }
}

/// Every script's hooks in the plans onto its release from the one before, from the one before
/// onto the newest (the other to() branches), and once the whole path.
fn every_script_plans_alone_and_inside_longer_upgrades(variant: usize) {
    let catalog = Catalog::bundled();
    let scripts = ScriptSet::bundled();
    let first = catalog.releases().next().unwrap().version.clone();
    let newest = catalog.newest().unwrap().clone();
    {
        let (name, extra) = VARIANTS[variant];
        let settings = settings(extra);
        for version in scripts.releases.keys() {
            let previous = catalog
                .releases()
                .map(|r| r.version.clone())
                .take_while(|r| r < version)
                .last()
                .unwrap();
            for (from, to) in [
                (previous.clone(), version.clone()),
                (previous.clone(), newest.clone()),
                (first.clone(), newest.clone()),
            ] {
                if from == first
                    && to == newest
                    && version != scripts.releases.keys().next().unwrap()
                {
                    // The whole path once is enough.
                    continue;
                }
                let plan = dry_run_plan(&settings, &catalog, &scripts, from.clone(), to.clone())
                    .unwrap_or_else(|e| panic!("{name}: plan {from} -> {to}: {e}"));
                assert!(
                    plan.path.contains(version),
                    "{name}: {from} -> {to} passes {version}"
                );
                for step in &plan.steps {
                    for action in &step.actions {
                        if let Action::Manual { text } = action {
                            assert!(
                                text.len() < 1200,
                                "{name}: a manual step of {:?} is too long to act on: {text}",
                                step.version
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_script_plans_alone_and_inside_longer_upgrades_community_packages() {
    every_script_plans_alone_and_inside_longer_upgrades(0);
}

#[test]
fn every_script_plans_alone_and_inside_longer_upgrades_pro_packages() {
    every_script_plans_alone_and_inside_longer_upgrades(1);
}

#[test]
fn every_script_plans_alone_and_inside_longer_upgrades_community_compose() {
    every_script_plans_alone_and_inside_longer_upgrades(2);
}

#[test]
fn every_script_plans_alone_and_inside_longer_upgrades_pro_compose() {
    every_script_plans_alone_and_inside_longer_upgrades(3);
}

/// The commands of the standard procedure's steps in the plan onto `to`.
fn standard_lines(extra: &str, from: &str, to: &str) -> Vec<String> {
    let settings = settings(extra);
    let plan = dry_run_plan(
        &settings,
        &Catalog::bundled(),
        &ScriptSet::bundled(),
        v(from),
        v(to),
    )
    .unwrap();
    plan.steps
        .iter()
        .filter(|s| s.hook == "standard")
        .flat_map(|s| s.actions.iter().map(Action::describe))
        .filter(|line| !line.starts_with("MANUAL"))
        .collect()
}

#[test]
fn the_standard_procedure_follows_each_era() {
    let yum = "yum '--disablerepo=*' '--enablerepo=canopsis*' update -y";
    let dnf = "dnf '--disablerepo=*' '--enablerepo=canopsis*' update -y";
    let reconf = "/opt/canopsis/bin/canopsis-reconfigure";
    let pg = "-migrate-postgres=true -postgres-migration-mode=up -postgres-migration-directory=/opt/canopsis/share/migrations/postgres";
    // 3.x before 3.17: canopsinit alone.
    assert_eq!(
        standard_lines("", "3.15.0", "3.16.0"),
        [
            yum,
            "canopsinit (as canopsis)",
            "reload systemd unit files",
            "restart canopsis"
        ]
    );
    // 3.17 to 3.48: edition and stack.
    assert_eq!(
        standard_lines("[install]\nedition = \"pro\"\n", "3.46.0", "3.47.0")[1],
        "canopsinit --canopsis-edition cat --canopsis-stack go (as canopsis)"
    );
    // 4.0 to 4.4: canopsinit, then canopsis-reconfigure without the PostgreSQL flags.
    let lines = standard_lines("", "4.3.7", "4.3.8");
    assert_eq!(
        lines,
        [
            yum.to_owned(),
            "canopsinit --canopsis-edition core (as canopsis)".to_owned(),
            format!("{reconf} (with go-engines-vars.conf)"),
            "reload systemd unit files".to_owned(),
            "restart canopsis".to_owned(),
        ]
    );
    // 4.5 and 4.6: with them.
    assert_eq!(
        standard_lines("", "4.6.2", "4.6.3")[2],
        format!("{reconf} {pg} (with go-engines-vars.conf)")
    );
    // 22.10 on: dnf, reconfigure with the edition, restart of the guide's units; engine-service
    // until 23.04 only.
    let e = "canopsis-engine-go@engine-";
    let lines = standard_lines("", "23.04.13", "23.04.14");
    assert_eq!(lines[..2], ["dnf makecache", dnf]);
    assert_eq!(
        lines[2],
        format!("{reconf} -edition community -migrate-postgres=true (with go-engines-vars.conf)")
    );
    assert_eq!(
        lines[3],
        format!(
            "restart {e}action.service {e}axe.service {e}che.service {e}fifo.service \
             {e}pbehavior.service {e}service.service canopsis-service@canopsis-api.service"
        )
    );
    assert_eq!(
        lines.len(),
        4,
        "no daemon-reload, no canoctl from 22.10: {lines:#?}"
    );
    let lines = standard_lines("[install]\nedition = \"pro\"\n", "24.04.2", "24.04.3");
    assert_eq!(
        lines[3],
        format!(
            "restart {e}action.service {e}axe.service {e}che.service {e}correlation.service \
             {e}dynamic-infos.service {e}fifo.service {e}pbehavior.service \
             canopsis-service@canopsis-api.service {e}remediation.service {e}webhook.service"
        )
    );
    // Docker Compose: the target's tag, pull, up (docker-compose before 22.10).
    let compose = "[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n";
    assert_eq!(
        standard_lines(compose, "3.46.0", "3.47.0"),
        [
            "set CANOPSIS_IMAGE_TAG=3.47.0 in /srv/canopsis/.env",
            "docker-compose pull",
            "docker-compose up -d"
        ]
    );
    assert_eq!(
        standard_lines(compose, "24.04.2", "24.04.3"),
        [
            "set CANOPSIS_IMAGE_TAG=24.04.3 in /srv/canopsis/.env",
            "set CPS_EDITION=community in /srv/canopsis/.env",
            "docker compose pull",
            "docker compose up -d"
        ]
    );
}

#[test]
fn the_longest_plan_stays_cheap() {
    // The benchmark (benches/plan.rs) holds the real target (< 100 ms in release builds); this
    // only catches a script doing expensive work in a dry run, with room for debug builds.
    let settings = settings("");
    let (catalog, scripts) = (Catalog::bundled(), ScriptSet::bundled());
    let start = std::time::Instant::now();
    for _ in 0..5 {
        dry_run_plan(&settings, &catalog, &scripts, v("3.5.0"), v("24.04.3")).unwrap();
    }
    let each = start.elapsed() / 5;
    assert!(
        each < std::time::Duration::from_secs(1),
        "plan 3.5.0 -> 24.04.3 took {each:?}"
    );
}
