//! The drain watch end to end: a simulated Canopsis 4.4.0 install in a real systemd (booted by
//! the tests) whose engines are Python programs consuming the machine's real RabbitMQ, on a
//! vhost of the test's own, while the test publishes events the whole time; the upgrade to
//! 4.5.0 stops the engines, the backlog piles up, and the daemon must see it drain (or not).
//! An independent observer (passive declares every 100 ms) keeps the truth. `--no-capture`
//! shows the figures measured.

use canopsis_upgrade_test_support::{broker, canopsis, engines};

use std::collections::BTreeMap;
use std::time::Duration;

use broker::{
    Observation, Observer, Proxy, ProxyMode, Publisher, VhostGuard, AMQP_ADDR, ENGINE_QUEUES,
    MANAGEMENT_ADDR,
};
use canopsis::{InstallSpec, Installed};
use canopsis_upgrade::rabbitmq::QueueSample;
use engines::Clock;
use tokio::time::Instant;

const UNIT: &str = "canopsis-upgrade@4.5.0.service";
// Far below what the engines can do even on a busy machine (they are capped at 8 times as
// much or more, or barely above it where the drain must take long): the tests do not depend on
// the machine's throughput. The drain test adds a backlog of a known size during the outage.
const PUBLISH_RATE: f64 = 50.0;
/// Published at once as soon as the engines are down, in the drain test.
const OUTAGE_BACKLOG: u64 = 3_000;
const TOLERANCE: u64 = 50;
const CREDENTIALS: &str = "/opt/canopsis-upgrade/rabbitmq-credentials";

/// One test's world. Fields drop in order: the sandbox (and its engines) first, then the vhost.
struct World {
    s: Installed,
    vhost: VhostGuard,
    rt: tokio::runtime::Runtime,
    clock: Clock,
}

struct Setup<'a> {
    label: &'a str,
    /// Engines' default rate, messages/s per queue.
    engine_rate: f64,
    /// Engine control words at install (`idle` or a rate).
    controls: &'a [(&'a str, &'a str)],
    /// The `[rabbitmq]` section, given the vhost.
    rabbitmq: &'a dyn Fn(&VhostGuard) -> String,
    /// yum's duration, to lengthen the outage.
    slow_yum: Option<u32>,
}

