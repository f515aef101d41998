//! `check`: compile every procedure script and dry-run each of its hooks, collecting every error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::executor::DryRunExecutor;
use crate::procedure::discover::{self, STANDARD};
use crate::procedure::{ProcedureSettings, Script, ScriptKind, ScriptSet, Scripting};
use crate::version::Version;

/// What `check` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// How many scripts were checked.
    pub checked: usize,
    /// One line per good script.
    pub lines: Vec<String>,
    /// Every error, located (file:line:col where the script tells).
    pub errors: Vec<String>,
}

/// Checks the given script files, or the whole configured set when none are given.
pub fn check(settings: &Settings, catalog: &Catalog, files: &[PathBuf]) -> Report {
    let mut report = Report::default();
    let scripts: Vec<Script> = if files.is_empty() {
        match discover::load(&settings.release_dirs, &settings.addon_dirs) {
            Ok(set) => set.all().cloned().collect(),
            Err(errors) => {
                report.errors.extend(errors.iter().map(ToString::to_string));
                ScriptSet::bundled().all().cloned().collect()
            }
        }
    } else {
        files
            .iter()
            .filter_map(|path| read_script(path, &mut report))
            .collect()
    };
    for script in &scripts {
        report.checked += 1;
        match check_one(settings, catalog, script) {
            Ok(line) => report.lines.push(line),
            Err(error) => report.errors.push(error),
        }
    }
    report
}

/// A script file named on the command line: its kind follows its name.
fn read_script(path: &Path, report: &mut Report) -> Option<Script> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) => {
            report.errors.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".rhai").unwrap_or(&name);
    let kind = if name == STANDARD {
        ScriptKind::Standard
    } else if let Ok(version) = Version::parse(stem) {
        ScriptKind::Release(version)
    } else {
        ScriptKind::Addon(stem.to_owned())
    };
    Some(Script::new(path.display().to_string(), kind, source))
}

/// Compiles one script and dry-runs its hooks as the upgrade onto its release would.
fn check_one(settings: &Settings, catalog: &Catalog, script: &Script) -> Result<String, String> {
    let newest = catalog.newest().ok_or("the catalog is empty")?.clone();
    let to = match &script.kind {
        ScriptKind::Release(v) if catalog.get(v).is_none() => {
            return Err(format!(
                "{}: {v} is not a release of the catalog, so this script would never run",
                script.origin
            ))
        }
        ScriptKind::Release(v) => v.clone(),
        _ => newest,
    };
    let from = catalog
        .releases()
        .map(|r| &r.version)
        .take_while(|v| **v < to)
        .last()
        .unwrap_or(&to)
        .clone();
    let rules = settings.sandbox_rules();
    let procedure = ProcedureSettings {
        context: crate::upgrade::inputs::context(settings, from, to.clone()),
        rules: rules.clone(),
        limits: settings.limits.clone(),
    };
    let scripting = Scripting::new(procedure, Arc::new(DryRunExecutor::new(rules)));
    let compiled = scripting.compile(script).map_err(|e| e.to_string())?;
    let version = matches!(script.kind, ScriptKind::Release(_)).then(|| to.clone());
    let mut counts = Vec::new();
    for &hook in &compiled.hooks {
        let record = scripting
            .call(&compiled, hook, version.clone())
            .map_err(|e| e.to_string())?;
        counts.push(format!("{hook}: {} action(s)", record.actions.len()));
    }
    Ok(format!("ok {} ({})", script.origin, counts.join(", ")))
}
