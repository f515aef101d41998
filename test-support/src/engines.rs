//! Canopsis engines played by a small Python 3 program (Debian's /usr/bin/python3 with
//! python3-pika) that the simulated install's engine units run as user canopsis: each consumes
//! its queue at a given rate (prefetch, ack), forwards what it consumed down the Canopsis chain,
//! logs to stderr and runs until SIGTERM. A control file per engine, read at each start, changes
//! its rate or makes it idle (connected, consuming nothing: the unit stays active but the queue
//! has no consumer). Also: writing the install's files for a test vhost, a bulk publisher, and
//! the daemon's journal with timestamps.

use std::time::{Duration, SystemTime};

use crate::broker;
use crate::sdsandbox::Sandbox;

/// The engine program inside the sandbox.
pub const PROGRAM: &str = "/opt/canopsis/bin/engine.py";
/// Per-engine control files: `idle`, or a rate (messages per second).
pub const CONTROL_DIR: &str = "/opt/canopsis/var/engines";
/// The engines' environment file (CPS_AMQP_URL).
pub const ENGINE_VARS: &str = "/opt/canopsis/etc/go-engines-vars.conf";

const ENGINE_PY: &str = r#"#!/usr/bin/python3
# A Canopsis engine stand-in: engine.py ENGINE [RATE]
# Consumes its queue(s) at RATE messages/s per queue, forwards each message down the chain,
# acks it. /opt/canopsis/var/engines/ENGINE, read at start, overrides RATE, or says "idle"
# (connect, consume nothing). CPS_AMQP_URL comes from the unit's EnvironmentFile.
import os
import signal
import sys
import time

import pika

ENGINE = sys.argv[1]
RATE = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
QUEUES = {
    "engine-fifo": ["Engine_fifo", "FIFO_ack"],
    "engine-che": ["Engine_che"],
    "engine-axe": ["Engine_axe"],
    "engine-action": ["Engine_action"],
    "engine-pbehavior": [],
}.get(ENGINE, [])
FORWARD = {
    "Engine_fifo": ["Engine_che"],
    "Engine_che": ["Engine_axe"],
    "Engine_axe": ["Engine_action", "FIFO_ack"],
}


def log(text):
    sys.stderr.write("%s: %s\n" % (ENGINE, text))
    sys.stderr.flush()


def stop(signum, frame):
    log("SIGTERM: exiting")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)

mode = "rate"
try:
    with open("/opt/canopsis/var/engines/" + ENGINE) as f:
        word = f.read().strip()
    if word == "idle":
        mode = "idle"
    elif word:
        RATE = float(word)
except FileNotFoundError:
    pass
try:
    with open("/opt/canopsis/var/log/engine-starts.log", "a") as f:
        f.write("%s %d\n" % (ENGINE, os.getpid()))
except OSError:
    pass

URL = os.environ.get("CPS_AMQP_URL", "").strip().strip('"')
log("start: pid %d, queues %s, %s" % (os.getpid(), QUEUES, "idle" if mode == "idle" else "%g/s" % RATE))


