//! `status` and `history`: the journal, for people and for scripts.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use crate::config::Settings;
use crate::journal::{Journal, StepEntry, StepState};

fn journal(settings: &Settings) -> Result<Journal> {
    Ok(Journal::load(&settings.state_dir.join("journal.json"))?)
}

/// `status`: the upgrade under way (or the last one).
pub fn status(settings: &Settings, format: Format) -> Result<ExitCode> {
    let journal = journal(settings)?;
    match format {
        Format::Text => print!("{}", status_text(&journal)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&status_json(&journal))?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `history`: the upgrades done.
pub fn history(settings: &Settings, format: Format) -> Result<ExitCode> {
    let journal = journal(settings)?;
    match format {
        Format::Text => print!("{}", history_text(&journal)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&journal.history)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// The run under way, or the last one finished, for a person.
pub fn status_text(journal: &Journal) -> String {
    let mut out = String::new();
    match &journal.current {
        Some(run) => {
            let done = run
                .steps
                .iter()
                .filter(|s| s.state == StepState::Done)
                .count();
            let _ = writeln!(
                out,
                "Upgrade {} -> {} ({:?}), started {}: {done}/{} steps done",
                run.from,
                run.to,
                run.status,
                run.started_at,
                run.steps.len()
            );
            for (i, step) in run.steps.iter().enumerate() {
                let version = version_prefix(step);
                let _ = write!(
                    out,
                    "  {:>3}. {:<8} {version}{} ({})",
                    i + 1,
                    format!("{:?}", step.state).to_lowercase(),
                    step.hook,
                    step.function
                );
                if step.attempts > 1 {
                    let _ = write!(out, ", {} attempts", step.attempts);
                }
                if let Some(error) = &step.error {
                    let _ = write!(out, ": {error}");
                }
                out.push('\n');
            }
            if !run.backups.is_empty() {
                let _ = writeln!(out, "  {} file(s) backed up in this run", run.backups.len());
            }
        }
        None => match journal.history.last() {
            Some(last) => {
                let _ = writeln!(
                    out,
                    "No upgrade under way. Last: {} -> {}, finished {}",
                    last.from, last.to, last.finished_at
                );
            }
            None => out.push_str("No upgrade under way, none done yet.\n"),
        },
    }
    out
}

/// The same for scripts: `{current, last}`.
pub fn status_json(journal: &Journal) -> serde_json::Value {
    serde_json::json!({
        "current": journal.current,
        "last": journal.history.last(),
    })
}

/// Every finished upgrade, for a person.
pub fn history_text(journal: &Journal) -> String {
    if journal.history.is_empty() {
        return "No upgrade done yet.\n".into();
    }
    let mut out = String::new();
    for entry in &journal.history {
        let _ = writeln!(
            out,
            "{}  {} -> {}  ({} steps)",
            entry.finished_at,
            entry.from,
            entry.to,
            entry.steps.len()
        );
        for step in &entry.steps {
            let version = version_prefix(step);
            let _ = writeln!(
                out,
                "    {version}{} ({})  {}  sha256:{}",
                step.hook,
                step.function,
                step.script,
                &step.sha256[..12]
            );
        }
    }
    out
}

/// "4.5.0 " before a release's step; nothing before the standard procedure's or an add-on's.
fn version_prefix(step: &StepEntry) -> String {
    step.version
        .as_ref()
        .map_or(String::new(), |v| format!("{v} "))
}