fn setup(spec: Setup, rt: tokio::runtime::Runtime) -> World {
    let vhost = VhostGuard::new(spec.label);
    rt.block_on(broker::declare_topology(&vhost.amqp_url()));
    let mut files = engines::install_files(&vhost.amqp_url(), spec.controls);
    files.push((CREDENTIALS.into(), "guest:guest\n".into(), 0o600));
    if let Some(secs) = spec.slow_yum {
        files.push(("/opt/canopsis/var/slow-yum".into(), secs.to_string(), 0o644));
    }
    let s = canopsis::install(InstallSpec {
        engine_exec: Some(engines::engine_exec(spec.engine_rate)),
        extra_config: (spec.rabbitmq)(&vhost),
        files,
        ..InstallSpec::default()
    });
    // Keeps the unit loaded once inactive, with its StatusText (see live_upgrade.rs).
    s.install_unit("observer.target", &format!("[Unit]\nAfter={UNIT}\n"));
    assert!(s.systemctl(&["start", "observer.target"]).status.success());
    World {
        s,
        vhost,
        rt,
        clock: Clock::new(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl World {
    fn wait_consumers(&self) {
        let s = &self.s;
        let engines_journal = || {
            let mut text = String::new();
            for unit in canopsis::UNITS {
                text.push_str(&s.journal(unit));
            }
            text
        };
        self.rt.block_on(engines::wait_consumers(
            &self.vhost.amqp_url(),
            &ENGINE_QUEUES,
            Duration::from_secs(30),
            engines_journal,
        ));
    }

    fn start_unit(&self) {
        let out = self.s.systemctl(&["start", UNIT]);
        assert!(
            out.status.success(),
            "start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.s.journal(UNIT)
        );
    }

    /// The journal line containing `needle`, with its time on the test's clock.
    fn journal_line(&self, needle: &str) -> Option<(Instant, String)> {
        engines::journal(&self.s, UNIT)
            .into_iter()
            .find(|e| e.message.contains(needle))
            .map(|e| (self.clock.instant(e.at), e.message))
    }
}

/// Messages above the baseline, summed over the engine queues.
fn excess(
    baseline: &BTreeMap<String, QueueSample>,
    figures: &BTreeMap<String, QueueSample>,
) -> u64 {
    figures
        .iter()
        .map(|(name, q)| {
            q.messages
                .saturating_sub(baseline.get(name).map_or(0, |b| b.messages))
        })
        .sum()
}

/// Every queue has its consumers back and is within tolerance of its baseline.
fn normal(
    baseline: &BTreeMap<String, QueueSample>,
    figures: &BTreeMap<String, QueueSample>,
) -> bool {
    figures.iter().all(|(name, q)| {
        let b = baseline.get(name).copied().unwrap_or_default();
        q.consumers >= b.consumers.max(1) && q.messages <= b.messages + TOLERANCE
    })
}

/// The last observation before `at`: the baseline the daemon also took.
fn before(timeline: &[Observation], at: Instant) -> BTreeMap<String, QueueSample> {
    timeline
        .iter()
        .rev()
        .find(|(t, _)| *t <= at)
        .map(|(_, f)| f.clone())
        .expect("an observation before the upgrade")
}

/// The number just before `word` in `text` ("peak 1234 messages" -> 1234 for "messages"),
/// digits possibly grouped by spaces.
fn number_before(text: &str, word: &str) -> Option<f64> {
    let end = text.find(word)?;
    let head = text[..end].trim_end();
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == ' '))
        .map_or(0, |i| i + 1);
    head[start..].replace(' ', "").parse().ok()
}

/// Waits until Engine_fifo has lost its consumer (the upgrade stopped the engines), then
/// publishes `n` events at once.
async fn publish_when_the_engines_stop(url: String, n: u64) {
    let (connection, channel) = broker::channel(&url).await;
    let limit = Instant::now() + Duration::from_secs(240);
    while broker::live_figures(&channel, &["Engine_fifo"]).await["Engine_fifo"].consumers > 0 {
        assert!(Instant::now() < limit, "the engines never stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = connection.close(200, "done").await;
    broker::publish_backlog(&url, n, None).await;
}

fn rabbitmq_section(vhost: &VhostGuard, extra: &str) -> String {
    // No amqp_url: the daemon takes CPS_AMQP_URL from the engines' environment file.
    format!(
        "[rabbitmq]\nenabled = true\nmanagement_url = \"http://{MANAGEMENT_ADDR}\"\nvhost = \"{}\"\n\
         credentials_file = \"{CREDENTIALS}\"\ntolerance = {TOLERANCE}\ntolerance_ratio = 0.0\nhold = 3\n{extra}",
        vhost.name
    )
}

#[test]
fn the_daemon_sees_the_backlog_grow_and_declares_normal_only_once_drained() {
    let w = setup(
        Setup {
            label: "live-drained",
            // Far faster than the publisher, but not so fast that the outage's backlog is gone
            // before the watch begins (the restart's settle time and the version check come
            // first); the drain's deadline far beyond what it takes even on a busy machine.
            engine_rate: 400.0,
            controls: &[],
            rabbitmq: &|v| {
                rabbitmq_section(v, "drain_timeout = \"180s\"\non_drain_timeout = \"fail\"\n")
            },
            slow_yum: Some(4),
        },
        runtime(),
    );
    w.wait_consumers();
    let url = w.vhost.amqp_url();
    let publisher = w.rt.block_on(Publisher::start(&url, PUBLISH_RATE));
    let observer =
        w.rt.block_on(Observer::start(&url, Duration::from_millis(100)));
    std::thread::sleep(Duration::from_secs(3));
    let backlog =
        w.rt.spawn(publish_when_the_engines_stop(url.clone(), OUTAGE_BACKLOG));

    let started = Instant::now();
    w.start_unit();
    let (state, statuses) = canopsis::watch_until_inactive(&w.s, UNIT, Duration::from_secs(420));
    let ended = Instant::now();
    w.rt.block_on(backlog)
        .expect("the outage's backlog was published");
    let timeline = w.rt.block_on(observer.stop());
    let published = publisher
        .published
        .load(std::sync::atomic::Ordering::Relaxed);
    w.rt.block_on(publisher.stop());
    let journal = w.s.journal(UNIT);
    assert_eq!(state, "inactive", "{statuses:#?}\n{journal}");
    assert_eq!(w.s.show(UNIT, "Result"), "success", "{journal}");

    let status = w.s.show(UNIT, "StatusText");
    assert!(
        status.starts_with("upgraded from 4.4.0 to 4.5.0; backlog peak "),
        "{status}"
    );
    let peak = number_before(&status, " messages, drained in").expect("the peak") as u64;
    let drained_in = number_before(&status, " s").expect("the drain time");
    let draining: Vec<&String> = statuses
        .iter()
        .filter(|t| t.starts_with("draining: ") && t.contains(" left"))
        .collect();
    assert!(
        !draining.is_empty(),
        "no drain status line was seen: {statuses:#?}"
    );

    // The outage as the observer saw it: from Engine_fifo losing its consumer to every queue
    // having one again.
    let baseline = before(&timeline, started);
    let down = timeline
        .iter()
        .find(|(t, f)| *t > started && f["Engine_fifo"].consumers == 0)
        .map(|(t, _)| *t)
        .expect("the engines never stopped");
    let up = timeline
        .iter()
        .find(|(t, f)| *t > down && f.values().all(|q| q.consumers > 0))
        .map(|(t, _)| *t)
        .expect("the engines never came back");
    let outage = up - down;
    let expected = PUBLISH_RATE * outage.as_secs_f64() + OUTAGE_BACKLOG as f64;
    let observed_peak = timeline
        .iter()
        .map(|(_, f)| excess(&baseline, f))
        .max()
        .unwrap_or(0);

    let (verdict_at, verdict_line) = w
        .journal_line("backlog peak")
        .unwrap_or_else(|| panic!("no verdict line in the journal:\n{journal}"));
    // The first observation from which every later one (to the verdict) is normal.
    let mut normal_since = None;
    for (t, f) in timeline.iter().filter(|(t, _)| *t > up && *t <= verdict_at) {
        match (normal(&baseline, f), normal_since) {
            (true, None) => normal_since = Some(*t),
            (false, _) => normal_since = None,
            _ => {}
        }
    }
    let normal_since = normal_since.unwrap_or_else(|| {
        panic!(
            "the observer never saw the queues back to normal before the verdict: {:#?}",
            timeline
                .iter()
                .filter(|(t, _)| *t > up && *t <= verdict_at)
                .collect::<Vec<_>>()
        )
    });
    let at_verdict = before(&timeline, verdict_at);
    let samples = number_before(&verdict_line, " samples").unwrap_or(f64::NAN);
    let per_minute = number_before(&verdict_line, " requests/min").unwrap_or(f64::NAN);

    println!("--- drained: {published} events published at {PUBLISH_RATE}/s");
    println!(
        "outage (observer): {:.2} s, expected backlog {:.0}, observer peak {observed_peak}",
        outage.as_secs_f64(),
        expected
    );
    println!("daemon: peak {peak}, drained in {drained_in} s; {verdict_line}");
    println!(
        "engines back -> observer normal: {:.2} s; observer normal -> daemon verdict (detection latency): {:.2} s; verdict -> unit inactive seen: {:.2} s",
        (normal_since - up).as_secs_f64(),
        (verdict_at - normal_since).as_secs_f64(),
        (ended.max(verdict_at) - verdict_at).as_secs_f64()
    );
    println!("watch: {samples} samples, {per_minute} requests/min");
    println!("drain status lines seen: {}", draining.len());
    for line in &draining {
        println!("  {line}");
    }

    assert!(peak > 0, "{status}");
    // The watch itself saw a backlog, and saw it go down before its verdict.
    let lefts: Vec<u64> = draining
        .iter()
        .filter_map(|t| number_before(t, " messages left").or(number_before(t, " message left")))
        .map(|n| n as u64)
        .collect();
    assert!(
        lefts.first().is_some_and(|&n| n > TOLERANCE)
            && lefts.last().is_some_and(|&n| n <= TOLERANCE),
        "drain lines: {draining:#?}"
    );
    // "drained in": from the watch's first sample with the engines back to the verdict.
    let since_back = (verdict_at - up).as_secs_f64();
    assert!(
        drained_in <= since_back + 1.0 && drained_in >= since_back - 5.0,
        "drained in {drained_in} s, the engines were back {since_back:.1} s before the verdict"
    );
    assert!(
        (peak as f64) >= expected / 3.0 && (peak as f64) <= expected * 3.0,
        "peak {peak} is not within a factor 3 of {PUBLISH_RATE}/s x {outage:?} + \
         {OUTAGE_BACKLOG} = {expected:.0}"
    );
    assert!(
        peak <= observed_peak * 3 / 2 + TOLERANCE && peak >= observed_peak / 3,
        "daemon peak {peak}, observer peak {observed_peak}"
    );
    assert!(
        normal(&baseline, &at_verdict),
        "the daemon declared normal while the observer saw {at_verdict:?} (baseline {baseline:?})"
    );
    let latency = verdict_at - normal_since;
    assert!(
        latency < Duration::from_secs(10),
        "detection latency {latency:?}"
    );
    assert!(
        verdict_at > up,
        "verdict before the engines came back ({journal})"
    );
}

#[test]
fn a_consumer_that_never_comes_back_fails_the_run_naming_its_queue() {
    let w = setup(
        Setup {
            label: "live-stuck",
            engine_rate: 1000.0,
            controls: &[],
            rabbitmq: &|v| {
                rabbitmq_section(v, "drain_timeout = \"15s\"\non_drain_timeout = \"fail\"\n")
            },
            slow_yum: None,
        },
        runtime(),
    );
    w.wait_consumers();
    // Read at its next start: after the restart, engine-che connects but never consumes.
    engines::control(&w.s, "engine-che", "idle");
    let url = w.vhost.amqp_url();
    let publisher = w.rt.block_on(Publisher::start(&url, PUBLISH_RATE));
    std::thread::sleep(Duration::from_secs(2));

    w.start_unit();
    let (state, statuses) = canopsis::watch_until_inactive(&w.s, UNIT, Duration::from_secs(240));
    let ended = Instant::now();
    w.rt.block_on(publisher.stop());
    let journal = w.s.journal(UNIT);
    assert_eq!(state, "failed", "{statuses:#?}\n{journal}");
    let status = w.s.show(UNIT, "StatusText");
    println!("--- stuck: {status}");
    assert!(
        status.starts_with("upgraded to 4.5.0, but RabbitMQ did not return to normal"),
        "{status}"
    );
    assert!(status.contains("Engine_che"), "{status}");
    assert!(status.contains("0 consumers"), "{status}");
    for other in ["Engine_fifo", "Engine_axe", "Engine_action", "FIFO_ack"] {
        assert!(!status.contains(other), "{other} is named: {status}");
    }
    assert!(
        statuses
            .iter()
            .any(|t| t.starts_with("waiting for consumers on Engine_che")),
        "{statuses:#?}"
    );
    // The unit stayed up: only the drain watch could tell.
    assert_eq!(
        w.s.show("canopsis-engine-go@engine-che.service", "ActiveState"),
        "active"
    );
    // verify's line comes just before the watch.
    if let Some((verified, _)) = w.journal_line("app-info reports") {
        println!(
            "watch start -> unit failed: {:.1} s (drain_timeout 15 s)",
            (ended - verified).as_secs_f64()
        );
    }
}

#[test]
fn systemctl_stop_during_the_drain_watch_ends_it_at_once_and_the_upgrade_counts_as_done() {
    let w = setup(
        Setup {
            label: "live-stop-drain",
            engine_rate: 1000.0,
            controls: &[],
            // A drain that would never end before its (long) deadline.
            rabbitmq: &|v| {
                rabbitmq_section(
                    v,
                    "drain_timeout = \"10min\"\non_drain_timeout = \"fail\"\n",
                )
            },
            slow_yum: None,
        },
        runtime(),
    );
    w.wait_consumers();
    engines::control(&w.s, "engine-che", "idle");
    let url = w.vhost.amqp_url();
    let publisher = w.rt.block_on(Publisher::start(&url, PUBLISH_RATE));
    w.start_unit();
    canopsis::wait_status(
        &w.s,
        UNIT,
        "waiting for consumers",
        Duration::from_secs(180),
    );
    let took = canopsis::timed_stop(&w.s, UNIT);
    w.rt.block_on(publisher.stop());
    println!(
        "--- systemctl stop during the drain watch returned in {:.2} s",
        took.as_secs_f64()
    );
    // Far below the drain's 10 min deadline (and the 30 min a stop may ask): the stop ended it.
    assert!(
        took < Duration::from_secs(30),
        "stop took {took:?}\n{}",
        w.s.journal(UNIT)
    );
    let journal = w.s.journal(UNIT);
    assert_eq!(w.s.show(UNIT, "ActiveState"), "inactive", "{journal}");
    assert_eq!(w.s.show(UNIT, "Result"), "success", "{journal}");
    assert_eq!(
        w.s.show(UNIT, "StatusText"),
        "upgraded from 4.4.0 to 4.5.0; stopped before the drain was verified",
        "{journal}"
    );
    // Done: in the history, nothing left to resume.
    let status = canopsis::run_daemon(&w.s, &["history", "--format", "json"]);
    let history: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["to"], "4.5.0");
}

#[test]
fn an_abnormal_backlog_before_the_upgrade_refuses_to_start_the_steps() {
    let w = setup(
        Setup {
            label: "live-abnormal",
            engine_rate: 1000.0,
            // engine-fifo consumes one message a second: it is there, but far behind.
            controls: &[("engine-fifo", "1")],
            rabbitmq: &|v| rabbitmq_section(v, "abnormal_backlog = 100\n"),
            slow_yum: None,
        },
        runtime(),
    );
    w.wait_consumers();
    let url = w.vhost.amqp_url();
    w.rt.block_on(engines::publish_n(&url, 500));
    let starts_before = canopsis::starts(&w.s, "engine-fifo");
    let observer =
        w.rt.block_on(Observer::start(&url, Duration::from_millis(100)));

    w.start_unit();
    let (state, statuses) = canopsis::watch_until_inactive(&w.s, UNIT, Duration::from_secs(120));
    let timeline = w.rt.block_on(observer.stop());
    let journal = w.s.journal(UNIT);
    assert_eq!(state, "failed", "{statuses:#?}\n{journal}");
    let status = w.s.show(UNIT, "StatusText");
    println!("--- abnormal: {status}");
    assert!(
        status.contains("the RabbitMQ backlog is abnormal already: the upgrade does not start"),
        "{status}"
    );
    assert!(status.contains("(threshold 100)"), "{status}");
    assert!(!status.contains("has no consumer"), "{status}");
    let held = number_before(&status, " messages (threshold").expect("the depth") as u64;
    assert!(
        status.contains(&format!("Engine_fifo holds {held} messages")),
        "{status}"
    );
    let seen: Vec<u64> = timeline
        .iter()
        .map(|(_, f)| f["Engine_fifo"].messages)
        .collect();
    let (low, high) = (*seen.iter().min().unwrap(), *seen.iter().max().unwrap());
    assert!(
        held + 2 >= low && held <= high + 2,
        "reported {held}, the observer saw {low}..{high}"
    );
    // Nothing ran: no stand-in call, no engine stopped, the version unchanged.
    assert!(
        canopsis::calls(&w.s).is_empty(),
        "{:?}",
        canopsis::calls(&w.s)
    );
    assert_eq!(canopsis::starts(&w.s, "engine-fifo"), starts_before);
    assert_eq!(
        canopsis::read(&w.s, "/opt/canopsis/VERSION.txt").trim(),
        "4.4.0"
    );
}

#[test]
fn the_broker_going_away_during_the_watch_fails_the_run_when_its_retry_budget_is_spent() {
    // The drain's deadline (drain_timeout + 60 s) is far: the retry budget (20 s) ends it.
    let status = broker_lost("live-lost-budget", "300s", "20s");
    assert!(status.contains("RabbitMQ unreachable for 20"), "{status}");
    assert!(status.contains("(retry budget 20 s)"), "{status}");
}

#[test]
fn the_broker_going_away_during_the_watch_is_named_when_the_drain_deadline_ends_it() {
    // The drain's deadline (10 s + 60 s) comes before the end of the retry budget: the
    // failure must still say the broker is away, not repeat the last sample's figures.
    let status = broker_lost("live-lost-deadline", "10s", "5m");
    assert!(
        status.contains("(deadline); last: RabbitMQ unreachable for "),
        "{status}"
    );
}

/// Runs the upgrade with the daemon's broker behind proxies, cuts them at the first line of
/// the drain watch, and checks the run fails within the retry budget saying the broker is
/// unreachable; the final StatusText.
fn broker_lost(label: &str, drain_timeout: &str, retry_budget: &str) -> String {
    let rt = runtime();
    let amqp = rt.block_on(Proxy::start(AMQP_ADDR));
    let management = rt.block_on(Proxy::start(MANAGEMENT_ADDR));
    let (amqp_addr, management_addr) = (amqp.addr(), management.addr());
    let section = move |v: &VhostGuard| {
        format!(
            "[rabbitmq]\nenabled = true\nmanagement_url = \"http://{management_addr}\"\n\
             amqp_url = \"{}\"\nvhost = \"{}\"\ntolerance = {TOLERANCE}\nhold = 3\n\
             drain_timeout = \"{drain_timeout}\"\non_drain_timeout = \"fail\"\nretry_budget = \"{retry_budget}\"\n",
            v.amqp_url_via(&amqp_addr),
            v.name
        )
    };
    let w = setup(
        Setup {
            label,
            // Barely faster than the publisher: the drain takes a while.
            engine_rate: 60.0,
            controls: &[],
            rabbitmq: &section,
            slow_yum: Some(4),
        },
        rt,
    );
    w.wait_consumers();
    let url = w.vhost.amqp_url();
    let publisher = w.rt.block_on(Publisher::start(&url, PUBLISH_RATE));
    std::thread::sleep(Duration::from_secs(2));

    w.start_unit();
    // Cut at the first line of the drain watch.
    let watching = Instant::now();
    let watch_line = loop {
        let status = w.s.show(UNIT, "StatusText");
        if status.starts_with("draining:") || status.starts_with("waiting for consumers") {
            break status;
        }
        let state = w.s.show(UNIT, "ActiveState");
        assert!(
            state == "active" || state == "activating",
            "{state} before the watch: {status}\n{}",
            w.s.journal(UNIT)
        );
        assert!(
            watching.elapsed() < Duration::from_secs(120),
            "no watch: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    amqp.set(ProxyMode::Cut);
    management.set(ProxyMode::Cut);
    let cut = Instant::now();
    let (state, statuses) = canopsis::watch_until_inactive(&w.s, UNIT, Duration::from_secs(300));
    let ended = Instant::now();
    w.rt.block_on(publisher.stop());
    let journal = w.s.journal(UNIT);
    let status = w.s.show(UNIT, "StatusText");
    println!("--- {label} (drain_timeout {drain_timeout}): cut at \"{watch_line}\"");
    println!(
        "cut -> unit {state}: {:.1} s; final status: {status}",
        (ended - cut).as_secs_f64()
    );
    for line in statuses
        .iter()
        .filter(|t| t.contains("unreachable"))
        .take(3)
    {
        println!("  {line}");
    }
    assert_eq!(state, "failed", "{statuses:#?}\n{journal}");
    assert!(
        status.starts_with("upgraded to 4.5.0, but RabbitMQ did not return to normal"),
        "{status}"
    );
    assert!(
        status.contains("unreachable"),
        "the failure does not say the broker was lost: {status}"
    );
    assert!(
        statuses
            .iter()
            .any(|t| t.starts_with("RabbitMQ unreachable for ")),
        "{statuses:#?}"
    );
    // Neither the retry budget nor the drain's deadline is ever overrun.
    assert!(
        ended - cut < Duration::from_secs(85),
        "{:?} from the cut to the failure",
        ended - cut
    );
    status
}
