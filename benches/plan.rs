//! `plan` over the longest known path (3.5.0 -> 24.04.3) and the guide's example, as the CLI
//! computes it: bundled catalog and scripts, default settings, dry-run executor.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};

use canopsis_upgrade::catalog::Catalog;
use canopsis_upgrade::config::Settings;
use canopsis_upgrade::executor::DryRunExecutor;
use canopsis_upgrade::plan;
use canopsis_upgrade::procedure::{ProcedureSettings, ScriptSet};
use canopsis_upgrade::version::Version;

fn plan_between(c: &mut Criterion, from: &str, to: &str) {
    let settings = Settings::from_sources(&[]).unwrap();
    let catalog = Catalog::bundled();
    let scripts = ScriptSet::bundled();
    let (from, to) = (Version::parse(from).unwrap(), Version::parse(to).unwrap());
    let steps = {
        let p = build(&settings, &catalog, &scripts, &from, &to);
        (
            p.path.len(),
            p.steps.len(),
            p.steps.iter().map(|s| s.actions.len()).sum::<usize>(),
        )
    };
    let name = format!(
        "plan {from} -> {to} ({} releases, {} steps, {} actions)",
        steps.0, steps.1, steps.2
    );
    c.bench_function(&name, |b| {
        b.iter(|| build(&settings, &catalog, &scripts, &from, &to))
    });
}

fn build(
    settings: &Settings,
    catalog: &Catalog,
    scripts: &ScriptSet,
    from: &Version,
    to: &Version,
) -> plan::Plan {
    let rules = settings.sandbox_rules();
    let procedure = ProcedureSettings {
        context: canopsis_upgrade::upgrade::inputs::context(settings, from.clone(), to.clone()),
        rules: rules.clone(),
        limits: settings.limits.clone(),
    };
    plan::build(
        catalog,
        scripts,
        procedure,
        Arc::new(DryRunExecutor::new(rules)),
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let newest = Catalog::bundled().newest().unwrap().to_string();
    plan_between(c, "3.5.0", &newest);
    plan_between(c, "3.38.0", "3.40.0");
}

criterion_group!(plan_benches, benches);
criterion_main!(plan_benches);
