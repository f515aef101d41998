//! What the monitor shows: one poll as a [`View`], what happens besides as a [`MonitorEvent`],
//! and both in words.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Zoned;

use crate::rabbitmq::{Assumed, BrokerEvent, QueueSample, Verdict};
use crate::support::format::{format_duration, format_rate, plural};

/// One poll, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// When the figures were taken.
    pub at: Zoned,
    /// The vhost.
    pub vhost: String,
    /// Every engine queue: its figures, None when the broker does not have it.
    pub queues: BTreeMap<String, Option<QueueSample>>,
    /// The deepest queue seen so far (the bars' full scale).
    pub peak_depth: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// The smoothed rate of change of the total depth, messages per second.
    pub rate_per_s: Option<f64>,
    /// Consecutive normal samples the verdict needs (for the hold progress while settling).
    pub hold_samples: u32,
    /// What the baseline is, for the terminal's header.
    pub baseline: String,
    /// A remark after the verdict.
    pub note: Option<String>,
    /// While the broker is unreachable: what is going on (the figures are the last ones).
    pub broker: Option<String>,
    /// The terminal's width, in characters.
    pub width: usize,
}

impl View {
    /// Messages in the engine queues, in all.
    pub fn backlog(&self) -> u64 {
        self.queues.values().flatten().map(|q| q.messages).sum()
    }

    /// The rate: the verdict's, else the display's own.
    pub(super) fn rate(&self) -> f64 {
        match &self.verdict {
            Verdict::WaitingForConsumers { rate_per_s, .. }
            | Verdict::Draining { rate_per_s, .. } => *rate_per_s,
            _ => self.rate_per_s.unwrap_or(0.0),
        }
    }
}

/// Something that happened besides a poll.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorEvent {
    /// The baseline taken at start.
    Baseline {
        /// The figures at start.
        queues: BTreeMap<String, QueueSample>,
        /// Queues whose figures were not taken as their baseline.
        assumed: Vec<Assumed>,
    },
    /// The broker went away, came back, or lists new engine queues.
    Broker(BrokerEvent),
    /// The retry budget is spent: the monitor gives up.
    Lost {
        /// The last error.
        error: String,
        /// For how long it was unreachable.
        down: Duration,
    },
}

/// The verdict in words: "draining: 12 345 messages left, -2 100/s, ETA 6 s", "normal",
/// "waiting for consumers: Engine_che (...)", "stuck: ...".
pub fn verdict_text(verdict: &Verdict, hold_samples: u32) -> String {
    match verdict {
        Verdict::Draining { held, .. } if *held > 0 => {
            format!("{verdict} (within tolerance {held}/{hold_samples})")
        }
        Verdict::Draining { .. } | Verdict::Stuck { .. } => verdict.to_string(),
        Verdict::Normal { peak: 0, .. } => "normal".into(),
        Verdict::Normal { drain_time, peak } => format!(
            "normal: drained in {} (peak backlog {})",
            format_duration(*drain_time),
            plural(*peak, "message")
        ),
        Verdict::WaitingForConsumers {
            queues,
            left,
            rate_per_s,
        } => format!(
            "waiting for consumers: {} ({} left, {}/s)",
            queues.join(", "),
            plural(*left, "message"),
            format_rate(*rate_per_s)
        ),
    }
}

/// The status line: the verdict in words, and the note.
pub(super) fn status(view: &View) -> String {
    let mut text = verdict_text(&view.verdict, view.hold_samples);
    if let Some(note) = &view.note {
        let _ = write!(text, "; {note}");
    }
    text
}

fn figures_text(queues: &BTreeMap<String, QueueSample>) -> String {
    queues
        .iter()
        .map(|(name, q)| format!("{name}={}/{}", q.messages, q.consumers))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The assumed queues, with why.
pub(super) fn assumed_text(assumed: &[Assumed]) -> String {
    assumed
        .iter()
        .map(|a| format!("{} ({})", a.queue, a.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The event in words, without the time.
pub fn event_text(event: &MonitorEvent) -> String {
    match event {
        MonitorEvent::Baseline { queues, assumed } => {
            let mut text = format!("baseline: figures at start {}", figures_text(queues));
            if !assumed.is_empty() {
                let _ = write!(
                    text,
                    "; assumed normally empty with a consumer: {}",
                    assumed_text(assumed)
                );
            }
            text
        }
        MonitorEvent::Broker(event) => event.to_string(),
        MonitorEvent::Lost { error, down } => format!(
            "RabbitMQ unreachable for {}, giving up: {error}",
            format_duration(*down)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rabbitmq::StuckQueue;

    #[test]
    fn verdicts_in_words() {
        assert_eq!(
            verdict_text(
                &Verdict::WaitingForConsumers {
                    queues: vec!["Engine_che".into()],
                    left: 1_500,
                    rate_per_s: 300.0
                },
                3
            ),
            "waiting for consumers: Engine_che (1 500 messages left, +300/s)"
        );
        assert_eq!(
            verdict_text(
                &Verdict::Normal {
                    drain_time: Duration::from_secs(125),
                    peak: 49_990
                },
                3
            ),
            "normal: drained in 2 min 5 s (peak backlog 49 990 messages)"
        );
        assert_eq!(
            verdict_text(
                &Verdict::Draining {
                    left: 40,
                    rate_per_s: -3.0,
                    eta: Some(Duration::from_secs(13)),
                    held: 1
                },
                3
            ),
            "draining: 40 messages left, -3.0/s, ETA 13 s (within tolerance 1/3)"
        );
        let stuck = Verdict::Stuck {
            queues: vec![StuckQueue {
                name: "Engine_axe".into(),
                messages: 4_321,
                consumers: 0,
                missing: false,
            }],
        };
        assert_eq!(
            verdict_text(&stuck, 3),
            "stuck: Engine_axe 4 321 messages, 0 consumers"
        );
    }
}
