//! `generate` (hidden): the man pages and shell completions, made from the clap definitions at
//! package build time, so that they never drift from the real command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, CommandFactory as _, Subcommand};
use clap_complete::Shell;
use clap_mangen::Man;

use super::args::Cli;

/// The program's name, as installed (`/usr/bin/canopsis-upgrade`).
const BIN_NAME: &str = "canopsis-upgrade";

/// The section of the man pages: a command for the system administrator.
const MAN_SECTION: &str = "8";

/// What the main page says beyond the options: where it reads and writes, and where to look next.
const MAIN_PAGE_EXTRA: &str = r#".SH FILES
.TP
\fI/etc/canopsis\-upgrade/config.toml\fR, \fI/etc/canopsis\-upgrade/config.d/*.toml\fR
The configuration, layered over \fI/usr/lib/canopsis\-upgrade\fR and under \fI/run/canopsis\-upgrade\fR (same names); later values win, key by key.
.TP
\fI/etc/canopsis\-upgrade/releases.d/\fR, \fI/etc/canopsis\-upgrade/addons.d/\fR
Site release procedures (\fIVERSION\fR.rhai, replacing the bundled one) and add\-on scripts.
.TP
\fI/var/lib/canopsis\-upgrade/\fR
The journal of the runs and the backups of the files they edited.
.SH SYSTEMD
\fBsystemctl start canopsis\-upgrade@\fIVERSION\fR validates everything, then upgrades inside the next maintenance window, reporting each step in \fBsystemctl status\fR.
\fBcanopsis\-upgrade.timer\fR starts the nightly unattended run (\fBrun \-\-nightly\fR).
.SH "SEE ALSO"
\fBsystemctl\fR(1), \fBjournalctl\fR(1), \fBsystemd.unit\fR(5)
"#;

/// The options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[command(subcommand)]
    what: Generated,
}

/// What `generate` writes.
#[derive(Debug, Subcommand)]
enum Generated {
    /// The man pages: canopsis-upgrade.8 and canopsis-upgrade-COMMAND.8 for each command.
    Man {
        /// The directory to write them in (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The completion script of a shell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
        /// The directory to write it in (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Writes what `args` asks for, printing each file's path.
pub(crate) fn generate(args: &GenerateArgs) -> Result<ExitCode> {
    let out = match &args.what {
        Generated::Man { out } | Generated::Completions { out, .. } => out,
    };
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let written = match &args.what {
        Generated::Man { out } => man_pages(out)?,
        Generated::Completions { shell, out } => vec![completions(*shell, out)?],
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line as installed: named after the binary, without the hidden commands.
fn command() -> clap::Command {
    let mut command = Cli::command()
        .name(BIN_NAME)
        .bin_name(BIN_NAME)
        .disable_help_subcommand(true);
    command.build();
    command
}

/// The main page, then one page per visible command; their paths.
fn man_pages(out: &Path) -> Result<Vec<PathBuf>> {
    let main = command();
    let mut written = vec![write_man_page(&main, out, MAIN_PAGE_EXTRA)?];
    for sub in main.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(write_man_page(sub, out, "")?);
    }
    Ok(written)
}

/// Renders one command's page, `extra` roff text appended; its path.
fn write_man_page(command: &clap::Command, out: &Path, extra: &str) -> Result<PathBuf> {
    let man = Man::new(command.clone()).section(MAN_SECTION);
    let path = out.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)?;
    page.write_all(extra.as_bytes())?;
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Writes the completion script of `shell` (named as that shell looks it up); its path.
fn completions(shell: Shell, out: &Path) -> Result<PathBuf> {
    let mut command = without_hidden_commands(Cli::command());
    clap_complete::generate_to(shell, &mut command, BIN_NAME, out)
        .with_context(|| format!("writing the {shell} completions in {}", out.display()))
}

/// The same command line (`full`, not yet built) less its hidden commands, which the completion generators would offer
/// (clap cannot remove a subcommand: the visible ones are copied into a new command).
fn without_hidden_commands(full: clap::Command) -> clap::Command {
    let visible: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut command = clap::Command::new(BIN_NAME)
        .bin_name(BIN_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true)
        .subcommand_required(true)
        .args(full.get_arguments().cloned())
        .subcommands(visible);
    if let Some(about) = full.get_about() {
        command = command.about(about.clone());
    }
    command
}
