//! The command line's definition (clap): commands, options and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::version::Version;

/// Upgrades Canopsis inside maintenance windows, safely.
#[derive(Debug, Parser)]
#[command(version, about, after_help = super::exit::EXIT_STATUS_HELP)]
pub struct Cli {
    /// Read only this config file instead of the layered /usr/lib, /etc, /run configuration.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More detail in the log (-v: debug, -vv: trace); CANOPSIS_UPGRADE_LOG, when set, wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upgrade (or resume the unfinished upgrade) to a version; reports to systemd.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Print the exact ordered actions of an upgrade, touching nothing.
    #[command(after_help = PLAN_EXAMPLES)]
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
    #[command(after_help = CHECK_EXAMPLES)]
    Check {
        /// Script files to check instead of the configured set.
        scripts: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The next maintenance windows, in local time and UTC.
    Window {
        /// How many.
        #[arg(long, default_value_t = 5)]
        next: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// Write the man pages or shell completions (for packaging).
    #[command(hide = true)]
    Generate(super::generate::GenerateArgs),
}

const RUN_EXAMPLES: &str = "\
Examples:
  systemctl start canopsis-upgrade@4.5.0        the usual way: under systemd, in the window
  canopsis-upgrade run --to 4.5.0 --ack 4.5.0   by hand, manual steps of 4.5.0 done
  canopsis-upgrade run --to 4.5.0 --now         without waiting for the window
  canopsis-upgrade run --nightly                newest patch the [nightly] policy allows";

const PLAN_EXAMPLES: &str = "\
Examples:
  canopsis-upgrade plan --to 4.5.0                      installed version detected
  canopsis-upgrade plan --from 3.38.0 --to 3.40.0       any pair, no Canopsis needed
  canopsis-upgrade plan --to 24.04.3 --format json      for a program (schema, runnable)

Exits 4 when the scripts refuse the upgrade (the refusal comes first in the plan).";

const CHECK_EXAMPLES: &str = "\
Examples:
  canopsis-upgrade check                                 every script of the configured set
  canopsis-upgrade check /etc/canopsis-upgrade/addons.d/ldap.rhai --format json";

/// Text for a person, or JSON.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// For a person.
    Text,
    /// For a program.
    Json,
}

/// How `monitor` shows the queues.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MonitorFormatArg {
    /// A display redrawn in place.
    Terminal,
    /// A line per poll.
    Plain,
    /// A JSON object per poll.
    Json,
}

/// The format of `api-doc`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DocFormat {
    /// Markdown.
    Markdown,
    /// JSON.
    Json,
}

/// The options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The target version.
    #[arg(long, required_unless_present = "nightly", conflicts_with = "nightly")]
    pub to: Option<Version>,
    /// Upgrade to the newest release the [nightly] policy allows (nothing newer: success).
    #[arg(long)]
    pub nightly: bool,
    /// The installed version (detected when omitted; a resumed run knows it).
    #[arg(long)]
    pub from: Option<Version>,
    /// Acknowledge the manual steps of this release (repeatable).
    #[arg(long = "ack", value_name = "VERSION")]
    pub acks: Vec<Version>,
    /// Resume even though scripts of steps already done have changed.
    #[arg(long)]
    pub accept_changed: bool,
    /// Start at once instead of waiting for the next maintenance window.
    #[arg(long)]
    pub now: bool,
}