class Pace:
    """At most RATE per second on average, without bursting after a pause."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()
        self.done = 0

    def tick(self):
        due = self.start + self.done / self.rate
        now = time.monotonic()
        if due > now + 0.002:
            time.sleep(due - now)
        elif now - due > 0.1:
            self.start = now - self.done / self.rate
        self.done += 1


def run():
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    log("connected")
    if mode == "idle" or not QUEUES:
        while True:
            connection.process_data_events(time_limit=1)
    channel.basic_qos(prefetch_count=50)
    counts = {}
    last = [time.monotonic()]
    for queue in QUEUES:
        pace = Pace(RATE)
        forward = FORWARD.get(queue, [])
        counts[queue] = 0

        def on_message(ch, method, properties, body, queue=queue, pace=pace, forward=forward):
            pace.tick()
            for target in forward:
                ch.basic_publish(exchange="", routing_key=target, body=body)
            ch.basic_ack(delivery_tag=method.delivery_tag)
            counts[queue] += 1
            now = time.monotonic()
            if now - last[0] >= 5:
                last[0] = now
                log("consumed %s" % counts)

        channel.basic_consume(queue=queue, on_message_callback=on_message)
    log("consuming %s" % QUEUES)
    channel.start_consuming()


while True:
    try:
        run()
    except (pika.exceptions.AMQPError, OSError) as e:
        log("broker: %r; retrying in 1 s" % (e,))
        time.sleep(1)
"#;

/// The engine unit's ExecStart: the program, the engine name, its default rate.
pub fn engine_exec(rate: f64) -> String {
    format!("{PROGRAM} %i {rate}")
}

/// The files the install needs for engines on `amqp_url` (the test vhost): the program and an
/// environment file whose CPS_AMQP_URL names the vhost (written after the fixture's own, so it
/// replaces it), plus `controls` (engine name, `idle` or a rate).
pub fn install_files(amqp_url: &str, controls: &[(&str, &str)]) -> Vec<(String, String, u32)> {
    let vars = format!(
        "CPS_MONGO_URL=\"mongodb://cpsmongo:canopsis@localhost:27017/canopsis\"\n\
         CPS_AMQP_URL=\"{amqp_url}\"\n\
         CPS_REDIS_URL=\"redis://localhost:6379/0\"\n\
         CPS_INFLUX_URL=\"http://localhost:8086\"\n\
         CPS_API_URL=\"http://localhost:8082\"\n"
    );
    let mut files = vec![
        (PROGRAM.to_owned(), ENGINE_PY.to_owned(), 0o755),
        (ENGINE_VARS.to_owned(), vars, 0o640),
    ];
    for (engine, word) in controls {
        files.push((control_path(engine), format!("{word}\n"), 0o644));
    }
    files
}

fn control_path(engine: &str) -> String {
    format!("{CONTROL_DIR}/{engine}")
}

/// Sets an engine's control word, read at its next start.
pub fn control(s: &Sandbox, engine: &str, word: &str) {
    s.write(&control_path(engine), &format!("{word}\n"), 0o644);
}

/// Publishes `n` events to `canopsis.events` with publisher confirms (all in the queues when
/// it returns).
pub async fn publish_n(url: &str, n: u64) {
    broker::publish_backlog(url, n, None).await;
}

/// Waits until every queue of `queues` has at least one consumer; panics after `timeout` with
/// the figures and `context()`.
pub async fn wait_consumers(
    url: &str,
    queues: &[&str],
    timeout: Duration,
    context: impl Fn() -> String,
) {
    let (connection, channel) = broker::channel(url).await;
    let start = tokio::time::Instant::now();
    loop {
        let figures = broker::live_figures(&channel, queues).await;
        if figures.values().all(|q| q.consumers > 0) {
            break;
        }
        assert!(
            start.elapsed() < timeout,
            "engines not consuming after {timeout:?}: {figures:?}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = connection.close(200, "done").await;
}

/// One journal entry: when journald received it, and the message.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: SystemTime,
    pub message: String,
}

/// The journal of `unit` with the time of each line.
pub fn journal(s: &Sandbox, unit: &str) -> Vec<Entry> {
    let _ = s.exec(&["journalctl", "--sync"]);
    let out = s.exec(&["journalctl", "-u", unit, "--no-pager", "-o", "json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            let micros: u64 = v["__REALTIME_TIMESTAMP"].as_str()?.parse().ok()?;
            let message = match &v["MESSAGE"] {
                serde_json::Value::String(text) => text.clone(),
                // Non-UTF-8 or binary messages come as arrays of bytes.
                serde_json::Value::Array(bytes) => String::from_utf8_lossy(
                    &bytes
                        .iter()
                        .filter_map(|b| b.as_u64().map(|b| b as u8))
                        .collect::<Vec<_>>(),
                )
                .into_owned(),
                _ => return None,
            };
            Some(Entry {
                at: SystemTime::UNIX_EPOCH + Duration::from_micros(micros),
                message,
            })
        })
        .collect()
}

/// Maps wall-clock times (the journal's) to the test's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    instant: tokio::time::Instant,
    wall: SystemTime,
}

impl Clock {
    /// Anchored now.
    pub fn new() -> Self {
        Self {
            instant: tokio::time::Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The monotonic instant of a wall-clock time.
    pub fn instant(&self, at: SystemTime) -> tokio::time::Instant {
        match at.duration_since(self.wall) {
            Ok(after) => self.instant + after,
            Err(e) => self.instant - e.duration(),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
