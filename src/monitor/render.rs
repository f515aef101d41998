//! The monitor's output, pure: a [`View`] or a [`MonitorEvent`] in, text out, as a terminal
//! block redrawn in place, a plain line, or a JSON object.

use std::fmt::Write as _;

use jiff::Zoned;
use serde_json::{json, Map, Value};

use super::view::{event_text, status, MonitorEvent, View};
use crate::rabbitmq::{BrokerEvent, Verdict, VerdictKind};
use crate::support::format::{group, plural};

/// The widest bar, in characters.
const BAR_WIDTH: usize = 30;

/// A time for plain lines and JSON: RFC 3339, milliseconds, the local offset.
fn stamp(at: &Zoned) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// `line` cut to `width` characters (an ellipsis marks the cut).
fn fit(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A bar `width` characters wide, filled in eighths to `value / full`.
fn bar(value: u64, full: u64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = if full == 0 {
        0
    } else {
        ((value.min(full) as f64 / full as f64) * (width * 8) as f64).round() as usize
    };
    let mut out = "█".repeat(eighths / 8);
    if eighths / 8 < width {
        out.push(PARTS[eighths % 8]);
    }
    while out.chars().count() < width {
        out.push(' ');
    }
    out
}

/// The terminal block: a header, the baseline, a line per engine queue (depth, consumers, a
/// bar relative to the deepest queue seen), the status. Every line is cut to the width and
/// ends by clearing the rest of the terminal line; see [`redraw`] to draw it over the last one.
pub fn render_terminal(view: &View) -> String {
    let width = view.width.max(20);
    let mut lines = vec![
        format!(
            "RabbitMQ vhost {} at {}: backlog {}",
            view.vhost,
            view.at.strftime("%H:%M:%S"),
            plural(view.backlog(), "message")
        ),
        view.baseline.clone(),
    ];
    let name_width = view
        .queues
        .keys()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    let depth_width = view
        .queues
        .values()
        .map(|q| q.map_or("missing".len(), |q| group(q.messages).len()))
        .max()
        .unwrap_or(1);
    // "  name  depth  nnn consumers  |bar|"
    let fixed = 2 + name_width + 2 + depth_width + 2 + 13 + 2 + 2;
    let bar_width = width.saturating_sub(fixed + 1).min(BAR_WIDTH);
    for (name, figures) in &view.queues {
        let line = match figures {
            Some(q) => {
                let consumers = format!(
                    "{:>3} consumer{}",
                    q.consumers,
                    if q.consumers == 1 { "" } else { "s" }
                );
                let mut line = format!(
                    "  {name:<name_width$}  {:>depth_width$}  {consumers:<13}",
                    group(q.messages)
                );
                if bar_width >= 4 {
                    let _ = write!(line, "  │{}│", bar(q.messages, view.peak_depth, bar_width));
                }
                line
            }
            None => format!("  {name:<name_width$}  {:>depth_width$}", "missing"),
        };
        lines.push(line);
    }
    lines.push(status(view));
    if let Some(broker) = &view.broker {
        lines.push(broker.clone());
    }
    let mut out = String::new();
    for line in lines {
        let line = fit(line.trim_end(), width - 1);
        let _ = writeln!(out, "{line}\x1b[K");
    }
    out
}

/// `block` drawn over the `previous` lines drawn last (cursor up over them, then clear what
/// the new block does not cover).
pub fn redraw(previous: usize, block: &str) -> String {
    let mut out = String::new();
    if previous > 0 {
        let _ = write!(out, "\r\x1b[{previous}A");
    }
    out.push_str(block);
    if previous > 0 {
        out.push_str("\x1b[J");
    }
    out
}

/// One line: timestamp, total backlog, `queue=messages/consumers` per engine queue, verdict.
pub fn render_plain(view: &View) -> String {
    let mut line = format!("{} backlog={}", stamp(&view.at), view.backlog());
    for (name, figures) in &view.queues {
        match figures {
            Some(q) => {
                let _ = write!(line, " {name}={}/{}", q.messages, q.consumers);
            }
            None => {
                let _ = write!(line, " {name}=missing");
            }
        }
    }
    let _ = write!(line, " | {}", status(view));
    line
}

fn round1(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 10.0).round() / 10.0)
    } else {
        Value::Null
    }
}

