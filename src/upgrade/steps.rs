//! Running the steps of the plan, one by one, journaled, within the window; and the live steps
//! (the compiled procedures on the live executor).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::journaling;
use super::ports::{StatusReport, StepSource, WallClock};
use super::stop::StopSignal;
use crate::executor::backup;
use crate::journal::{JournalFile, RunStatus, StepState};
use crate::plan::{Plan, Procedures, StepSpec};
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
    /// The steps.
    pub steps: &'a dyn StepSource,
    /// The journal.
    pub journal: &'a JournalFile,
    /// systemd.
    pub status: &'a dyn StatusReport,
    /// The window guard's clock.
    pub clock: &'a dyn WallClock,
    /// SIGTERM.
    pub stop: &'a StopSignal,
    /// Restore edited files on failure.
    pub restore_on_failure: bool,
}

/// Why the steps of a window end before the last one.
enum Boundary {
    Stop,
    Pause,
}

impl StepRunner<'_> {
    /// Runs every step not done yet, while the window allows.
    pub fn run(&self, window: &Window) -> Result<StepsOutcome> {
        let mut ran = 0;
        for index in 0..self.steps.count() {
            if self.is_done(index) {
                continue;
            }
            let next_step = index + 1;
            match self.boundary(index, window) {
                Some(Boundary::Stop) => {
                    journaling::set_status(self.journal, RunStatus::Stopped)?;
                    return Ok(StepsOutcome::Stopped { next_step });
                }
                Some(Boundary::Pause) => {
                    journaling::set_status(self.journal, RunStatus::Stopped)?;
                    return Ok(StepsOutcome::Paused { next_step, ran });
                }
                None => {}
            }
            if let Err(failure) = self.run_one(index)? {
                return Ok(StepsOutcome::Failed(failure));
            }
            ran += 1;
        }
        Ok(StepsOutcome::Completed { ran })
    }

    fn is_done(&self, index: usize) -> bool {
        self.journal.read(|j| {
            j.current
                .as_ref()
                .is_some_and(|r| r.steps[index].state == StepState::Done)
        })
    }

    /// Whether the run must end before step `index`: a stop, or a window too short for the rest.
    fn boundary(&self, index: usize, window: &Window) -> Option<Boundary> {
        if self.stop.is_raised() {
            return Some(Boundary::Stop);
        }
        let remaining = self.steps.remaining_estimate(index);
        let now = self.clock.now();
        if window::fits(remaining, window, now) {
            return None;
        }
        tracing::info!(
            "step {}/{}: the rest of the plan (~{} min) does not fit in what is left of the window ({} min)",
            index + 1,
            self.steps.count(),
            remaining.as_secs().div_ceil(60),
            window.remaining(now).as_secs() / 60
        );
        Some(Boundary::Pause)
    }

    /// Runs step `index`, journaled before and after: Ok(Err(text)) when it failed.
    fn run_one(&self, index: usize) -> Result<Result<(), String>> {
        let label = self.steps.label(index);
        let _step = tracing::info_span!("step", step = index + 1).entered();
        journaling::step_started(self.journal, index)?;
        self.status.status(&label);
        tracing::info!("{label}");
        let started = Instant::now();
        match self.steps.run(index, &label) {
            Ok(messages) => {
                for message in &messages {
                    tracing::info!("{label}: {message}");
                }
                journaling::step_done(self.journal, index)?;
                tracing::info!("{label}: done in {:.1} s", started.elapsed().as_secs_f64());
                Ok(Ok(()))
            }
            Err(reason) => {
                journaling::step_failed(self.journal, index, &reason)?;
                let restored = if self.restore_on_failure {
                    restore(self.journal)?
                } else {
                    String::new()
                };
                Ok(Err(format!("failed at {label}: {reason}{restored}")))
            }
        }
    }
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

/// The compiled procedures on the live executor, with what the executor reads of the step
/// under way (the backups' step number, the STATUS prefix of its progress reports).
pub struct LiveSteps<'a> {
    /// The compiled procedures.
    pub procedures: &'a Procedures,
    /// The dry-run plan: the estimates of the window guard.
    pub plan: &'a Plan,
    /// The 1-based number of the step under way, shared with the executor.
    pub current_step: &'a AtomicUsize,
    /// The STATUS prefix shared with the executor's progress reports.
    pub label: &'a Mutex<String>,
}

impl StepSource for LiveSteps<'_> {
    fn count(&self) -> usize {
        self.procedures.steps().len()
    }

    fn label(&self, index: usize) -> String {
        step_label(&self.procedures.steps()[index], index + 1, self.count())
    }

    fn remaining_estimate(&self, index: usize) -> Duration {
        self.plan.remaining_estimate(index)
    }

    fn run(&self, index: usize, label: &str) -> Result<Vec<String>, String> {
        let spec = &self.procedures.steps()[index];
        let version = spec.version.as_ref().map_or("", |v| v.as_str());
        let _procedure = tracing::info_span!(
            "procedure",
            version,
            hook = %spec.hook,
            function = spec.function.function()
        )
        .entered();
        *self.label.lock().unwrap() = label.to_owned();
        self.current_step.store(index + 1, Ordering::SeqCst);
        let record = self
            .procedures
            .run_step(&self.procedures.steps()[index])
            .map_err(|e| e.to_string())?;
        Ok(record
            .messages
            .iter()
            .map(|m| format!("{}: {}", m.level, m.text))
            .collect())
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
