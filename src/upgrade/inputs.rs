//! What every command builds from the settings: the catalog, the scripts, the script context,
//! the installed version, and the dry-run plan.

use std::sync::Arc;

use anyhow::{bail, Result};

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::executor::DryRunExecutor;
use crate::plan::{self, Plan};
use crate::procedure::host::ScriptContext;
use crate::procedure::{discover, ProcedureSettings, ScriptSet};
use crate::version::Version;

/// The bundled catalog plus the site's indexes.
pub fn catalog(settings: &Settings) -> Result<Catalog> {
    let mut catalog = Catalog::bundled();
    for source in settings.read_indexes()? {
        catalog.add_index(&source.file, &source.text)?;
    }
    Ok(catalog)
}

/// The bundled scripts plus the site's directories.
pub fn scripts(settings: &Settings) -> Result<ScriptSet> {
    discover::load(&settings.release_dirs, &settings.addon_dirs).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!("unusable script files:\n{}", lines.join("\n"))
    })
}

/// The script context of an upgrade under these settings.
pub fn context(settings: &Settings, from: Version, to: Version) -> ScriptContext {
    ScriptContext {
        from,
        to,
        edition: settings.edition,
        install: settings.install,
        compose_dir: settings.compose_dir.clone(),
        engine_env_file: settings.engine_env_file.clone(),
        command_timeout: settings.command_timeout,
    }
}

/// The procedure settings of an upgrade (context, sandbox, limits).
pub fn procedure(settings: &Settings, from: Version, to: Version) -> ProcedureSettings {
    ProcedureSettings {
        context: context(settings, from, to),
        rules: settings.sandbox_rules(),
        limits: settings.limits.clone(),
    }
}

/// The installed version: given, or detected (and the edition checked against the config).
pub fn installed_version(settings: &Settings, given: Option<Version>) -> Result<Version> {
    if let Some(v) = given {
        return Ok(v);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let detected = runtime.block_on(crate::install::detect::detect(settings))?;
    if let Some(edition) = detected.edition {
        if edition != settings.edition {
            bail!(
                "the installed edition is {edition} ({}) but the configuration says {}: set install.edition",
                detected.source,
                settings.edition
            );
        }
    }
    Ok(detected.version)
}

/// The dry-run plan of an upgrade.
pub fn dry_run_plan(
    settings: &Settings,
    catalog: &Catalog,
    scripts: &ScriptSet,
    from: Version,
    to: Version,
) -> Result<Plan> {
    let procedure = procedure(settings, from, to);
    let executor = Arc::new(DryRunExecutor::new(procedure.rules.clone()));
    Ok(plan::build(catalog, scripts, procedure, executor)?)
}