/// One JSON object: `at`, `queues` (`{"messages": n, "consumers": n}` by name), `backlog`,
/// `verdict` (`draining`, `normal`, `waiting_for_consumers`, `stuck`), `left`, `rate_per_s`,
/// `eta_s` (null when unknown), plus `missing` (queues the broker does not have),
/// `waiting_for`, `stuck`, `drain_time_s` and `peak` as the verdict has them, and `note`.
pub fn render_json(view: &View) -> String {
    let mut queues = Map::new();
    let mut missing = Vec::new();
    for (name, figures) in &view.queues {
        match figures {
            Some(q) => {
                queues.insert(
                    name.clone(),
                    json!({"messages": q.messages, "consumers": q.consumers}),
                );
            }
            None => missing.push(name.clone()),
        }
    }
    let eta = match &view.verdict {
        Verdict::Draining { eta, .. } => eta.map_or(Value::Null, |e| round1(e.as_secs_f64())),
        Verdict::Normal { .. } => json!(0.0),
        _ => Value::Null,
    };
    let mut object = Map::new();
    object.insert("at".into(), json!(stamp(&view.at)));
    object.insert("queues".into(), Value::Object(queues));
    object.insert("backlog".into(), json!(view.backlog()));
    object.insert("verdict".into(), json!(kind_name(view.verdict.kind())));
    object.insert("left".into(), json!(view.verdict.left()));
    object.insert("rate_per_s".into(), round1(view.rate()));
    object.insert("eta_s".into(), eta);
    if !missing.is_empty() {
        object.insert("missing".into(), json!(missing));
    }
    match &view.verdict {
        Verdict::WaitingForConsumers { queues, .. } => {
            object.insert("waiting_for".into(), json!(queues));
        }
        Verdict::Draining { held, .. } => {
            object.insert("held".into(), json!(held));
            object.insert("hold".into(), json!(view.hold_samples));
        }
        Verdict::Normal { drain_time, peak } => {
            object.insert("drain_time_s".into(), round1(drain_time.as_secs_f64()));
            object.insert("peak".into(), json!(peak));
        }
        Verdict::Stuck { queues } => {
            let stuck: Vec<Value> = queues
                .iter()
                .map(|q| {
                    json!({"queue": q.name, "messages": q.messages, "consumers": q.consumers,
                           "missing": q.missing})
                })
                .collect();
            object.insert("stuck".into(), Value::Array(stuck));
        }
    }
    if let Some(note) = &view.note {
        object.insert("note".into(), json!(note));
    }
    Value::Object(object).to_string()
}

/// One plain line: the time, then the event in words.
pub fn render_event_plain(at: &Zoned, event: &MonitorEvent) -> String {
    format!("{} {}", stamp(at), event_text(event))
}

/// One JSON object with `at` and `event` (`baseline`, `broker_unreachable`,
/// `broker_reachable`, `broker_lost`, `queues_added`), `message` (the words), and the event's
/// figures.
pub fn render_event_json(at: &Zoned, event: &MonitorEvent) -> String {
    let mut object = Map::new();
    object.insert("at".into(), json!(stamp(at)));
    let name = match event {
        MonitorEvent::Baseline { queues, assumed } => {
            let figures: Map<String, Value> = queues
                .iter()
                .map(|(n, q)| {
                    (
                        n.clone(),
                        json!({"messages": q.messages, "consumers": q.consumers}),
                    )
                })
                .collect();
            object.insert("queues".into(), Value::Object(figures));
            let assumed: Vec<Value> = assumed
                .iter()
                .map(|a| json!({"queue": a.queue, "reason": a.reason}))
                .collect();
            object.insert("assumed".into(), Value::Array(assumed));
            "baseline"
        }
        MonitorEvent::Broker(BrokerEvent::Unreachable {
            error,
            down,
            retry_left,
        }) => {
            object.insert("error".into(), json!(error));
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            object.insert("retry_left_s".into(), round1(retry_left.as_secs_f64()));
            "broker_unreachable"
        }
        MonitorEvent::Broker(BrokerEvent::Reachable { down }) => {
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            "broker_reachable"
        }
        MonitorEvent::Lost { error, down } => {
            object.insert("error".into(), json!(error));
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            "broker_lost"
        }
        MonitorEvent::Broker(BrokerEvent::QueuesAdded { queues }) => {
            object.insert("queues".into(), json!(queues));
            "queues_added"
        }
    };
    object.insert("event".into(), json!(name));
    object.insert("message".into(), json!(event_text(event)));
    Value::Object(object).to_string()
}

