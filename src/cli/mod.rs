//! The command line: [`args`] defines it; a file per command family runs it.

mod args;
mod exit;
mod generate;
mod journal;
mod logging;
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
pub use exit::ExitStatus;

/// Runs the command line and returns the process's exit code ([`exit::ExitStatus`]).
pub fn main() -> ExitCode {
    // Before any thread exists: take the notify socket out of the environment.
    let notifier = Notifier::from_env();
    let cli = Cli::parse();
    let log = logging::init(cli.verbose, cli.quiet);
    match dispatch(cli, notifier, log) {
        Ok(code) => code,
        Err(e) => {
            report_error(log, &e);
            ExitStatus::of_error(&e).into()
        }
    }
}

/// Says why a command failed, once: in the journal (at PRIORITY err) under systemd, on stderr
/// otherwise.
fn report_error(log: logging::LogTarget, error: &anyhow::Error) {
    match log {
        logging::LogTarget::Journald => tracing::error!("{error:#}"),
        logging::LogTarget::Stderr => eprintln!("error: {error:#}"),
    }
}

fn load(config: &Option<PathBuf>) -> Result<Settings> {
    Ok(match config {
        Some(path) => Settings::load_file(path)?,
        None => Settings::load_layered(Path::new("/"))?,
    })
}

fn dispatch(cli: Cli, notifier: Notifier, log: logging::LogTarget) -> Result<ExitCode> {
    if let Command::Generate(args) = &cli.command {
        // At package build time: no config is read (a build machine has none to trust).
        return generate::generate(args);
    }
    let settings = load(&cli.config)?;
    match cli.command {
        Command::Run(args) => run::run(&settings, args, notifier, log),
        Command::Plan { from, to, format } => plan::plan(&settings, from, to, format),
        Command::Check { scripts, format } => plan::check(&settings, &scripts, format),
        Command::Window { next, format } => plan::window(&settings, next, format),
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
