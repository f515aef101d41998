//! `canopsis-upgrade monitor`: the live view of the Canopsis queues, for a person watching an
//! upgrade (or doing one by hand in another terminal). The CLI view only: the connection, the
//! baseline, the verdicts and the polling are [`crate::rabbitmq`]'s.
//!
//! It takes a baseline when it starts, then polls the live figures of the engine queues with
//! the [`Poller`] on the adaptive [`PollPlan`] or at a fixed interval, judges them with a
//! [`DrainJudge`] and writes, per poll, either a progress display redrawn in place (a
//! terminal), a plain line (a log) or a JSON object (a program). A broker that goes away is
//! reported and retried within the target's retry budget; every await is under a timeout.
//!
//! The rendering is pure: [`render_terminal`], [`render_plain`], [`render_json`] and the
//! event renderers take a [`View`] (or a [`MonitorEvent`]) and return text.

mod output;
mod render;
mod view;

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use jiff::Zoned;
use tokio::time::Instant;

use crate::config::Settings;
use crate::rabbitmq::poller::discover;
use crate::rabbitmq::{
    connection, initial_baseline, DrainCriteria, DrainJudge, Figures, Management, PollEnd,
    PollPlan, Poller, RateSmoother, StuckQueue, Verdict, VerdictKind, WatchError, WatchTarget,
    Watcher,
};
use crate::support::url::redact_url;
use output::Output;
pub use render::{
    redraw, render_event_json, render_event_plain, render_json, render_plain, render_terminal,
};
pub use view::{event_text, verdict_text, MonitorEvent, View};

/// How often the management API is asked again for the engine queues (new ones may appear
/// during an upgrade).
const DISCOVERY_EVERY: Duration = Duration::from_secs(30);
/// The shortest fixed interval accepted.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// While the queues are as at start with --until-normal: why it does not end there.
const AS_AT_START: &str =
    "as at start: waiting for the engines to stop, and for the drain after their return";

/// How the live view is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorFormat {
    /// A block redrawn in place (ANSI), for a terminal.
    Terminal,
    /// One line per poll and per event, for a log or a pipe.
    Plain,
    /// One JSON object per poll and per event, a line each.
    Json,
}

/// What to watch for, and how often.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorOptions {
    /// End at the return to normal (or when stuck) instead of running until stopped. With a
    /// baseline taken from healthy figures, the return to normal only counts after the queues
    /// have left it (the engines stopped): start it before stopping the engines.
    pub until_normal: bool,
    /// Take the figures at start as the baseline as they are. Without it, a queue that has no
    /// consumer at start, or more than `rabbitmq.abnormal_backlog` messages, is assumed to be
    /// normally empty with a consumer (the engines are already down: the figures at start are
    /// the outage, not the baseline).
    pub baseline_now: bool,
    /// Poll at this fixed interval instead of the adaptive plan (at least 100 ms).
    pub interval: Option<Duration>,
}

/// How the monitor ended (a broker lost for good, or an unusable configuration, is an error).
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorEnd {
    /// The stop future completed (Ctrl-C).
    Stopped,
    /// `until_normal`: every engine queue is back to its baseline.
    Normal {
        /// From the engines' return to the verdict.
        drain_time: Duration,
        /// The largest backlog seen (messages above the baseline, summed).
        peak: u64,
    },
    /// `until_normal`: queues did not return to normal within `rabbitmq.drain_timeout`.
    Stuck {
        /// Those queues, with their figures.
        queues: Vec<StuckQueue>,
    },
}

impl MonitorEnd {
    /// The process exit code: 1 when stuck, else 0.
    pub fn exit_code(&self) -> u8 {
        match self {
            MonitorEnd::Stuck { .. } => 1,
            _ => 0,
        }
    }
}

