//! The run's entries in the journal: beginning, each step's start and end, resume checks,
//! restore, and the move to history.

use anyhow::{bail, Result};
use jiff::Timestamp;

use crate::journal::{
    Backup, HistoryEntry, Journal, JournalFile, Run, RunStatus, StepEntry, StepState,
};
use crate::plan::Plan;

/// Records a new run with every step of the plan pending.
pub fn begin(journal: &JournalFile, plan: &Plan) -> Result<()> {
    let now = Timestamp::now();
    let run = Run {
        id: format!("{}-{}", now.strftime("%Y%m%dT%H%M%SZ"), std::process::id()),
        from: plan.from.clone(),
        to: plan.to.clone(),
        started_at: now,
        status: RunStatus::Running,
        steps: plan
            .steps
            .iter()
            .map(|s| StepEntry {
                version: s.version.clone(),
                hook: s.hook.clone(),
                function: s.function.to_owned(),
                script: s.script.clone(),
                sha256: s.sha256.clone(),
                state: StepState::Pending,
                attempts: 0,
                started_at: None,
                finished_at: None,
                error: None,
            })
            .collect(),
        backups: Vec::new(),
        maintenance_on: false,
        announcement: None,
        baseline: None,
    };
    journal.update(|j| j.current = Some(run))?;
    Ok(())
}

/// An unfinished run may resume only with the same steps, and with unchanged scripts under
/// the steps already done (like a migration tool's checksum validation).
pub fn check_resumable(run: &Run, plan: &Plan, accept_changed: bool) -> Result<()> {
    let shape = |version: &Option<crate::version::Version>, hook: &str, function: &str| {
        format!(
            "{} {hook} {function}",
            version.as_ref().map_or("-".into(), ToString::to_string)
        )
    };
    let journaled: Vec<String> = run
        .steps
        .iter()
        .map(|s| shape(&s.version, &s.hook, &s.function))
        .collect();
    let planned: Vec<String> = plan
        .steps
        .iter()
        .map(|s| shape(&s.version, &s.hook, s.function))
        .collect();
    if journaled != planned {
        bail!(
            "the steps of the unfinished run ({} steps) differ from today's plan ({} steps): scripts were added or removed; restore them, or move the journal away to start over",
            journaled.len(),
            planned.len()
        );
    }
    let changed: Vec<String> = run
        .steps
        .iter()
        .zip(&plan.steps)
        .enumerate()
        .filter(|(_, (done, now))| done.state == StepState::Done && done.sha256 != now.sha256)
        .map(|(i, (done, now))| {
            format!(
                "step {} ({}): {} -> {}",
                i + 1,
                now.script,
                &done.sha256[..12],
                &now.sha256[..12]
            )
        })
        .collect();
    if !changed.is_empty() && !accept_changed {
        bail!(
            "scripts of steps already done have changed since they ran: {}; check the change, then run again with --accept-changed",
            changed.join("; ")
        );
    }
    Ok(())
}

/// The 1-based number of the first step not done.
pub fn first_not_done(journal: &Journal) -> usize {
    journal
        .current
        .as_ref()
        .and_then(|r| r.steps.iter().position(|s| s.state != StepState::Done))
        .map_or(0, |i| i + 1)
}

fn with_run<R>(journal: &JournalFile, f: impl FnOnce(&mut Run) -> R) -> Result<R> {
    Ok(journal.update(|j| f(j.current.as_mut().expect("a run is under way")))?)
}

/// Step `index` starts (again).
pub fn step_started(journal: &JournalFile, index: usize) -> Result<()> {
    with_run(journal, |run| {
        run.status = RunStatus::Running;
        let step = &mut run.steps[index];
        step.state = StepState::Running;
        step.attempts += 1;
        step.started_at = Some(Timestamp::now());
        step.finished_at = None;
        step.error = None;
    })
}

/// Step `index` finished.
pub fn step_done(journal: &JournalFile, index: usize) -> Result<()> {
    with_run(journal, |run| {
        let step = &mut run.steps[index];
        step.state = StepState::Done;
        step.finished_at = Some(Timestamp::now());
    })
}

/// Step `index` failed.
pub fn step_failed(journal: &JournalFile, index: usize, reason: &str) -> Result<()> {
    with_run(journal, |run| {
        run.status = RunStatus::Failed;
        let step = &mut run.steps[index];
        step.state = StepState::Failed;
        step.finished_at = Some(Timestamp::now());
        step.error = Some(reason.to_owned());
    })
}

/// The run stands still (stopped or failed).
pub fn set_status(journal: &JournalFile, status: RunStatus) -> Result<()> {
    with_run(journal, |run| run.status = status)
}

/// The files were put back: the steps that had changed them must run again.
pub fn after_restore(journal: &JournalFile, restored: &[Backup]) -> Result<()> {
    let earliest = restored.iter().map(|b| b.step).min().unwrap_or(usize::MAX);
    with_run(journal, |run| {
        for (i, step) in run.steps.iter_mut().enumerate() {
            if i + 1 >= earliest && step.state == StepState::Done {
                step.state = StepState::Pending;
            }
        }
        run.backups.clear();
    })
}

/// Every step done: the run goes to history.
pub fn finish(journal: &JournalFile) -> Result<()> {
    journal.update(|j| {
        let run = j.current.take().expect("a run is under way");
        j.history.push(HistoryEntry {
            id: run.id,
            from: run.from,
            to: run.to,
            started_at: run.started_at,
            finished_at: Timestamp::now(),
            steps: run.steps,
        });
    })?;
    Ok(())
}

/// Maintenance mode was switched on (or off).
pub fn set_maintenance(journal: &JournalFile, on: bool) -> Result<()> {
    with_run(journal, |run| run.maintenance_on = on)
}

/// The announcement made for this run.
pub fn set_announcement(journal: &JournalFile, id: Option<String>) -> Result<()> {
    with_run(journal, |run| run.announcement = id)
}

/// The broker's baseline, before the engines stop.
pub fn set_baseline(
    journal: &JournalFile,
    baseline: std::collections::BTreeMap<String, crate::journal::QueueFigures>,
) -> Result<()> {
    with_run(journal, |run| run.baseline = Some(baseline))
}
