//! The commands that touch nothing: `plan`, `check`, `window`, `api-doc`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{DocFormat, ExitStatus, Format};
use crate::config::Settings;
use crate::upgrade::inputs;
use crate::version::Version;
use crate::{apidoc, check};

/// `plan`: the exact ordered actions of an upgrade.
pub fn plan(
    settings: &Settings,
    from: Option<Version>,
    to: Version,
    format: Format,
) -> Result<ExitCode> {
    let from = inputs::installed_version(settings, from)?;
    let catalog = inputs::catalog(settings)?;
    let scripts = inputs::scripts(settings)?;
    let plan = inputs::dry_run_plan(settings, &catalog, &scripts, from, to)?;
    match format {
        Format::Text => print!("{}", plan.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    Ok(match plan.runnable {
        true => ExitCode::SUCCESS,
        false => ExitStatus::NotRunnable.into(),
    })
}

/// `check`: compile and dry-run every script (or the given ones).
pub fn check(settings: &Settings, scripts: &[PathBuf], format: Format) -> Result<ExitCode> {
    let catalog = inputs::catalog(settings)?;
    let report = check::check(settings, &catalog, scripts);
    match format {
        Format::Text => {
            for line in &report.lines {
                println!("{line}");
            }
            for error in &report.errors {
                eprintln!("{error}");
            }
            println!(
                "{} script(s) checked, {} error(s)",
                report.checked,
                report.errors.len()
            );
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitStatus::Failure.into()
    })
}

/// `window`: the next maintenance windows.
pub fn window(settings: &Settings, next: usize, format: Format) -> Result<ExitCode> {
    let now = jiff::Timestamp::now();
    match format {
        Format::Text => print!(
            "{}",
            crate::window::render_upcoming(&settings.window, now, next)
        ),
        Format::Json => {
            let json = crate::window::upcoming_json(&settings.window, now, next);
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `api-doc`: the script API reference.
pub fn api_doc(format: DocFormat) -> Result<ExitCode> {
    let docs = apidoc::collect();
    match format {
        DocFormat::Markdown => print!("{}", apidoc::markdown(&docs)),
        DocFormat::Json => println!("{}", serde_json::to_string_pretty(&docs)?),
    }
    Ok(ExitCode::SUCCESS)
}
