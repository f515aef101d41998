//! `canopsis-upgrade monitor`: the live view of the Canopsis queues, for a person watching an
//! upgrade (or doing one by hand in another terminal).
//!
//! It takes a baseline when it starts, then polls the live figures of the engine queues (a
//! passive `queue.declare` per queue, see [`crate::rabbitmq::live`]) on the adaptive
//! [`PollPlan`] or at a fixed interval, feeds a [`DrainMonitor`] and writes, per poll, either a
//! progress display redrawn in place (a terminal), a plain line (a log) or a JSON object (a
//! program). A broker that goes away is reported and retried within the target's retry budget;
//! every await is under a timeout.
//!
//! [`connection`] is the one place that turns the configuration into a management client and a
//! watch target (AMQP URL, credentials, vhost, queue prefixes); the daemon uses it too.
//!
//! The rendering is pure: [`render_terminal`], [`render_plain`], [`render_json`] and the
//! event renderers take a [`View`] (or an [`Event`]) and return text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use jiff::Zoned;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use crate::config::{CredentialSource, RabbitmqSettings, Settings};
use crate::rabbitmq::drain::{format_duration, format_rate, group};
use crate::support::url::redact_url;
use crate::rabbitmq::{
    Baseline, Credentials, DrainMonitor, LiveCounter, LiveError, Management, PollPlan, QueueSample,
    Sample, Settings as DrainSettings, StuckQueue, Tolerance, Verdict, VerdictKind, WatchTarget,
    Watcher,
};

/// How long one management request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the management API is asked again for the engine queues (new ones may appear
/// during an upgrade).
const DISCOVERY_EVERY: Duration = Duration::from_secs(30);
/// The shortest fixed interval accepted.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The widest bar, in characters.
const BAR_WIDTH: usize = 30;

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

/// What the verdicts are based on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// Tolerance, hold, drain timeout.
    pub drain: DrainSettings,
    /// A queue deeper than this at start is not taken as its own baseline (unless
    /// `baseline_now`).
    pub abnormal_backlog: u64,
}

impl Criteria {
    /// From `[rabbitmq]`.
    pub fn from_settings(rabbitmq: &RabbitmqSettings) -> Self {
        Self {
            drain: drain_settings(rabbitmq),
            abnormal_backlog: rabbitmq.abnormal_backlog,
        }
    }
}

/// The drain monitor's settings from `[rabbitmq]`: tolerance, tolerance_ratio, hold,
/// drain_timeout.
pub fn drain_settings(rabbitmq: &RabbitmqSettings) -> DrainSettings {
    DrainSettings {
        tolerance: Tolerance {
            absolute: rabbitmq.tolerance,
            relative: rabbitmq.tolerance_ratio,
        },
        hold: rabbitmq.hold,
        timeout: rabbitmq.drain_timeout,
        ..DrainSettings::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The connection, from the configuration.

/// The AMQP URL and where it was configured.
struct AmqpSource {
    url: String,
    origin: String,
}

fn amqp_source(settings: &Settings) -> Result<AmqpSource> {
    if let Some(url) = &settings.rabbitmq.amqp_url {
        return Ok(AmqpSource {
            url: url.clone(),
            origin: "rabbitmq.amqp_url".into(),
        });
    }
    let path = &settings.engine_env_file;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "rabbitmq.amqp_url is not set, and the engines' environment file {} \
             (install.engine_env_file), where CPS_AMQP_URL would be, cannot be read",
            path.display()
        )
    })?;
    let env = crate::envfile::parse(&text);
    let url = env
        .get("CPS_AMQP_URL")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "rabbitmq.amqp_url is not set, and the engines' environment file {} \
                 (install.engine_env_file) has no CPS_AMQP_URL: set rabbitmq.amqp_url",
                path.display()
            )
        })?;
    Ok(AmqpSource {
        url: url.to_owned(),
        origin: format!("CPS_AMQP_URL in {}", path.display()),
    })
}

/// The vhost an AMQP URL names: its path, percent-decoded; `/` when there is none.
fn url_vhost(url: &reqwest::Url) -> String {
    let path = url.path();
    let raw = path.strip_prefix('/').unwrap_or(path);
    if raw.is_empty() {
        "/".into()
    } else {
        percent_decode_str(raw).decode_utf8_lossy().into_owned()
    }
}

/// The user and password of an AMQP URL (guest/guest without any, as AMQP itself assumes).
fn url_credentials(url: &reqwest::Url, origin: &str) -> Result<Credentials> {
    if url.username().is_empty() {
        return Ok(Credentials::new("guest", "guest"));
    }
    let user = percent_decode_str(url.username())
        .decode_utf8()
        .map_err(|_| anyhow!("{origin}: the user name is not UTF-8 once decoded"))?;
    let password = percent_decode_str(url.password().unwrap_or(""))
        .decode_utf8()
        .map_err(|_| anyhow!("{origin}: the password is not UTF-8 once decoded"))?;
    Ok(Credentials::new(user, password))
}

