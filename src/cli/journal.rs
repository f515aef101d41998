//! `status` and `history`: the journal, read.

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use crate::config::Settings;
use crate::journal::Journal;
use crate::report;

fn journal(settings: &Settings) -> Result<Journal> {
    Ok(Journal::load(&settings.state_dir.join("journal.json"))?)
}

/// `status`: the upgrade under way (or the last one).
pub fn status(settings: &Settings, format: Format) -> Result<ExitCode> {
    let journal = journal(settings)?;
    match format {
        Format::Text => print!("{}", report::status_text(&journal)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::status_json(&journal))?
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `history`: the upgrades done.
pub fn history(settings: &Settings, format: Format) -> Result<ExitCode> {
    let journal = journal(settings)?;
    match format {
        Format::Text => print!("{}", report::history_text(&journal)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&journal.history)?),
    }
    Ok(ExitCode::SUCCESS)
}