/// What the monitor keeps from one poll to the next, to show each one.
struct Shown {
    judge: DrainJudge,
    /// The display's own rate, for the verdicts that carry none.
    rate: RateSmoother,
    plan: PollPlan,
    peak_depth: u64,
    baseline_text: String,
    vhost: String,
    last_view: Option<View>,
}

impl Shown {
    /// The baseline from the figures at start, told.
    fn start<W: Write>(
        figures: &Figures,
        criteria: &DrainCriteria,
        options: &MonitorOptions,
        vhost: &str,
        out: &mut Output<'_, W>,
    ) -> Result<Self> {
        let (baseline, assumed) =
            initial_baseline(figures, options.baseline_now, criteria.abnormal_backlog);
        let mut baseline_text = format!("baseline at {}", Zoned::now().strftime("%H:%M:%S"));
        if !assumed.is_empty() {
            let assumed = view::assumed_text(&assumed);
            let _ = write!(baseline_text, "; assumed empty with a consumer: {assumed}");
        }
        let departed = !assumed.is_empty();
        let queues = figures.clone();
        out.event(&MonitorEvent::Baseline { queues, assumed }, None)?;
        Ok(Self {
            // A baseline that is the figures now is trivially met: --until-normal then waits
            // for the queues to leave it first (the engines stopping), not to end at once.
            judge: DrainJudge::new(baseline, *criteria, departed),
            rate: RateSmoother::new(criteria.rate_window),
            plan: PollPlan::default(),
            peak_depth: 0,
            baseline_text,
            vhost: vhost.to_owned(),
            last_view: None,
        })
    }

    /// Judges and shows the figures of a poll taken at `at` (from the start).
    fn poll<W: Write>(
        &mut self,
        at: Duration,
        figures: Figures,
        queues: &[String],
        until_normal: bool,
        out: &mut Output<'_, W>,
    ) -> Result<Verdict> {
        self.rate
            .observe(at, figures.values().map(|q| q.messages).sum());
        let deepest = figures.values().map(|q| q.messages).max().unwrap_or(0);
        self.peak_depth = self.peak_depth.max(deepest);
        let shown = queues
            .iter()
            .map(|name| (name.clone(), figures.get(name).copied()))
            .collect();
        let verdict = self.judge.observe(crate::rabbitmq::Sample {
            at,
            queues: figures,
        });
        let as_at_start =
            until_normal && !self.judge.departed() && verdict.kind() == VerdictKind::Normal;
        let view = View {
            at: Zoned::now(),
            vhost: self.vhost.clone(),
            queues: shown,
            peak_depth: self.peak_depth,
            verdict: verdict.clone(),
            rate_per_s: self.rate.rate_per_s(),
            hold_samples: self.judge.hold_samples(),
            baseline: self.baseline_text.clone(),
            note: as_at_start.then(|| AS_AT_START.to_owned()),
            broker: None,
            width: out.width(),
        };
        out.view(&view)?;
        self.last_view = Some(view);
        Ok(verdict)
    }

    /// With --until-normal: the end this verdict means, if any.
    fn end(&self, verdict: &Verdict) -> Option<MonitorEnd> {
        match verdict {
            Verdict::Normal { drain_time, peak } if self.judge.departed() => {
                Some(MonitorEnd::Normal {
                    drain_time: *drain_time,
                    peak: *peak,
                })
            }
            Verdict::Stuck { queues } => Some(MonitorEnd::Stuck {
                queues: queues.clone(),
            }),
            _ => None,
        }
    }

    /// How long until the next poll.
    fn interval(&mut self, options: &MonitorOptions, verdict: &Verdict) -> Duration {
        match options.interval {
            Some(fixed) => fixed.max(MIN_INTERVAL),
            None => self.plan.next_interval(verdict),
        }
    }
}

