//! The command line: `run`, `plan`, `check`, `status`, `history`, `api-doc`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::notify::Notifier;
use crate::plan;
use crate::upgrade::stop::StopSignal;
use crate::upgrade::{self, inputs, RunOptions, RunOutcome, Target};
use crate::version::Version;
use crate::{apidoc, check, report};

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
    /// Upgrade (or resume the unfinished upgrade) to a version; reports to systemd.
    Run {
        /// The target version.
        #[arg(long, required_unless_present = "nightly", conflicts_with = "nightly")]
        to: Option<Version>,
        /// Upgrade to the newest release the [nightly] policy allows (nothing newer: success).
        #[arg(long)]
        nightly: bool,
        /// The installed version (detected when omitted; a resumed run knows it).
        #[arg(long)]
        from: Option<Version>,
        /// Acknowledge the manual steps of this release (repeatable).
        #[arg(long = "ack", value_name = "VERSION")]
        acks: Vec<Version>,
        /// Resume even though scripts of steps already done have changed.
        #[arg(long)]
        accept_changed: bool,
        /// Start at once instead of waiting for the next maintenance window.
        #[arg(long)]
        now: bool,
    },
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
    /// The next maintenance windows, in local time and UTC.
    Window {
        /// How many.
        #[arg(long, default_value_t = 5)]
        next: usize,
    },
    /// The RabbitMQ queues of Canopsis, live: backlog, consumers, drain (Ctrl-C to quit).
    Monitor {
        /// Output format (default: a progress display on a terminal, plain lines otherwise).
        #[arg(long, value_enum)]
        format: Option<MonitorFormatArg>,
        /// End when the queues are back to normal (exit 0), or stuck (exit 1).
        #[arg(long)]
        until_normal: bool,
    },
    /// The upgrade under way (or the last one), from the journal.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The upgrades done, from the journal.
    History {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
enum MonitorFormatArg {
    Terminal,
    Plain,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DocFormat {
    Markdown,
    Json,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    // Before any thread exists: take the notify socket out of the environment.
    let notifier = Notifier::from_env();
    let cli = Cli::parse();
    init_logging();
    match run(cli, notifier) {
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

fn run(cli: Cli, notifier: Notifier) -> Result<ExitCode> {
    let settings = load(&cli.config)?;
    match cli.command {
        Command::Run {
            to,
            nightly,
            from,
            acks,
            accept_changed,
            now,
        } => {
            let target = match (to, nightly) {
                (Some(to), _) => Target::Version(to),
                (None, _) => Target::Nightly,
            };
            let options = RunOptions {
                target,
                from,
                acks,
                accept_changed,
                now,
                #[cfg(feature = "fault-injection")]
                hold: crate::executor::fault::Hold::from_env(),
            };
            live_run(&settings, &options, notifier)
        }
        Command::Plan { from, to, format } => {
            let plan = plan_upgrade(&settings, from, to)?;
            match format {
                Format::Text => print!("{}", plan.to_text()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { scripts } => {
            let catalog = inputs::catalog(&settings)?;
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
        Command::Window { next } => {
            print!(
                "{}",
                crate::window::render_upcoming(&settings.window, jiff::Timestamp::now(), next)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Monitor {
            format,
            until_normal,
        } => monitor(&settings, format, until_normal),
        Command::Status { format } => {
            let journal = crate::journal::Journal::load(&settings.state_dir.join("journal.json"))?;
            match format {
                Format::Text => print!("{}", report::status_text(&journal)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::status_json(&journal))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::History { format } => {
            let journal = crate::journal::Journal::load(&settings.state_dir.join("journal.json"))?;
            match format {
                Format::Text => print!("{}", report::history_text(&journal)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&journal.history)?),
            }
            Ok(ExitCode::SUCCESS)
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

/// `run`: the runtime for D-Bus, SIGTERM handling and the watchdog around the orchestrator.
fn live_run(settings: &Settings, options: &RunOptions, notifier: Notifier) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let notifier = Arc::new(notifier);
    let stop = Arc::new(StopSignal::default());
    {
        let (stop, notifier) = (stop.clone(), notifier.clone());
        runtime.spawn(async move {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            term.recv().await;
            stop.raise();
            // Finish the step under way: ask systemd for the time it may take.
            notifier.stopping("stopping: finishing the current step, then stopping at its end");
            notifier.extend_timeout(std::time::Duration::from_secs(30 * 60));
        });
    }
    if let Some(interval) = notifier.watchdog_interval() {
        let notifier = notifier.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tick.tick().await;
                notifier.watchdog();
            }
        });
    }
    let outcome = upgrade::run(settings, options, &notifier, &stop, runtime.handle())?;
    match outcome {
        RunOutcome::Completed { from, to, ran } => {
            println!("upgraded from {from} to {to} ({ran} step(s) run)");
        }
        RunOutcome::NothingToDo { installed } => {
            println!("nothing to do: {installed} is the newest release the policy allows");
        }
        RunOutcome::Stopped { next_step } => {
            println!("stopped before step {next_step}; run again to resume");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `monitor`: the live view of the queues until Ctrl-C (or the end of the drain).
fn monitor(
    settings: &Settings,
    format: Option<MonitorFormatArg>,
    until_normal: bool,
) -> Result<ExitCode> {
    use crate::monitor::{MonitorEnd, MonitorFormat, MonitorOptions};
    use std::io::IsTerminal;
    let format = match format {
        Some(MonitorFormatArg::Terminal) => MonitorFormat::Terminal,
        Some(MonitorFormatArg::Plain) => MonitorFormat::Plain,
        Some(MonitorFormatArg::Json) => MonitorFormat::Json,
        None if std::io::stdout().is_terminal() => MonitorFormat::Terminal,
        None => MonitorFormat::Plain,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let options = MonitorOptions {
        until_normal,
        ..Default::default()
    };
    let end = runtime.block_on(async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::monitor::monitor(settings, format, options, &mut std::io::stdout(), ctrl_c).await
    })?;
    Ok(match end {
        MonitorEnd::Stuck { .. } => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

/// The dry-run plan of an upgrade; `from` is detected when not given.
pub fn plan_upgrade(settings: &Settings, from: Option<Version>, to: Version) -> Result<plan::Plan> {
    let from = inputs::installed_version(settings, from)?;
    let catalog = inputs::catalog(settings)?;
    let scripts = inputs::scripts(settings)?;
    inputs::dry_run_plan(settings, &catalog, &scripts, from, to)
}
