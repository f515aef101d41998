//! The command line: [`args`] defines it; a file per command family runs it.

mod args;
mod generate;
mod journal;
mod monitor;
mod plan;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::config::Settings;
use crate::systemd::Notifier;
pub use args::{Cli, Command, DocFormat, Format, MonitorFormatArg, RunArgs};

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    // Before any thread exists: take the notify socket out of the environment.
    let notifier = Notifier::from_env();
    let cli = Cli::parse();
    init_logging();
    match dispatch(cli, notifier) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANOPSIS_UPGRADE_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time() // journald stamps every line
        .with_target(false)
        .try_init();
}

fn load(config: &Option<PathBuf>) -> Result<Settings> {
    Ok(match config {
        Some(path) => Settings::load_file(path)?,
        None => Settings::load_layered(Path::new("/"))?,
    })
}

fn dispatch(cli: Cli, notifier: Notifier) -> Result<ExitCode> {
    if let Command::Generate(args) = &cli.command {
        // At package build time: no config is read (a build machine has none to trust).
        return generate::generate(args);
    }
    let settings = load(&cli.config)?;
    match cli.command {
        Command::Run(args) => run::run(&settings, args, notifier),
        Command::Plan { from, to, format } => plan::plan(&settings, from, to, format),
        Command::Check { scripts } => plan::check(&settings, &scripts),
        Command::Window { next } => plan::window(&settings, next),
        Command::Monitor {
            format,
            until_normal,
        } => monitor::monitor(&settings, format, until_normal),
        Command::Status { format } => journal::status(&settings, format),
        Command::History { format } => journal::history(&settings, format),
        Command::ApiDoc { format } => plan::api_doc(format),
        Command::Generate(_) => unreachable!("generate is answered before the config is read"),
    }
}
