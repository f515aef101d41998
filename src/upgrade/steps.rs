//! Running the steps of the plan, one by one, journaled, within the window.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Result};
use jiff::Timestamp;

use super::journaling;
use super::stop::StopSignal;
use crate::config::Settings;
use crate::executor::backup;
use crate::executor::live::LiveSettings;
use crate::journal::{JournalFile, RunStatus, StepState};
use crate::notify::Notifier;
use crate::plan::{Plan, Procedures, StepSpec};
use crate::version::Version;
use crate::window::{self, Window};

/// How the steps of one window ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepsOutcome {
    /// Every step is done.
    Completed {
        /// Steps run now.
        ran: usize,
    },
    /// The rest of the plan does not fit in what is left of the window.
    Paused {
        /// The first step not done (1-based).
        next_step: usize,
        /// Steps run now.
        ran: usize,
    },
    /// SIGTERM: stopped at a step boundary.
    Stopped {
        /// The first step not done (1-based).
        next_step: usize,
    },
    /// A step failed (files restored when so configured).
    Failed(String),
}

/// What the steps need.
pub struct StepRunner<'a> {
    /// The compiled procedures, on the live executor.
    pub procedures: &'a Procedures,
    /// The dry-run plan: the estimates of the window guard.
    pub plan: &'a Plan,
    /// The journal.
    pub journal: &'a JournalFile,
    /// Told the step under way (for backups and the test hold).
    pub current_step: &'a AtomicUsize,
    /// The STATUS prefix shared with the executor's progress reports.
    pub label: &'a Mutex<String>,
    /// systemd.
    pub notifier: &'a Arc<Notifier>,
    /// SIGTERM.
    pub stop: &'a StopSignal,
    /// Restore edited files on failure.
    pub restore_on_failure: bool,
}

impl StepRunner<'_> {
    /// Runs every step not done yet, while the window allows.
    pub fn run(&self, window: &Window) -> Result<StepsOutcome> {
        let total = self.procedures.steps().len();
        let mut ran = 0;
        for (index, spec) in self.procedures.steps().iter().enumerate() {
            let number = index + 1;
            if self.journal.read(|j| {
                j.current
                    .as_ref()
                    .is_some_and(|r| r.steps[index].state == StepState::Done)
            }) {
                continue;
            }
            if self.stop.is_raised() {
                journaling::set_status(self.journal, RunStatus::Stopped)?;
                return Ok(StepsOutcome::Stopped { next_step: number });
            }
            let remaining = self.plan.remaining_estimate(index);
            if !window::fits(remaining, window, Timestamp::now()) {
                journaling::set_status(self.journal, RunStatus::Stopped)?;
                tracing::info!(
                    "step {number}/{total}: the rest of the plan (~{} min) does not fit in what is left of the window ({} min)",
                    remaining.as_secs().div_ceil(60),
                    window.remaining(Timestamp::now()).as_secs() / 60
                );
                return Ok(StepsOutcome::Paused {
                    next_step: number,
                    ran,
                });
            }
            let label = step_label(spec, number, total);
            *self.label.lock().unwrap() = label.clone();
            self.current_step.store(number, Ordering::SeqCst);
            journaling::step_started(self.journal, index)?;
            self.notifier.status(&label);
            tracing::info!("{label}");
            let started = Instant::now();
            match self.procedures.run_step(spec) {
                Ok(record) => {
                    for message in &record.messages {
                        tracing::info!("{label}: {}: {}", message.level, message.text);
                    }
                    journaling::step_done(self.journal, index)?;
                    ran += 1;
                    tracing::info!("{label}: done in {:.1} s", started.elapsed().as_secs_f64());
                }
                Err(error) => {
                    let reason = error.to_string();
                    journaling::step_failed(self.journal, index, &reason)?;
                    let restored = if self.restore_on_failure {
                        restore(self.journal)?
                    } else {
                        String::new()
                    };
                    return Ok(StepsOutcome::Failed(format!(
                        "failed at {label}: {reason}{restored}"
                    )));
                }
            }
        }
        Ok(StepsOutcome::Completed { ran })
    }
}

/// "3/17 4.5.0 after_update", the prefix of every STATUS of a step.
fn step_label(spec: &StepSpec, number: usize, total: usize) -> String {
    let version = spec
        .version
        .as_ref()
        .map(|v| format!("{v} "))
        .unwrap_or_default();
    let function = if spec.hook == spec.function.function() {
        String::new()
    } else {
        format!(" {}", spec.function.function())
    };
    format!("{number}/{total} {version}{}{function}", spec.hook)
}

/// Every release with manual steps must be acknowledged (config or --ack).
pub fn check_acknowledged(plan: &Plan, settings: &Settings, acks: &[Version]) -> Result<()> {
    let acknowledged: BTreeSet<&Version> = settings.acknowledged.iter().chain(acks).collect();
    let mut missing: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for step in &plan.manual {
        let label = step
            .version
            .as_ref()
            .map_or("-".to_owned(), Version::to_string);
        let done = step
            .version
            .as_ref()
            .is_some_and(|v| acknowledged.contains(v));
        if !done && seen.insert(label.clone()) {
            let count = plan
                .manual
                .iter()
                .filter(|m| m.version == step.version)
                .count();
            missing.push(format!("{label} ({count} step(s))"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "manual steps are not acknowledged: {}. Read them with `canopsis-upgrade plan --from {} --to {}`, do them, then acknowledge with --ack VERSION or [manual] acknowledged",
            missing.join(", "),
            plan.from,
            plan.to
        );
    }
    Ok(())
}

fn restore(journal: &JournalFile) -> Result<String> {
    let backups = journal.read(|j| {
        j.current
            .as_ref()
            .map(|r| r.backups.clone())
            .unwrap_or_default()
    });
    if backups.is_empty() {
        return Ok(String::new());
    }
    let failures = backup::restore(&backups);
    journaling::after_restore(journal, &backups)?;
    if failures.is_empty() {
        Ok(format!("; {} file(s) restored", backups.len()))
    } else {
        let list: Vec<String> = failures
            .iter()
            .map(|(p, e)| format!("{}: {e}", p.display()))
            .collect();
        Ok(format!("; could not restore {}", list.join(", ")))
    }
}

pub fn live_settings(settings: &Settings) -> LiveSettings {
    LiveSettings {
        install: settings.install,
        compose_dir: settings.compose_dir.clone(),
        engine_env_file: settings.engine_env_file.clone(),
        dropin_dir: settings.dropin_dir.clone(),
        runtime_unit_files: settings.runtime_unit_files,
        canopsis_units: settings.canopsis_units.clone(),
        settle: settings.settle,
        policy: settings.policy(),
    }
}
