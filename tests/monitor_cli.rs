//! The `monitor` live view against the machine's real RabbitMQ: a Canopsis-shaped vhost of its
//! own per test, settings written as TOML pointing at it, engines that stop and come back, and
//! a TCP proxy to make the broker disappear. `--nocapture` shows the output.

use canopsis_upgrade_test_support::broker;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{Proxy, ProxyMode, VhostGuard, ENGINE_QUEUES, MANAGEMENT_ADDR};
use canopsis_upgrade::config::{Settings, Source};
use canopsis_upgrade::monitor::{
    monitor, monitor_target, MonitorEnd, MonitorFormat, MonitorOptions,
};
use canopsis_upgrade::rabbitmq::{Credentials, DrainCriteria, Management, WatchTarget};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde_json::Value;
use tokio::time::Instant;

/// The monitor's output, readable while it writes.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// Every line as JSON (each must be an object).
    fn objects(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
                assert!(v.is_object(), "{l}");
                v
            })
            .collect()
    }

    /// The poll objects (not the events).
    fn polls(&self) -> Vec<Value> {
        self.objects()
            .into_iter()
            .filter(|o| o.get("verdict").is_some())
            .collect()
    }

    /// Waits (up to `limit`) until `done` holds for the output.
    async fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Shared) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; output:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn from_toml(text: String) -> Settings {
    Settings::from_sources(&[Source {
        file: "/etc/canopsis-upgrade/config.toml".into(),
        text,
    }])
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Settings pointing at the test vhost as guest (management credentials: those of the URL).
fn settings(vhost: &VhostGuard, extra: &str) -> Settings {
    from_toml(format!(
        "[rabbitmq]\nmanagement_url = \"http://{MANAGEMENT_ADDR}\"\namqp_url = \"{}\"\n\
         vhost = \"{}\"\n{extra}",
        vhost.amqp_url(),
        vhost.name
    ))
}

/// Publishes `n` events to `canopsis.events` (routed to Engine_fifo), or straight to `queue`,
/// and waits until the broker counts them.
async fn publish_backlog(url: &str, n: u64, queue: Option<&str>) {
    broker::publish_backlog(url, n, queue).await;
    broker::wait_depth(
        url,
        queue.unwrap_or("Engine_fifo"),
        n,
        Duration::from_secs(30),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_until_normal_ends_once_the_backlog_drained() {
    let vhost = VhostGuard::new("mon-json");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    // The engines are down and a backlog piled up.
    publish_backlog(&url, 2_000, None).await;

    // Deadlines far beyond what the drain takes, even on a busy machine: the test is about
    // what is shown, not how fast the engines are.
    let settings = settings(&vhost, "tolerance = 20\ndrain_timeout = \"120s\"\n");
    let out = Shared::default();
    let mut writer = out.clone();
    let options = MonitorOptions {
        until_normal: true,
        ..MonitorOptions::default()
    };
    let watch = monitor(
        &settings,
        MonitorFormat::Json,
        options,
        &mut writer,
        std::future::pending::<()>(),
    );
    let scenario = async {
        out.wait_for("two polls", Duration::from_secs(20), |o| {
            o.polls().len() >= 2
        })
        .await;
        // The engines come back.
        broker::start_engines(&url, &ENGINE_QUEUES, 1_500.0).await
    };
    let (end, engines) = tokio::time::timeout(Duration::from_secs(150), async {
        tokio::join!(watch, scenario)
    })
    .await
    .expect("the monitor hung");
    println!("{}", out.text());
    let end = end.expect("the monitor failed");

    match end {
        MonitorEnd::Normal { peak, .. } => assert!(peak >= 2_000, "peak {peak}"),
        other => panic!("expected normal, got {other:?}"),
    }
    assert_eq!(end.exit_code(), 0);
    let objects = out.objects();
    // First the baseline: no consumer anywhere, so every queue is assumed normally empty.
    assert_eq!(objects[0]["event"], "baseline");
    assert_eq!(objects[0]["queues"]["Engine_fifo"]["messages"], 2_000);
    assert_eq!(objects[0]["assumed"].as_array().unwrap().len(), 5);
    let polls = out.polls();
    assert_eq!(polls[0]["verdict"], "waiting_for_consumers");
    assert_eq!(polls[0]["left"], 2_000);
    assert!(polls[0]["waiting_for"]
        .as_array()
        .unwrap()
        .contains(&Value::from("Engine_fifo")));
    // The last object says normal, the backlog drained.
    let last = objects.last().unwrap();
    assert_eq!(last["verdict"], "normal", "{last}");
    assert_eq!(last["left"], 0);
    assert!(last["backlog"].as_u64().unwrap() <= 5 * 20, "{last}");
    for queue in ENGINE_QUEUES {
        assert_eq!(last["queues"][queue]["consumers"], 1, "{last}");
        assert!(last["queues"][queue]["messages"].as_u64().unwrap() <= 20);
    }
    assert!(last["at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .is_ok());
    // Independently: drained.
    let (connection, channel) = broker::channel(&url).await;
    let now = broker::live_figures(&channel, &ENGINE_QUEUES).await;
    connection.close(200, "done").await.unwrap();
    assert!(now.values().all(|q| q.messages <= 20), "{now:?}");
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plain_shows_every_engine_queue_until_stopped() {
    let vhost = VhostGuard::new("mon-plain");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    // Not an engine queue.
    let (connection, channel) = broker::channel(&url).await;
    channel
        .queue_declare(
            "other_queue",
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    connection.close(200, "done").await.unwrap();
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, 500.0).await;

    // The AMQP URL comes from the engines' environment file, as a user that may not use the
    // management API; the management credentials from a file.
    let amqp_user = vhost.user("amqp", "amqp-pass", "");
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("go-engines-vars.conf");
    std::fs::write(
        &env,
        format!(
            "CPS_MONGO_URL=\"mongodb://cpsmongo:canopsis@localhost/canopsis\"\n\
             CPS_AMQP_URL=\"amqp://{}:amqp-pass@{}/{}\"\n",
            broker::encode(&amqp_user),
            broker::AMQP_ADDR,
            broker::encode(&vhost.name)
        ),
    )
    .unwrap();
    let credentials = dir.path().join("rabbitmq-credentials");
    std::fs::write(&credentials, "guest:guest\n").unwrap();
    let settings = from_toml(format!(
        "[install]\nengine_env_file = \"{}\"\n[rabbitmq]\nmanagement_url = \"http://{MANAGEMENT_ADDR}\"\n\
         vhost = \"{}\"\ncredentials_file = \"{}\"\n",
        env.display(),
        vhost.name,
        credentials.display()
    ));

    let out = Shared::default();
    let mut writer = out.clone();
    let options = MonitorOptions {
        interval: Some(Duration::from_millis(200)),
        ..MonitorOptions::default()
    };
    let stop = out.wait_for("four polls", Duration::from_secs(20), |o| {
        o.lines().iter().filter(|l| l.contains(" | ")).count() >= 4
    });
    let end = tokio::time::timeout(
        Duration::from_secs(30),
        monitor(&settings, MonitorFormat::Plain, options, &mut writer, stop),
    )
    .await
    .expect("the monitor hung");
    println!("{}", out.text());
    assert_eq!(end.expect("the monitor failed"), MonitorEnd::Stopped);

    let lines = out.lines();
    assert!(
        lines[0].contains(" baseline: figures at start "),
        "{}",
        lines[0]
    );
    let polls: Vec<&String> = lines.iter().filter(|l| l.contains(" | ")).collect();
    assert!(polls.len() >= 4);
    for line in polls {
        let stamp = line.split(' ').next().unwrap();
        assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{line}");
        assert!(line.contains(" backlog="), "{line}");
        for queue in ENGINE_QUEUES {
            let figures = line
                .split(' ')
                .find_map(|t| t.strip_prefix(&format!("{queue}=")))
                .unwrap_or_else(|| panic!("{queue} missing from {line}"));
            assert!(figures.ends_with("/1"), "{queue}: {line}");
        }
        assert!(!line.contains("other_queue"), "{line}");
    }
    assert!(out.text().contains("| normal"), "{}", out.text());
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queue_whose_engine_never_starts_ends_stuck_naming_it() {
    let vhost = VhostGuard::new("mon-stuck");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    publish_backlog(&url, 300, Some("Engine_axe")).await;
    // Every engine runs but axe.
    let running: Vec<&str> = ENGINE_QUEUES
        .iter()
        .copied()
        .filter(|q| *q != "Engine_axe")
        .collect();
    let engines = broker::start_engines(&url, &running, 500.0).await;

    let settings = settings(&vhost, "tolerance = 10\ndrain_timeout = \"3s\"\n");
    let out = Shared::default();
    let mut writer = out.clone();
    let options = MonitorOptions {
        until_normal: true,
        ..MonitorOptions::default()
    };
    let started = Instant::now();
    let end = tokio::time::timeout(
        Duration::from_secs(30),
        monitor(
            &settings,
            MonitorFormat::Terminal,
            options,
            &mut writer,
            std::future::pending::<()>(),
        ),
    )
    .await
    .expect("the monitor hung")
    .expect("the monitor failed");
    let elapsed = started.elapsed();
    println!("{}", out.text());

    match &end {
        MonitorEnd::Stuck { queues } => {
            let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
            assert_eq!(names, ["Engine_axe"], "{queues:?}");
            assert_eq!(queues[0].messages, 300);
            assert_eq!(queues[0].consumers, 0);
        }
        other => panic!("expected stuck, got {other:?}"),
    }
    assert_eq!(end.exit_code(), 1);
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(12),
        "{elapsed:?}"
    );
    let text = out.text();
    // Redrawn in place: the cursor goes back up over the block.
    assert!(text.contains("\r\x1b["), "no redraw");
    assert!(text.contains("waiting for consumers: Engine_axe"), "{text}");
    assert!(text.contains("assumed empty with a consumer: Engine_axe (no consumer)"));
    // The last block ends with the verdict.
    let last_status = text
        .lines()
        .rev()
        .map(|l| l.trim_end_matches("\x1b[K").trim_end_matches("\x1b[J"))
        .find(|l| !l.is_empty())
        .unwrap()
        .to_owned();
    assert_eq!(last_status, "stuck: Engine_axe 300 messages, 0 consumers");
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn started_before_the_engines_stop_it_waits_for_their_return_and_the_drain() {
    let vhost = VhostGuard::new("mon-manual");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    // Engines far faster than the publisher (20 times), so that they keep up even on a busy
    // machine; the outage's backlog is published at once, a known size.
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, 1_000.0).await;
    let publisher = broker::Publisher::start(&url, 50.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let settings = settings(&vhost, "tolerance = 50\ndrain_timeout = \"120s\"\n");
    let out = Shared::default();
    let mut writer = out.clone();
    // A fixed interval: the adaptive one slows down to 5 s while nothing changes, and could
    // miss an outage this short.
    let options = MonitorOptions {
        until_normal: true,
        interval: Some(Duration::from_millis(300)),
        ..MonitorOptions::default()
    };
    let watch = monitor(
        &settings,
        MonitorFormat::Json,
        options,
        &mut writer,
        std::future::pending::<()>(),
    );
    let scenario = async {
        // Normal as at start: it does not end there.
        out.wait_for("normal before the outage", Duration::from_secs(60), |o| {
            o.polls()
                .iter()
                .filter(|p| p["verdict"] == "normal")
                .count()
                >= 2
        })
        .await;
        // The manual upgrade: the engines stop for a while, then come back.
        broker::stop_engines(engines).await;
        broker::publish_backlog(&url, 600, None).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let restarted = Instant::now();
        (
            broker::start_engines(&url, &ENGINE_QUEUES, 1_000.0).await,
            restarted,
        )
    };
    let (end, (engines, restarted)) = tokio::time::timeout(Duration::from_secs(150), async {
        tokio::join!(watch, scenario)
    })
    .await
    .expect("the monitor hung");
    let ended = Instant::now();
    println!("{}", out.text());
    match end.expect("the monitor failed") {
        MonitorEnd::Normal { peak, drain_time } => {
            assert!(peak >= 300, "peak {peak}");
            assert!(drain_time < Duration::from_secs(30));
        }
        other => panic!("expected normal, got {other:?}"),
    }
    assert!(ended > restarted);
    let polls = out.polls();
    let baseline = &out.objects()[0];
    assert_eq!(baseline["event"], "baseline");
    assert_eq!(baseline["assumed"], serde_json::json!([]));
    let first_normal = polls.iter().position(|p| p["verdict"] == "normal").unwrap();
    assert!(polls[first_normal]["note"]
        .as_str()
        .unwrap()
        .contains("waiting for the engines to stop"));
    let waiting = polls
        .iter()
        .position(|p| p["verdict"] == "waiting_for_consumers")
        .expect("the outage was seen");
    assert!(waiting > first_normal);
    let last = polls.last().unwrap();
    assert_eq!(last["verdict"], "normal");
    assert!(last.get("note").is_none(), "{last}");
    assert!(last["peak"].as_u64().unwrap() >= 300);
    publisher.stop().await;
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_that_goes_away_is_reported_retried_then_given_up_on() {
    let vhost = VhostGuard::new("mon-gone");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, 500.0).await;
    let amqp = Proxy::start(broker::AMQP_ADDR).await;

    let management = Management::new(
        &format!("http://{MANAGEMENT_ADDR}"),
        Credentials::new("guest", "guest"),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut target = WatchTarget::new(vhost.amqp_url_via(&amqp.addr()), vhost.name.clone());
    target.request_timeout = Duration::from_secs(1);
    target.retry_budget = Duration::from_secs(4);
    target.retry_every = Duration::from_millis(300);
    let criteria = DrainCriteria::from_config(&settings(&vhost, "").rabbitmq);
    let out = Shared::default();
    let mut writer = out.clone();
    let options = MonitorOptions {
        interval: Some(Duration::from_millis(500)),
        ..MonitorOptions::default()
    };
    let watch = monitor_target(
        management,
        target,
        criteria,
        MonitorFormat::Json,
        options,
        &mut writer,
        std::future::pending::<()>(),
    );
    let event =
        |name: &'static str| move |o: &Shared| o.objects().iter().any(|v| v["event"] == name);
    let scenario = async {
        out.wait_for("two polls", Duration::from_secs(20), |o| {
            o.polls().len() >= 2
        })
        .await;
        // A short outage: reported, survived.
        amqp.set(ProxyMode::Cut);
        out.wait_for(
            "the outage",
            Duration::from_secs(10),
            event("broker_unreachable"),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        amqp.set(ProxyMode::Forward);
        out.wait_for(
            "the return",
            Duration::from_secs(10),
            event("broker_reachable"),
        )
        .await;
        let polls = out.polls().len();
        out.wait_for("a poll after the return", Duration::from_secs(10), |o| {
            o.polls().len() > polls
        })
        .await;
        // Then it hangs for good: only timeouts can tell.
        amqp.set(ProxyMode::Blackhole);
        Instant::now()
    };
    let (result, cut) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(watch, scenario)
    })
    .await
    .expect("the monitor hung");
    let ended = cut.elapsed();
    println!("{}", out.text());
    let err = result.expect_err("the broker was lost");
    let message = format!("{err:#}");
    println!(
        "ended {:.2} s after the cut: {message}",
        ended.as_secs_f64()
    );
    assert!(message.contains("RabbitMQ unreachable for"), "{message}");
    assert!(message.contains("retry budget 4 s"), "{message}");
    // The budget, plus at most one poll interval and one request before the first failure.
    assert!(
        ended <= Duration::from_millis(4_000 + 500 + 1_000 + 500),
        "{ended:?}"
    );
    let objects = out.objects();
    let last = objects.last().unwrap();
    assert_eq!(last["event"], "broker_lost", "{last}");
    assert!(objects
        .iter()
        .any(|o| o["event"] == "broker_unreachable" && o["retry_left_s"].as_f64().unwrap() <= 4.0));
    assert!(
        !out.text().contains("guest:guest"),
        "a password in the output"
    );
    assert!(!message.contains("guest:guest"), "{message}");
    drop(amqp);
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_unreachable_at_start_fails_at_once_saying_where() {
    let vhost = VhostGuard::new("mon-nobroker");
    broker::declare_topology(&vhost.amqp_url()).await;
    let run = |settings: Settings| async move {
        let started = Instant::now();
        let mut out = Vec::new();
        let result = tokio::time::timeout(
            Duration::from_secs(30),
            monitor(
                &settings,
                MonitorFormat::Plain,
                MonitorOptions::default(),
                &mut out,
                std::future::pending::<()>(),
            ),
        )
        .await
        .expect("the monitor hung");
        let message = format!("{:#}", result.expect_err("no broker"));
        println!("{message}");
        assert!(started.elapsed() < Duration::from_secs(12), "{message}");
        assert!(!message.contains("guest:guest"), "{message}");
        message
    };
    // Nothing listens on port 1.
    let message = run(from_toml(format!(
        "[rabbitmq]\nmanagement_url = \"http://127.0.0.1:1\"\namqp_url = \"{}\"\nvhost = \"{}\"\n",
        vhost.amqp_url(),
        vhost.name
    )))
    .await;
    assert!(
        message.contains("RabbitMQ management API unreachable at http://127.0.0.1:1/"),
        "{message}"
    );
    assert!(message.contains("from rabbitmq.amqp_url"), "{message}");
    let message = run(from_toml(format!(
        "[rabbitmq]\nmanagement_url = \"http://{MANAGEMENT_ADDR}\"\namqp_url = \"{}\"\nvhost = \"{}\"\n",
        vhost.amqp_url_via("127.0.0.1:1"),
        vhost.name
    )))
    .await;
    assert!(
        message.contains("RabbitMQ (AMQP) unreachable at amqp://guest:***@127.0.0.1:1/"),
        "{message}"
    );
}