fn kind_name(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::WaitingForConsumers => "waiting_for_consumers",
        VerdictKind::Draining => "draining",
        VerdictKind::Normal => "normal",
        VerdictKind::Stuck => "stuck",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rabbitmq::{Assumed, QueueSample, StuckQueue};

    fn zoned(text: &str) -> Zoned {
        text.parse().unwrap()
    }

    fn q(messages: u64, consumers: u32) -> QueueSample {
        QueueSample {
            messages,
            consumers,
        }
    }

    fn view(verdict: Verdict) -> View {
        View {
            at: zoned("2024-05-01T14:03:12.345+02:00[+02:00]"),
            vhost: "canopsis".into(),
            queues: [
                ("Engine_action".to_owned(), Some(q(0, 1))),
                ("Engine_che".to_owned(), None),
                ("Engine_fifo".to_owned(), Some(q(12_345, 0))),
                ("FIFO_ack".to_owned(), Some(q(3_000, 1))),
            ]
            .into(),
            peak_depth: 24_690,
            verdict,
            rate_per_s: Some(-2_100.0),
            hold_samples: 3,
            baseline: "baseline at 14:01:55".into(),
            note: None,
            broker: None,
            width: 100,
        }
    }

    fn parse(text: &str) -> Value {
        assert!(!text.contains('\n'), "one line: {text}");
        serde_json::from_str(text).unwrap()
    }

    fn draining() -> Verdict {
        Verdict::Draining {
            left: 12_345,
            rate_per_s: -2_100.2,
            eta: Some(Duration::from_millis(5_900)),
            held: 0,
        }
    }

    #[test]
    fn the_terminal_block_has_a_line_per_queue_with_bars_relative_to_the_peak() {
        let block = render_terminal(&view(draining()));
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines.len(), 2 + 4 + 1, "{block}");
        assert!(lines.iter().all(|l| l.ends_with("\x1b[K")));
        assert!(lines
            .iter()
            .all(|l| l.trim_end_matches("\x1b[K").chars().count() < 100));
        assert_eq!(
            lines[0],
            "RabbitMQ vhost canopsis at 14:03:12: backlog 15 345 messages\x1b[K"
        );
        assert_eq!(lines[1], "baseline at 14:01:55\x1b[K");
        assert_eq!(
            lines[2],
            format!(
                "  Engine_action        0    1 consumer   │{}│\x1b[K",
                " ".repeat(30)
            )
        );
        assert_eq!(lines[3], "  Engine_che     missing\x1b[K");
        // Half the peak: 15 of 30 characters.
        assert_eq!(
            lines[4],
            format!(
                "  Engine_fifo     12 345    0 consumers  │{}{}│\x1b[K",
                "█".repeat(15),
                " ".repeat(15)
            )
        );
        assert!(lines[5].contains("│███▋"), "{}", lines[5]);
        assert_eq!(
            lines[6],
            "draining: 12 345 messages left, -2 100/s, ETA 6 s\x1b[K"
        );
    }

    #[test]
    fn the_terminal_block_fits_a_narrow_terminal() {
        let mut v = view(Verdict::WaitingForConsumers {
            queues: vec!["Engine_fifo".into(), "Engine_che".into()],
            left: 12_345,
            rate_per_s: 300.0,
        });
        v.width = 40;
        v.broker = Some("RabbitMQ unreachable for 3 s, retrying for up to 1 min 57 s".into());
        let block = render_terminal(&v);
        for line in block.lines() {
            let text = line.trim_end_matches("\x1b[K");
            assert!(text.chars().count() <= 39, "{text:?}");
            assert!(!text.contains('│'), "no room for bars: {text:?}");
        }
        assert!(block.contains("waiting for consumers: Engine_fifo, En…"));
        assert!(block
            .lines()
            .last()
            .unwrap()
            .starts_with("RabbitMQ unreachable"));
    }

    #[test]
    fn redraw_moves_up_over_the_previous_block() {
        assert_eq!(redraw(0, "a\x1b[K\n"), "a\x1b[K\n");
        assert_eq!(redraw(7, "a\x1b[K\n"), "\r\x1b[7Aa\x1b[K\n\x1b[J");
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0, 100, 4), "    ");
        assert_eq!(bar(100, 100, 4), "████");
        assert_eq!(bar(50, 100, 4), "██  ");
        assert_eq!(bar(1, 64, 4), "▏   ");
        assert_eq!(bar(5, 0, 2), "  ");
        assert_eq!(bar(500, 100, 2), "██");
    }

    #[test]
    fn a_plain_line_per_poll() {
        assert_eq!(
            render_plain(&view(draining())),
            "2024-05-01T14:03:12.345+02:00 backlog=15345 Engine_action=0/1 Engine_che=missing \
             Engine_fifo=12345/0 FIFO_ack=3000/1 | draining: 12 345 messages left, -2 100/s, \
             ETA 6 s"
        );
        let mut v = view(Verdict::Normal {
            drain_time: Duration::ZERO,
            peak: 0,
        });
        v.note = Some("as at start".into());
        assert!(render_plain(&v).ends_with(" | normal; as at start"));
    }

    #[test]
    fn a_json_object_per_poll() {
        let value = parse(&render_json(&view(draining())));
        assert_eq!(value["at"], "2024-05-01T14:03:12.345+02:00");
        assert_eq!(
            value["queues"]["Engine_fifo"],
            json!({"messages": 12_345, "consumers": 0})
        );
        assert_eq!(value["queues"].as_object().unwrap().len(), 3);
        assert_eq!(value["missing"], json!(["Engine_che"]));
        assert_eq!(value["backlog"], 15_345);
        assert_eq!(value["verdict"], "draining");
        assert_eq!(value["left"], 12_345);
        assert_eq!(value["rate_per_s"], -2_100.2);
        assert_eq!(value["eta_s"], 5.9);
        assert_eq!(value["held"], 0);

        let unknown = Verdict::Draining {
            left: 3,
            rate_per_s: 1.0,
            eta: None,
            held: 0,
        };
        assert_eq!(parse(&render_json(&view(unknown)))["eta_s"], Value::Null);

        let waiting = parse(&render_json(&view(Verdict::WaitingForConsumers {
            queues: vec!["Engine_fifo".into()],
            left: 9,
            rate_per_s: 0.04,
        })));
        assert_eq!(waiting["verdict"], "waiting_for_consumers");
        assert_eq!(waiting["waiting_for"], json!(["Engine_fifo"]));
        assert_eq!(waiting["rate_per_s"], 0.0);
        assert_eq!(waiting["eta_s"], Value::Null);

        let normal = parse(&render_json(&view(Verdict::Normal {
            drain_time: Duration::from_millis(2_500),
            peak: 700,
        })));
        assert_eq!(normal["verdict"], "normal");
        assert_eq!(normal["left"], 0);
        assert_eq!(normal["eta_s"], 0.0);
        assert_eq!(normal["drain_time_s"], 2.5);
        assert_eq!(normal["peak"], 700);
        // The final verdict carries no rate: the display's own.
        assert_eq!(normal["rate_per_s"], -2_100.0);

        let stuck = parse(&render_json(&view(Verdict::Stuck {
            queues: vec![StuckQueue {
                name: "Engine_che".into(),
                messages: 0,
                consumers: 0,
                missing: true,
            }],
        })));
        assert_eq!(stuck["verdict"], "stuck");
        assert_eq!(stuck["stuck"][0]["queue"], "Engine_che");
        assert_eq!(stuck["stuck"][0]["missing"], true);
    }

    #[test]
    fn events() {
        let at = zoned("2024-05-01T14:03:12+00:00[UTC]");
        let baseline = MonitorEvent::Baseline {
            queues: [("Engine_fifo".to_owned(), q(700, 0))].into(),
            assumed: vec![Assumed {
                queue: "Engine_fifo".into(),
                reason: "no consumer".into(),
            }],
        };
        assert_eq!(
            render_event_plain(&at, &baseline),
            "2024-05-01T14:03:12.000+00:00 baseline: figures at start Engine_fifo=700/0; \
             assumed normally empty with a consumer: Engine_fifo (no consumer)"
        );
        let value = parse(&render_event_json(&at, &baseline));
        assert_eq!(value["event"], "baseline");
        assert_eq!(value["assumed"][0]["queue"], "Engine_fifo");
        assert_eq!(value["queues"]["Engine_fifo"]["messages"], 700);

        let unreachable = MonitorEvent::Broker(BrokerEvent::Unreachable {
            error: "connection refused".into(),
            down: Duration::from_secs(3),
            retry_left: Duration::from_secs(117),
        });
        assert_eq!(
            event_text(&unreachable),
            "RabbitMQ unreachable for 3 s, retrying for up to 1 min 57 s: connection refused"
        );
        let value = parse(&render_event_json(&at, &unreachable));
        assert_eq!(value["event"], "broker_unreachable");
        assert_eq!(value["retry_left_s"], 117.0);
        assert_eq!(
            parse(&render_event_json(
                &at,
                &MonitorEvent::Broker(BrokerEvent::Reachable {
                    down: Duration::from_secs(4)
                })
            ))["event"],
            "broker_reachable"
        );
        let lost = MonitorEvent::Lost {
            error: "timeout".into(),
            down: Duration::from_secs(120),
        };
        assert_eq!(
            parse(&render_event_json(&at, &lost))["event"],
            "broker_lost"
        );
        assert_eq!(
            event_text(&lost),
            "RabbitMQ unreachable for 2 min, giving up: timeout"
        );
    }
}