async fn watch<W: Write>(
    watcher: &Watcher,
    criteria: &DrainCriteria,
    options: &MonitorOptions,
    out: &mut Output<'_, W>,
) -> Result<MonitorEnd> {
    let start = Instant::now();
    let queues = discover(watcher).await?;
    let mut poller = Poller::new(watcher, queues).rediscovering_every(DISCOVERY_EVERY);
    let mut figures = poller.poll_once().await?;
    let vhost = &watcher.target().vhost;
    let mut shown = Shown::start(&figures, criteria, options, vhost, out)?;
    let mut round = start;
    loop {
        let until_normal = options.until_normal;
        let verdict = shown.poll(round - start, figures, poller.queues(), until_normal, out)?;
        if let Some(end) = until_normal.then(|| shown.end(&verdict)).flatten() {
            poller.close().await;
            return Ok(end);
        }
        let next = round + shown.interval(options, &verdict);
        let last = shown.last_view.as_ref();
        let mut tell = |event| out.event(&MonitorEvent::Broker(event), last);
        (round, figures) = match poller.next_sample(next, &mut tell).await {
            Ok(sample) => sample,
            Err(end) => return Err(given_up(end, out, last)),
        };
    }
}

/// The error of a monitor that the poller ended (the loss of the broker is told first).
fn given_up<W: Write>(
    end: PollEnd<anyhow::Error>,
    out: &mut Output<'_, W>,
    last: Option<&View>,
) -> anyhow::Error {
    match end {
        PollEnd::BrokerLost {
            down,
            budget,
            last: error,
        } => {
            let lost = MonitorEvent::Lost {
                error: error.clone(),
                down,
            };
            match out.event(&lost, last) {
                Ok(()) => WatchError::BrokerLost {
                    down,
                    budget,
                    last: error,
                }
                .into(),
                Err(e) => e,
            }
        }
        PollEnd::DeadlinePassed { .. } => anyhow!("the monitor has no deadline"),
        PollEnd::Observer(e) => e,
    }
}

/// [`monitor`] with an explicit client, target and criteria (the daemon's, or a test's).
pub async fn monitor_target(
    management: Management,
    target: WatchTarget,
    criteria: DrainCriteria,
    format: MonitorFormat,
    options: MonitorOptions,
    out: &mut impl Write,
    stop: impl Future,
) -> Result<MonitorEnd> {
    let watcher = Watcher::new(management, target);
    let mut output = Output::new(out, format);
    let stop = stop;
    tokio::pin!(stop);
    tokio::select! {
        end = watch(&watcher, &criteria, &options, &mut output) => end,
        _ = &mut stop => Ok(MonitorEnd::Stopped),
    }
}

/// Shows the live view of the engine queues of the configuration on `out` until `stop`
/// completes (Ctrl-C) or, with `until_normal`, until the verdict is normal or stuck. Fails
/// when the configuration is unusable, the broker cannot be reached at start, or it stays
/// unreachable for the whole retry budget (2 minutes) later; the error names the AMQP URL
/// (password hidden) and where it was configured.
pub async fn monitor(
    settings: &Settings,
    format: MonitorFormat,
    options: MonitorOptions,
    out: &mut impl Write,
    stop: impl Future,
) -> Result<MonitorEnd> {
    let resolved = connection::resolve(settings)?;
    let context = format!(
        "watching RabbitMQ vhost {:?} (AMQP URL {} from {}, management API {} as {:?})",
        resolved.target.vhost,
        redact_url(&resolved.target.amqp_url),
        resolved.amqp_origin,
        resolved.management.base_url(),
        resolved.management.user()
    );
    monitor_target(
        resolved.management,
        resolved.target,
        DrainCriteria::from_config(&settings.rabbitmq),
        format,
        options,
        out,
        stop,
    )
    .await
    .context(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_gives_the_exit_code() {
        assert_eq!(MonitorEnd::Stopped.exit_code(), 0);
        assert_eq!(
            MonitorEnd::Normal {
                drain_time: Duration::ZERO,
                peak: 0
            }
            .exit_code(),
            0
        );
        assert_eq!(MonitorEnd::Stuck { queues: vec![] }.exit_code(), 1);
    }
}