struct Resolved {
    management: Management,
    target: WatchTarget,
    amqp_origin: String,
}

fn resolve(settings: &Settings) -> Result<Resolved> {
    let r = &settings.rabbitmq;
    let source = amqp_source(settings)?;
    let origin = &source.origin;
    let url = reqwest::Url::parse(&source.url)
        .map_err(|e| anyhow!("{origin}: not a valid AMQP URL ({e})"))?;
    if !matches!(url.scheme(), "amqp" | "amqps") {
        bail!(
            "{origin}: {} is not an amqp:// or amqps:// URL",
            redact_url(&source.url)
        );
    }
    let vhost = url_vhost(&url);
    if vhost != r.vhost {
        bail!(
            "rabbitmq.vhost is {:?} but the AMQP URL ({origin}: {}) is for vhost {vhost:?}: \
             set rabbitmq.vhost to {vhost:?}, or fix the URL",
            r.vhost,
            redact_url(&source.url)
        );
    }
    let credentials = match &r.credentials {
        CredentialSource::File(path) => Credentials::from_file(path)
            .with_context(|| format!("rabbitmq.credentials_file = {}", path.display()))?,
        CredentialSource::Systemd(name) => Credentials::from_systemd_credential(name)
            .with_context(|| format!("rabbitmq.credential = {name:?}"))?,
        CredentialSource::None => url_credentials(&url, origin)?,
    };
    let management = Management::new(&r.management_url, credentials, REQUEST_TIMEOUT)
        .context("rabbitmq.management_url")?;
    let mut target = WatchTarget::new(source.url.clone(), vhost);
    target.selection.prefixes = r.queue_prefixes.clone();
    target.retry_budget = r.retry_budget;
    Ok(Resolved {
        management,
        target,
        amqp_origin: source.origin,
    })
}

/// The management client and the watch target of the configuration: the AMQP URL from
/// `rabbitmq.amqp_url` or else CPS_AMQP_URL of the engines' environment file
/// (`install.engine_env_file`), which must name `rabbitmq.vhost`; the management credentials
/// from `rabbitmq.credentials_file` or `rabbitmq.credential` (systemd), or else the user and
/// password of the AMQP URL; the queue prefixes. Nothing is contacted. Errors name the
/// setting or the file, never a password.
pub fn connection(settings: &Settings) -> Result<(Management, WatchTarget)> {
    let resolved = resolve(settings)?;
    Ok((resolved.management, resolved.target))
}

// ---------------------------------------------------------------------------------------------
// The baseline.

/// A queue whose figures at start were not taken as its baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    /// The queue.
    pub queue: String,
    /// Why: what its figures were.
    pub reason: String,
}

/// The baseline from the figures at start. Unless `as_is`, a queue without consumer or with
/// more than `abnormal_backlog` messages is assumed normally empty with (at least) one
/// consumer, and listed.
pub fn initial_baseline(
    figures: &BTreeMap<String, QueueSample>,
    as_is: bool,
    abnormal_backlog: u64,
) -> (Baseline, Vec<Assumed>) {
    let mut assumed = Vec::new();
    let queues = figures
        .iter()
        .map(|(name, q)| {
            let mut reasons = Vec::new();
            if !as_is && q.consumers == 0 {
                reasons.push("no consumer".to_owned());
            }
            if !as_is && q.messages > abnormal_backlog {
                reasons.push(format!(
                    "{} (more than {})",
                    messages(q.messages),
                    group(abnormal_backlog)
                ));
            }
            if reasons.is_empty() {
                return (name.clone(), *q);
            }
            assumed.push(Assumed {
                queue: name.clone(),
                reason: reasons.join(", "),
            });
            (
                name.clone(),
                QueueSample {
                    messages: 0,
                    consumers: q.consumers.max(1),
                },
            )
        })
        .collect();
    (Baseline { queues }, assumed)
}

// ---------------------------------------------------------------------------------------------
// The verdicts of a monitor that keeps running.

/// A [`DrainMonitor`] for a watch that goes on after a final verdict: a final verdict stands
/// while the samples agree with it, and a new drain is watched (same baseline) once they do not.
struct Judge {
    baseline: Baseline,
    settings: DrainSettings,
    monitor: DrainMonitor,
    /// Whether a sample has been off the baseline yet.
    departed: bool,
}

