//! `run`: the upgrade, under systemd.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use tracing::field::Empty;

use super::logging::LogTarget;
use super::{ExitStatus, RunArgs};
use crate::config::Settings;
use crate::systemd::Notifier;
use crate::upgrade::stop::StopSignal;
use crate::upgrade::{self, RunOptions, RunOutcome, Target};

/// `run --to VERSION` (or `--nightly`: clap allows exactly one of them).
pub fn run(
    settings: &Settings,
    args: RunArgs,
    notifier: Notifier,
    log: LogTarget,
) -> Result<ExitCode> {
    let target = match args.to {
        Some(to) => Target::Version(to),
        None => Target::Nightly,
    };
    let options = RunOptions {
        target,
        from: args.from,
        acks: args.acks,
        accept_changed: args.accept_changed,
        now: args.now,
        #[cfg(feature = "fault-injection")]
        hold: crate::executor::fault::Hold::from_env(),
    };
    live_run(settings, &options, notifier, log)
}

/// `run`: the runtime for D-Bus, SIGTERM handling and the watchdog around the orchestrator.
fn live_run(
    settings: &Settings,
    options: &RunOptions,
    notifier: Notifier,
    log: LogTarget,
) -> Result<ExitCode> {
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
            // Told before the stop is raised: the run's own last STATUS ("stopped before step
            // 3/17") must come after this one, never be overwritten by it.
            notifier.stopping("stopping: finishing the current step, then stopping at its end");
            // Finish the step under way: ask systemd for the time it may take.
            notifier.extend_timeout(std::time::Duration::from_secs(30 * 60));
            stop.raise();
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
    // Every log line of the run carries its fields (journald: UPGRADE_RUN_ID, UPGRADE_FROM,
    // UPGRADE_TO), recorded by the run once known; its failure too.
    let span = tracing::info_span!("run", run_id = Empty, from = Empty, to = Empty);
    let outcome =
        span.in_scope(|| upgrade::run(settings, options, &notifier, &stop, runtime.handle()));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            span.in_scope(|| super::report_error(log, &e));
            return Ok(ExitStatus::of_error(&e).into());
        }
    };
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
