//! The command line: `plan`, `check`, `api-doc`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::executor::DryRunExecutor;
use crate::plan;
use crate::procedure::host::ScriptContext;
use crate::procedure::ProcedureSettings;
use crate::procedure::{discover, ScriptSet};
use crate::version::Version;
use crate::{apidoc, check};

/// Upgrades Canopsis inside maintenance windows, safely.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Read only this config file instead of the layered /usr/lib, /etc, /run configuration.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the exact ordered actions of an upgrade, touching nothing.
    Plan {
        /// The installed version (detected when omitted).
        #[arg(long)]
        from: Option<Version>,
        /// The target version.
        #[arg(long)]
        to: Version,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compile and dry-run every procedure script (or the given ones); report every error.
    Check {
        /// Script files to check instead of the configured set.
        scripts: Vec<PathBuf>,
    },
    /// Print the script API reference, generated from what is registered.
    ApiDoc {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Markdown)]
        format: DocFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DocFormat {
    Markdown,
    Json,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let settings = match &cli.config {
        Some(path) => Settings::load_file(path)?,
        None => Settings::load_layered(std::path::Path::new("/"))?,
    };
    match cli.command {
        Command::Plan { from, to, format } => {
            let plan = plan_upgrade(&settings, from, to)?;
            match format {
                Format::Text => print!("{}", plan.to_text()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { scripts } => {
            let catalog = catalog(&settings)?;
            let report = check::check(&settings, &catalog, &scripts);
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
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::ApiDoc { format } => {
            let docs = apidoc::collect();
            match format {
                DocFormat::Markdown => print!("{}", apidoc::markdown(&docs)),
                DocFormat::Json => println!("{}", serde_json::to_string_pretty(&docs)?),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

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

/// The dry-run plan of an upgrade; `from` is detected when not given.
pub fn plan_upgrade(settings: &Settings, from: Option<Version>, to: Version) -> Result<plan::Plan> {
    let from = match from {
        Some(v) => v,
        None => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let detected = runtime.block_on(crate::detect::detect(settings))?;
            if let Some(edition) = detected.edition {
                if edition != settings.edition {
                    bail!(
                        "the installed edition is {edition} ({}) but the configuration says {}: set install.edition",
                        detected.source,
                        settings.edition
                    );
                }
            }
            detected.version
        }
    };
    let catalog = catalog(settings)?;
    let scripts = scripts(settings)?;
    let policy = settings.policy();
    let procedure = ProcedureSettings {
        context: context(settings, from, to),
        policy: policy.clone(),
        limits: settings.limits.clone(),
    };
    Ok(plan::build(
        &catalog,
        &scripts,
        procedure,
        Arc::new(DryRunExecutor::new(policy)),
    )?)
}