impl Judge {
    fn new(baseline: Baseline, settings: DrainSettings, departed: bool) -> Self {
        Self {
            monitor: DrainMonitor::new(baseline.clone(), settings),
            baseline,
            settings,
            departed,
        }
    }

    /// This sample alone: Normal, or Stuck with the queues off their baseline now.
    fn probe(&self, sample: &Sample) -> Verdict {
        let settings = DrainSettings {
            hold: 1,
            timeout: Duration::ZERO,
            ..self.settings
        };
        DrainMonitor::new(self.baseline.clone(), settings).observe(sample.clone())
    }

    fn observe(&mut self, sample: Sample) -> Verdict {
        let probe = self.probe(&sample);
        let normal_now = probe.kind() == VerdictKind::Normal;
        self.departed |= !normal_now;
        match self.monitor.verdict() {
            Some(kept @ Verdict::Normal { .. }) if normal_now => kept.clone(),
            Some(Verdict::Stuck { .. }) if !normal_now => probe,
            Some(v) if v.is_final() => {
                self.monitor = DrainMonitor::new(self.baseline.clone(), self.settings);
                self.monitor.observe(sample)
            }
            _ => self.monitor.observe(sample),
        }
    }

    fn hold(&self) -> u32 {
        self.monitor.settings().hold
    }
}

/// The smoothed rate of change of the total depth, for the display when the verdict carries
/// none (the same smoothing as the monitor's).
#[derive(Debug, Clone)]
struct RateMeter {
    window: Duration,
    last: Option<(Duration, u64)>,
    rate: Option<f64>,
}

impl RateMeter {
    fn new(window: Duration) -> Self {
        Self {
            window,
            last: None,
            rate: None,
        }
    }

    fn observe(&mut self, at: Duration, total: u64) {
        if let Some((last_at, last_total)) = self.last {
            if at <= last_at {
                return;
            }
            let dt = (at - last_at).as_secs_f64();
            let instant = (total as f64 - last_total as f64) / dt;
            let window = self.window.as_secs_f64();
            let alpha = if window > 0.0 {
                1.0 - (-dt / window).exp()
            } else {
                1.0
            };
            self.rate = Some(self.rate.map_or(instant, |r| r + alpha * (instant - r)));
        }
        self.last = Some((at, total));
    }
}

// ---------------------------------------------------------------------------------------------
// What is shown.

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
    /// Consecutive samples the verdict needs (for the hold progress while settling).
    pub hold: u32,
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
    fn rate(&self) -> f64 {
        match &self.verdict {
            Verdict::WaitingForConsumers { rate_per_s, .. }
            | Verdict::Draining { rate_per_s, .. } => *rate_per_s,
            _ => self.rate_per_s.unwrap_or(0.0),
        }
    }
}

/// Something that happened besides a poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The baseline taken at start.
    Baseline {
        /// The figures at start.
        queues: BTreeMap<String, QueueSample>,
        /// Queues whose figures were not taken as their baseline.
        assumed: Vec<Assumed>,
    },
    /// A poll failed: the broker is unreachable.
    Unreachable {
        /// Why.
        error: String,
        /// For how long so far.
        down: Duration,
        /// What is left of the retry budget.
        retry_left: Duration,
    },
    /// It answers again.
    Reachable {
        /// After how long.
        down: Duration,
    },
    /// The retry budget is spent: the monitor gives up.
    Lost {
        /// The last error.
        error: String,
        /// For how long it was unreachable.
        down: Duration,
    },
    /// The management API lists engine queues not watched so far.
    QueuesAdded {
        /// Their names.
        queues: Vec<String>,
    },
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{} messages", group(n))
    }
}

fn kind_name(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::WaitingForConsumers => "waiting_for_consumers",
        VerdictKind::Draining => "draining",
        VerdictKind::Normal => "normal",
        VerdictKind::Stuck => "stuck",
    }
}

/// The verdict in words: "draining: 12 345 messages left, -2 100/s, ETA 6 s", "normal",
/// "waiting for consumers: Engine_che (...)", "stuck: ...".
pub fn verdict_text(verdict: &Verdict, hold: u32) -> String {
    match verdict {
        Verdict::Draining { held, .. } if *held > 0 => {
            format!("{verdict} (within tolerance {held}/{hold})")
        }
        Verdict::Draining { .. } | Verdict::Stuck { .. } => verdict.to_string(),
        Verdict::Normal { peak: 0, .. } => "normal".into(),
        Verdict::Normal { drain_time, peak } => format!(
            "normal: drained in {} (peak backlog {})",
            format_duration(*drain_time),
            messages(*peak)
        ),
        Verdict::WaitingForConsumers {
            queues,
            left,
            rate_per_s,
        } => format!(
            "waiting for consumers: {} ({} left, {}/s)",
            queues.join(", "),
            messages(*left),
            format_rate(*rate_per_s)
        ),
    }
}

fn status(view: &View) -> String {
    let mut text = verdict_text(&view.verdict, view.hold);
    if let Some(note) = &view.note {
        let _ = write!(text, "; {note}");
    }
    text
}

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
            messages(view.backlog())
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
            object.insert("hold".into(), json!(view.hold));
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

fn figures_text(queues: &BTreeMap<String, QueueSample>) -> String {
    queues
        .iter()
        .map(|(name, q)| format!("{name}={}/{}", q.messages, q.consumers))
        .collect::<Vec<_>>()
        .join(" ")
}

fn assumed_text(assumed: &[Assumed]) -> String {
    assumed
        .iter()
        .map(|a| format!("{} ({})", a.queue, a.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The event in words, without the time.
pub fn event_text(event: &Event) -> String {
    match event {
        Event::Baseline { queues, assumed } => {
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
        Event::Unreachable {
            error,
            down,
            retry_left,
        } => format!(
            "RabbitMQ unreachable for {}, retrying for up to {}: {error}",
            format_duration(*down),
            format_duration(*retry_left)
        ),
        Event::Reachable { down } => {
            format!("RabbitMQ reachable again after {}", format_duration(*down))
        }
        Event::Lost { error, down } => format!(
            "RabbitMQ unreachable for {}, giving up: {error}",
            format_duration(*down)
        ),
        Event::QueuesAdded { queues } => format!("new engine queues: {}", queues.join(", ")),
    }
}

/// One plain line: the time, then the event in words.
pub fn render_event_plain(at: &Zoned, event: &Event) -> String {
    format!("{} {}", stamp(at), event_text(event))
}

/// One JSON object with `at` and `event` (`baseline`, `broker_unreachable`,
/// `broker_reachable`, `broker_lost`, `queues_added`), `message` (the words), and the event's
/// figures.
pub fn render_event_json(at: &Zoned, event: &Event) -> String {
    let mut object = Map::new();
    object.insert("at".into(), json!(stamp(at)));
    let name = match event {
        Event::Baseline { queues, assumed } => {
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
        Event::Unreachable {
            error,
            down,
            retry_left,
        } => {
            object.insert("error".into(), json!(error));
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            object.insert("retry_left_s".into(), round1(retry_left.as_secs_f64()));
            "broker_unreachable"
        }
        Event::Reachable { down } => {
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            "broker_reachable"
        }
        Event::Lost { error, down } => {
            object.insert("error".into(), json!(error));
            object.insert("down_s".into(), round1(down.as_secs_f64()));
            "broker_lost"
        }
        Event::QueuesAdded { queues } => {
            object.insert("queues".into(), json!(queues));
            "queues_added"
        }
    };
    object.insert("event".into(), json!(name));
    object.insert("message".into(), json!(event_text(event)));
    Value::Object(object).to_string()
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// The terminal's width: of stdout, else $COLUMNS, else 80.
fn terminal_width() -> usize {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid for the call.
    let ok = unsafe {
        nix::libc::ioctl(
            nix::libc::STDOUT_FILENO,
            nix::libc::TIOCGWINSZ,
            &mut size as *mut nix::libc::winsize,
        )
    } == 0;
    if ok && size.ws_col > 0 {
        return usize::from(size.ws_col);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|c| *c > 0)
        .unwrap_or(80)
}

struct Output<'a, W: Write> {
    out: &'a mut W,
    format: MonitorFormat,
    /// Lines of the terminal block drawn last.
    drawn: usize,
}

impl<W: Write> Output<'_, W> {
    fn write(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .context("writing the monitor's output")
    }

    fn width(&self) -> usize {
        match self.format {
            MonitorFormat::Terminal => terminal_width(),
            _ => 0,
        }
    }

    fn view(&mut self, view: &View) -> Result<()> {
        match self.format {
            MonitorFormat::Terminal => {
                let block = render_terminal(view);
                let text = redraw(self.drawn, &block);
                self.drawn = block.lines().count();
                self.write(&text)
            }
            MonitorFormat::Plain => self.write(&format!("{}\n", render_plain(view))),
            MonitorFormat::Json => self.write(&format!("{}\n", render_json(view))),
        }
    }

    /// An event: a line (plain, JSON); on a terminal, the last view redrawn with the broker's
    /// state (other events show in the block itself).
    fn event(&mut self, event: &Event, last: Option<&View>) -> Result<()> {
        let at = Zoned::now();
        match self.format {
            MonitorFormat::Terminal => match (event, last) {
                (Event::Unreachable { .. } | Event::Lost { .. }, Some(view)) => {
                    let mut view = view.clone();
                    view.broker = Some(event_text(event));
                    view.width = self.width();
                    self.view(&view)
                }
                _ => Ok(()),
            },
            MonitorFormat::Plain => self.write(&format!("{}\n", render_event_plain(&at, event))),
            MonitorFormat::Json => self.write(&format!("{}\n", render_event_json(&at, event))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The watch.

/// Connects (if needed) and counts `queues`, by `limit`.
async fn poll(
    counter: &mut Option<LiveCounter>,
    target: &WatchTarget,
    queues: &[String],
    limit: Instant,
) -> Result<BTreeMap<String, QueueSample>, LiveError> {
    if counter.as_ref().is_some_and(|c| !c.is_connected()) {
        *counter = None;
    }
    let started = Instant::now();
    let polled = timeout_at(limit, async {
        if counter.is_none() {
            *counter = Some(LiveCounter::connect(&target.amqp_url, target.request_timeout).await?);
        }
        counter
            .as_mut()
            .expect("connected above")
            .count_all(queues)
            .await
    })
    .await
    .unwrap_or_else(|_| {
        Err(LiveError::Timeout {
            url: redact_url(&target.amqp_url),
            what: "a poll of the engine queues".into(),
            // To the millisecond: "1s", not "999.994029ms".
            after: Duration::from_millis(
                (limit.saturating_duration_since(started).as_secs_f64() * 1_000.0).round() as u64,
            ),
        })
    });
    if polled.is_err() {
        // Dropping it closes what is left of its connection.
        *counter = None;
    }
    polled
}

/// The engine queues of the vhost, under a timeout.
async fn discover(watcher: &Watcher) -> Result<Vec<String>> {
    let limit = watcher.target().request_timeout + REQUEST_TIMEOUT;
    timeout(limit, watcher.engine_queues())
        .await
        .map_err(|_| {
            anyhow!(
                "RabbitMQ management API: no list of queues within {}",
                format_duration(limit)
            )
        })?
        .map_err(anyhow::Error::from)
}

async fn watch<W: Write>(
    watcher: &Watcher,
    criteria: &Criteria,
    options: &MonitorOptions,
    out: &mut Output<'_, W>,
) -> Result<MonitorEnd> {
    let target = watcher.target();
    let start = Instant::now();
    let mut queues = discover(watcher).await?;
    let mut counter = None;
    let mut figures = poll(
        &mut counter,
        target,
        &queues,
        start + target.request_timeout,
    )
    .await?;
    let (baseline, assumed) =
        initial_baseline(&figures, options.baseline_now, criteria.abnormal_backlog);
    let baseline_text = {
        let mut text = format!("baseline at {}", Zoned::now().strftime("%H:%M:%S"));
        if !assumed.is_empty() {
            let _ = write!(
                text,
                "; assumed empty with a consumer: {}",
                assumed_text(&assumed)
            );
        }
        text
    };
    out.event(
        &Event::Baseline {
            queues: figures.clone(),
            assumed: assumed.clone(),
        },
        None,
    )?;
    // A baseline that is the figures now is trivially met: --until-normal then waits for the
    // queues to leave it first (the engines stopping), not to end at once.
    let mut judge = Judge::new(baseline, criteria.drain, !assumed.is_empty());
    let mut meter = RateMeter::new(criteria.drain.rate_window);
    let mut plan = PollPlan::default();
    let mut peak_depth = 0u64;
    let mut round = start;
    let mut next_discovery = start + DISCOVERY_EVERY;
    let mut outage: Option<(Instant, String)> = None;
    let mut last_view: Option<View>;
    loop {
        // A successful poll, taken at `round`.
        let at = round - start;
        meter.observe(at, figures.values().map(|q| q.messages).sum());
        peak_depth = peak_depth.max(figures.values().map(|q| q.messages).max().unwrap_or(0));
        let verdict = judge.observe(Sample {
            at,
            queues: figures.clone(),
        });
        let note =
            (options.until_normal && !judge.departed && verdict.kind() == VerdictKind::Normal)
                .then(|| {
                    "as at start: waiting for the engines to stop, and for the drain after their \
                 return"
                        .to_owned()
                });
        let view = View {
            at: Zoned::now(),
            vhost: target.vhost.clone(),
            queues: queues
                .iter()
                .map(|name| (name.clone(), figures.get(name).copied()))
                .collect(),
            peak_depth,
            verdict: verdict.clone(),
            rate_per_s: meter.rate,
            hold: judge.hold(),
            baseline: baseline_text.clone(),
            note,
            broker: None,
            width: out.width(),
        };
        out.view(&view)?;
        last_view = Some(view);
        if options.until_normal {
            match verdict {
                Verdict::Normal { drain_time, peak } if judge.departed => {
                    if let Some(live) = counter.take() {
                        live.close().await;
                    }
                    return Ok(MonitorEnd::Normal { drain_time, peak });
                }
                Verdict::Stuck { queues } => {
                    if let Some(live) = counter.take() {
                        live.close().await;
                    }
                    return Ok(MonitorEnd::Stuck { queues });
                }
                _ => {}
            }
        }
        let interval = match options.interval {
            Some(fixed) => fixed.max(MIN_INTERVAL),
            None => plan.next_interval(&verdict),
        };
        let mut next = round + interval;

        // Until the next successful poll.
        loop {
            sleep_until(next).await;
            let now = Instant::now();
            if let Some((since, last)) = &outage {
                if now >= *since + target.retry_budget {
                    let down = now - *since;
                    let error = last.clone();
                    out.event(
                        &Event::Lost {
                            error: error.clone(),
                            down,
                        },
                        last_view.as_ref(),
                    )?;
                    bail!(
                        "RabbitMQ unreachable for {} (retry budget {}): {error}",
                        format_duration(down),
                        format_duration(target.retry_budget)
                    );
                }
            }
            if outage.is_none() && now >= next_discovery {
                next_discovery = now + DISCOVERY_EVERY;
                if let Ok(listed) = discover(watcher).await {
                    let added: Vec<String> = listed
                        .into_iter()
                        .filter(|name| !queues.contains(name))
                        .collect();
                    if !added.is_empty() {
                        queues.extend(added.iter().cloned());
                        queues.sort();
                        out.event(&Event::QueuesAdded { queues: added }, None)?;
                    }
                }
            }
            round = Instant::now();
            // While the broker is away, no attempt runs past the end of the retry budget.
            let mut limit = round + target.request_timeout;
            if let Some((since, _)) = &outage {
                limit = limit.min(*since + target.retry_budget);
            }
            match poll(&mut counter, target, &queues, limit).await {
                Ok(polled) => {
                    if let Some((since, _)) = outage.take() {
                        out.event(
                            &Event::Reachable {
                                down: since.elapsed(),
                            },
                            None,
                        )?;
                    }
                    figures = polled;
                    break;
                }
                Err(e) => {
                    let error = e.to_string();
                    let since = match &mut outage {
                        Some((since, last)) => {
                            *last = error.clone();
                            *since
                        }
                        None => {
                            outage = Some((round, error.clone()));
                            round
                        }
                    };
                    let now = Instant::now();
                    let down = now - since;
                    out.event(
                        &Event::Unreachable {
                            error,
                            down,
                            retry_left: target.retry_budget.saturating_sub(down),
                        },
                        last_view.as_ref(),
                    )?;
                    // Wakes at the end of the budget at the latest, to give up on time.
                    next = (now + target.retry_every).min(since + target.retry_budget);
                }
            }
        }
    }
}

/// [`monitor`] with an explicit client, target and criteria (the daemon's, or a test's).
pub async fn monitor_target(
    management: Management,
    target: WatchTarget,
    criteria: Criteria,
    format: MonitorFormat,
    options: MonitorOptions,
    out: &mut impl Write,
    stop: impl Future,
) -> Result<MonitorEnd> {
    let watcher = Watcher::new(management, target);
    let mut output = Output {
        out,
        format,
        drawn: 0,
    };
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
    let resolved = resolve(settings)?;
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
        Criteria::from_settings(&settings.rabbitmq),
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
    use crate::config::Source;

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
            hold: 3,
            baseline: "baseline at 14:01:55".into(),
            note: None,
            broker: None,
            width: 100,
        }
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

    fn parse(text: &str) -> Value {
        assert!(!text.contains('\n'), "one line: {text}");
        serde_json::from_str(text).unwrap()
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
        let baseline = Event::Baseline {
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

        let unreachable = Event::Unreachable {
            error: "connection refused".into(),
            down: Duration::from_secs(3),
            retry_left: Duration::from_secs(117),
        };
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
                &Event::Reachable {
                    down: Duration::from_secs(4)
                }
            ))["event"],
            "broker_reachable"
        );
        let lost = Event::Lost {
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

    #[test]
    fn the_baseline_assumes_normal_figures_for_queues_that_look_like_an_outage() {
        let figures: BTreeMap<String, QueueSample> = [
            ("Engine_action".to_owned(), q(5, 1)),
            ("Engine_axe".to_owned(), q(20_000, 2)),
            ("Engine_fifo".to_owned(), q(700, 0)),
        ]
        .into();
        let (baseline, assumed) = initial_baseline(&figures, false, 10_000);
        assert_eq!(baseline.queues["Engine_action"], q(5, 1));
        assert_eq!(baseline.queues["Engine_axe"], q(0, 2));
        assert_eq!(baseline.queues["Engine_fifo"], q(0, 1));
        assert_eq!(
            assumed,
            [
                Assumed {
                    queue: "Engine_axe".into(),
                    reason: "20 000 messages (more than 10 000)".into()
                },
                Assumed {
                    queue: "Engine_fifo".into(),
                    reason: "no consumer".into()
                },
            ]
        );
        let (as_is, none) = initial_baseline(&figures, true, 10_000);
        assert_eq!(as_is.queues, figures);
        assert!(none.is_empty());
    }

    fn sample(at_ms: u64, fifo: u64, consumers: u32) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            queues: [
                ("Engine_fifo".to_owned(), q(fifo, consumers)),
                ("Engine_che".to_owned(), q(0, consumers)),
            ]
            .into(),
        }
    }

    fn judge_settings() -> DrainSettings {
        DrainSettings {
            tolerance: Tolerance {
                absolute: 10,
                relative: 0.0,
            },
            hold: 2,
            timeout: Duration::from_secs(5),
            rate_window: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_running_monitor_watches_each_outage_and_its_drain() {
        let baseline = Baseline {
            queues: sample(0, 0, 1).queues,
        };
        let mut judge = Judge::new(baseline, judge_settings(), false);
        let kinds: Vec<VerdictKind> = [
            sample(0, 0, 1),
            sample(500, 0, 1),
            sample(1_000, 5, 1),
            // The engines stop: a new drain is watched.
            sample(1_500, 300, 0),
            sample(2_000, 600, 0),
            sample(2_500, 600, 1),
            sample(3_000, 0, 1),
            sample(3_500, 0, 1),
        ]
        .into_iter()
        .map(|s| judge.observe(s).kind())
        .collect();
        use VerdictKind::*;
        assert_eq!(
            kinds,
            [
                Draining,
                Normal,
                Normal,
                WaitingForConsumers,
                WaitingForConsumers,
                Draining,
                Draining,
                Normal
            ]
        );
        assert!(judge.departed);
        match judge.observe(sample(4_000, 0, 1)) {
            Verdict::Normal { peak, drain_time } => {
                assert_eq!(peak, 600);
                assert_eq!(drain_time, Duration::from_millis(1_000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stuck_verdict_follows_the_figures_and_clears_when_they_recover() {
        let baseline = Baseline {
            queues: sample(0, 0, 1).queues,
        };
        let mut judge = Judge::new(baseline, judge_settings(), true);
        judge.observe(sample(0, 500, 0));
        let stuck = judge.observe(sample(5_000, 400, 0));
        assert_eq!(
            stuck.to_string(),
            "stuck: Engine_che 0 messages, 0 consumers; Engine_fifo 400 messages, 0 consumers"
        );
        let later = judge.observe(sample(6_000, 300, 0));
        assert!(
            later.to_string().contains("Engine_fifo 300 messages"),
            "{later}"
        );
        // Back: a new drain, then normal.
        assert_eq!(
            judge.observe(sample(7_000, 0, 1)).kind(),
            VerdictKind::Draining
        );
        assert_eq!(
            judge.observe(sample(7_500, 0, 1)).kind(),
            VerdictKind::Normal
        );
    }

    #[test]
    fn rate_meter() {
        let mut meter = RateMeter::new(Duration::ZERO);
        meter.observe(Duration::from_secs(1), 1_000);
        assert_eq!(meter.rate, None);
        meter.observe(Duration::from_secs(2), 500);
        assert_eq!(meter.rate, Some(-500.0));
        meter.observe(Duration::from_secs(2), 0);
        assert_eq!(meter.rate, Some(-500.0));
    }

    fn settings(text: &str) -> Settings {
        Settings::from_sources(&[Source {
            file: "/etc/canopsis-upgrade/config.toml".into(),
            text: text.into(),
        }])
        .unwrap()
    }

    #[test]
    fn the_connection_comes_from_the_rabbitmq_section() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("rabbitmq");
        std::fs::write(&creds, "admin:s3cret-file\n").unwrap();
        let s = settings(&format!(
            "[rabbitmq]\namqp_url = \"amqp://cps:s3cret@mq:5672/cps%2Fprod\"\n\
             management_url = \"http://mq:15672/\"\nvhost = \"cps/prod\"\n\
             queue_prefixes = [\"Engine_\"]\ncredentials_file = \"{}\"\n",
            creds.display()
        ));
        let (management, target) = connection(&s).unwrap();
        assert_eq!(management.base_url(), "http://mq:15672");
        assert_eq!(management.user(), "admin");
        assert_eq!(target.amqp_url, "amqp://cps:s3cret@mq:5672/cps%2Fprod");
        assert_eq!(target.vhost, "cps/prod");
        assert_eq!(target.selection.prefixes, ["Engine_"]);
        assert!(!format!("{management:?}").contains("s3cret"));
    }

    #[test]
    fn without_credentials_those_of_the_amqp_url_are_used() {
        let s = settings("[rabbitmq]\namqp_url = \"amqp://cps%40rabbit:p%3Ass@mq/canopsis\"\n");
        let resolved = resolve(&s).unwrap();
        assert_eq!(resolved.management.user(), "cps@rabbit");
        assert_eq!(resolved.amqp_origin, "rabbitmq.amqp_url");
        let s = settings("[rabbitmq]\namqp_url = \"amqp://mq\"\nvhost = \"/\"\n");
        let (management, target) = connection(&s).unwrap();
        assert_eq!(management.user(), "guest");
        assert_eq!(target.vhost, "/");
    }

    #[test]
    fn the_amqp_url_comes_from_the_engines_environment_file_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("go-engines-vars.conf");
        std::fs::write(
            &env,
            "CPS_MONGO_URL=mongodb://x\nCPS_AMQP_URL=\"amqp://cpsrabbit:canopsis@localhost:5672/canopsis\"\n",
        )
        .unwrap();
        let s = settings(&format!(
            "[install]\nengine_env_file = \"{}\"\n",
            env.display()
        ));
        let resolved = resolve(&s).unwrap();
        assert_eq!(
            resolved.target.amqp_url,
            "amqp://cpsrabbit:canopsis@localhost:5672/canopsis"
        );
        assert_eq!(resolved.management.user(), "cpsrabbit");
        assert_eq!(
            resolved.amqp_origin,
            format!("CPS_AMQP_URL in {}", env.display())
        );
    }

    #[test]
    fn errors_name_the_setting_or_the_file_never_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("go-engines-vars.conf");
        let with_env = |text: &str| {
            settings(&format!(
                "[install]\nengine_env_file = \"{}\"\n{text}",
                env.display()
            ))
        };
        let message = |s: &Settings| format!("{:#}", connection(s).unwrap_err());

        let text = message(&with_env(""));
        assert!(text.contains("rabbitmq.amqp_url is not set"), "{text}");
        assert!(text.contains(&env.display().to_string()), "{text}");
        assert!(text.contains("cannot be read"), "{text}");

        std::fs::write(&env, "CPS_MONGO_URL=mongodb://x\n").unwrap();
        let text = message(&with_env(""));
        assert!(text.contains("has no CPS_AMQP_URL"), "{text}");

        std::fs::write(&env, "CPS_AMQP_URL=http://u:s3cret@h/canopsis\n").unwrap();
        let text = message(&with_env(""));
        assert!(text.contains("not an amqp:// or amqps:// URL"), "{text}");
        assert!(text.contains("CPS_AMQP_URL in"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");

        std::fs::write(&env, "CPS_AMQP_URL=amqp://u:s3cret@h/other\n").unwrap();
        let text = message(&with_env(""));
        assert!(
            text.contains("rabbitmq.vhost is \"canopsis\" but the AMQP URL")
                && text.contains("\"other\""),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");

        let text = message(&with_env(&format!(
            "[rabbitmq]\nvhost = \"other\"\ncredentials_file = \"{}/missing\"\n",
            dir.path().display()
        )));
        assert!(text.starts_with("rabbitmq.credentials_file = "), "{text}");
        assert!(text.contains("missing"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");

        // $CREDENTIALS_DIRECTORY is not set here, or has no such credential.
        let text = message(&with_env(
            "[rabbitmq]\nvhost = \"other\"\ncredential = \"cu-test-none\"\n",
        ));
        assert!(
            text.starts_with("rabbitmq.credential = \"cu-test-none\""),
            "{text}"
        );
    }

    #[test]
    fn criteria_come_from_the_rabbitmq_section() {
        let s = settings(
            "[rabbitmq]\ntolerance = 7\ntolerance_ratio = 0.5\nhold = 4\n\
             drain_timeout = \"90s\"\nabnormal_backlog = 123\n",
        );
        let c = Criteria::from_settings(&s.rabbitmq);
        assert_eq!(c.abnormal_backlog, 123);
        assert_eq!(c.drain.tolerance.absolute, 7);
        assert_eq!(c.drain.tolerance.relative, 0.5);
        assert_eq!(c.drain.hold, 4);
        assert_eq!(c.drain.timeout, Duration::from_secs(90));
    }

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
