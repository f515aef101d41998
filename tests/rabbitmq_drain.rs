//! The drain watch against the machine's real RabbitMQ: a Canopsis-shaped vhost of its own per
//! test, a steady publisher, engines that stop and come back, an independent observer of the
//! live depths, and a TCP proxy to make the broker disappear. `--nocapture` shows the figures
//! measured (detection latency, requests per minute).

use canopsis_upgrade_test_support::broker;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{Proxy, ProxyMode, VhostGuard, ENGINE_QUEUES, MANAGEMENT_ADDR};
use canopsis_upgrade::rabbitmq::{
    Baseline, Credentials, DrainCriteria, DrainMonitor, LiveCounter, Management, ManagementError,
    PollPlan, Tolerance, WatchError, WatchTarget, Watcher,
};
use tokio::time::Instant;

// Engines far faster than the publisher (16 times): they keep up, and drain, even on a busy
// machine. The outages' backlogs are published at once, of a known size.
const PUBLISH_RATE: f64 = 50.0;
const ENGINE_RATE: f64 = 800.0;
/// The backlog published while the engines are down.
const OUTAGE_BACKLOG: u64 = 2_000;

fn management_via(addr: &str) -> Management {
    Management::new(
        &format!("http://{addr}"),
        Credentials::new("guest", "guest"),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn watcher(vhost: &VhostGuard, amqp_addr: &str, management_addr: &str) -> Watcher {
    let mut target = WatchTarget::new(vhost.amqp_url_via(amqp_addr), vhost.name.clone());
    target.request_timeout = Duration::from_secs(2);
    target.retry_budget = Duration::from_secs(10);
    target.retry_every = Duration::from_millis(500);
    Watcher::new(management_via(management_addr), target)
}

fn criteria(timeout: Duration) -> DrainCriteria {
    DrainCriteria {
        tolerance: Tolerance {
            absolute: 50,
            relative: 0.1,
        },
        hold_samples: 3,
        timeout,
        rate_window: Duration::from_secs(2),
        ..DrainCriteria::default()
    }
}

/// Collects status lines with the time they were reported.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<(Instant, String)>>>);

impl Lines {
    fn sink(&self) -> impl FnMut(&str) + Send + 'static {
        let lines = self.0.clone();
        move |line: &str| {
            println!("  status: {line}");
            lines
                .lock()
                .unwrap()
                .push((Instant::now(), line.to_owned()));
        }
    }

    fn all(&self) -> Vec<(Instant, String)> {
        self.0.lock().unwrap().clone()
    }

    fn any(&self, needle: &str) -> bool {
        self.all().iter().any(|(_, l)| l.contains(needle))
    }
}

/// Whether every engine queue is within tolerance of its baseline with its consumers back.
fn normal(
    baseline: &Baseline,
    tolerance: &Tolerance,
    figures: &std::collections::BTreeMap<String, canopsis_upgrade::rabbitmq::QueueSample>,
) -> bool {
    baseline.queues.iter().all(|(name, base)| {
        figures.get(name).is_some_and(|now| {
            now.messages <= base.messages + tolerance.allowed(base.messages)
                && now.consumers >= base.consumers
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_return_to_normal_is_declared_only_once_really_drained() {
    let vhost = VhostGuard::new("drain");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    let publisher = broker::Publisher::start(&url, PUBLISH_RATE).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let watcher = watcher(&vhost, broker::AMQP_ADDR, MANAGEMENT_ADDR);
    let baseline = watcher.baseline().await.unwrap();
    println!("baseline: {:?}", baseline.queues);
    assert_eq!(baseline.queues.len(), 5);
    assert!(baseline.queues.values().all(|q| q.consumers == 1));

    // The engines stop: the backlog piles up in Engine_fifo.
    broker::stop_engines(engines).await;
    let observer = broker::Observer::start(&url, Duration::from_millis(20)).await;
    let criteria = criteria(Duration::from_secs(120));
    let tolerance = criteria.tolerance;
    let min_interval = Duration::from_millis(250);
    let plan = PollPlan::new(min_interval, Duration::from_secs(2));
    let lines = Lines::default();
    let monitor = DrainMonitor::new(baseline.clone(), criteria);
    let sink = lines.sink();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(180);
        watcher.watch_drain(monitor, plan, sink, deadline).await
    });
    broker::publish_backlog(&url, OUTAGE_BACKLOG, None).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    // The engines come back and drain it.
    let restarted = Instant::now();
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    let report = watch.await.unwrap().expect("back to normal");

    // Independently, right at the verdict: every queue within tolerance.
    let verdict_at = lines
        .all()
        .iter()
        .find(|(_, l)| l.starts_with("back to normal"))
        .expect("a final status line")
        .0;
    let (connection, channel) = broker::channel(&url).await;
    let at_verdict = broker::live_figures(&channel, &ENGINE_QUEUES).await;
    connection.close(200, "done").await.unwrap();
    println!("depths at the verdict: {at_verdict:?}");
    assert!(normal(&baseline, &tolerance, &at_verdict));

    let timeline = observer.stop().await;
    let fifo_peak = timeline
        .iter()
        .map(|(_, f)| f["Engine_fifo"].messages)
        .max()
        .unwrap();
    assert!(
        fifo_peak > 1_000,
        "the backlog grew while the engines were stopped: {fifo_peak}"
    );
    // The first time, after the restart, the observer saw every queue back within tolerance.
    let drained_at = timeline
        .iter()
        .find(|(at, f)| *at >= restarted && normal(&baseline, &tolerance, f))
        .expect("the observer saw the drain")
        .0;
    let latency = verdict_at.saturating_duration_since(drained_at);
    assert!(
        verdict_at >= drained_at,
        "the verdict came before the queues really drained"
    );

    // The watch saw the outage, then the drain with an ETA, then the return to normal.
    assert!(lines.any("waiting for consumers on"), "no outage seen");
    assert!(
        lines
            .all()
            .iter()
            .any(|(_, l)| l.starts_with("draining:") && !l.contains("ETA unknown")),
        "no drain with an ETA seen"
    );
    assert!(report.peak >= 1_000, "{report:?}");
    assert!(report.drain_time > Duration::ZERO);

    println!(
        "MEASURED drain: peak {} messages, drained in {:.2} s at {:.0} msg/s net, \
         {} samples, {} requests, {:.0} requests/min over {:.1} s",
        report.peak,
        report.drain_time.as_secs_f64(),
        report.rate.unwrap_or(0.0),
        report.samples,
        report.requests,
        report.requests_per_minute,
        report.watched.as_secs_f64()
    );
    println!(
        "MEASURED detection latency: {:.3} s (observer saw the drain -> verdict; \
         poll interval {} ms, hold 3)",
        latency.as_secs_f64(),
        min_interval.as_millis()
    );
    // Counted in samples, not in seconds (a busy machine polls late, not less often): the
    // samples after the observer saw the drain are the hold's, plus the one under way.
    let samples_to_verdict = lines
        .all()
        .iter()
        .filter(|(at, l)| *at > drained_at && *at <= verdict_at && !l.starts_with("RabbitMQ"))
        .count();
    assert!(
        samples_to_verdict <= 3 + 1,
        "{samples_to_verdict} samples from the drain to the verdict (latency {latency:?})"
    );

    publisher.stop().await;
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_that_never_comes_back_ends_stuck_naming_its_queue() {
    let vhost = VhostGuard::new("stuck");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    let publisher = broker::Publisher::start(&url, PUBLISH_RATE).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let watcher = watcher(&vhost, broker::AMQP_ADDR, MANAGEMENT_ADDR);
    let baseline = watcher.baseline().await.unwrap();
    broker::stop_engines(engines).await;
    let lines = Lines::default();
    let monitor = DrainMonitor::new(baseline, criteria(Duration::from_secs(6)));
    let sink = lines.sink();
    let started = Instant::now();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(60);
        watcher
            .watch_drain(monitor, PollPlan::default(), sink, deadline)
            .await
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every engine comes back but axe.
    let back: Vec<&str> = ENGINE_QUEUES
        .iter()
        .copied()
        .filter(|q| *q != "Engine_axe")
        .collect();
    let engines = broker::start_engines(&url, &back, ENGINE_RATE).await;

    let err = watch.await.unwrap().unwrap_err();
    let elapsed = started.elapsed();
    println!("stuck after {:.1} s: {err}", elapsed.as_secs_f64());
    match &err {
        WatchError::Stuck(queues) => {
            let names: Vec<_> = queues.iter().map(|q| q.name.as_str()).collect();
            assert_eq!(names, ["Engine_axe"], "{queues:?}");
            assert_eq!(queues[0].consumers, 0);
            assert!(queues[0].messages > 0);
        }
        other => panic!("expected Stuck, got {other}"),
    }
    assert!(err.to_string().contains("Engine_axe"));
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(15),
        "{elapsed:?}"
    );
    publisher.stop().await;
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_that_disappears_ends_the_watch_within_its_retry_budget() {
    let vhost = VhostGuard::new("gone");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    let publisher = broker::Publisher::start(&url, PUBLISH_RATE).await;
    let amqp = Proxy::start(broker::AMQP_ADDR).await;
    let http = Proxy::start(MANAGEMENT_ADDR).await;

    let mut watcher = watcher(&vhost, &amqp.addr(), &http.addr());
    let baseline = watcher.baseline().await.unwrap();
    broker::stop_engines(engines).await;
    // Rebuild with a short budget: 1 s per request, 3 s of unreachability at most.
    let mut target = watcher.target().clone();
    target.request_timeout = Duration::from_secs(1);
    target.retry_budget = Duration::from_secs(3);
    watcher = Watcher::new(management_via(&http.addr()), target);

    let lines = Lines::default();
    let monitor = DrainMonitor::new(baseline, criteria(Duration::from_secs(60)));
    let sink = lines.sink();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(60);
        watcher
            .watch_drain(monitor, PollPlan::default(), sink, deadline)
            .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The broker hangs: connections stay open, nothing comes back (the worst case: only
    // timeouts can tell).
    let cut = Instant::now();
    amqp.set(ProxyMode::Blackhole);
    http.set(ProxyMode::Blackhole);

    let result = tokio::time::timeout(Duration::from_secs(20), watch)
        .await
        .expect("the watch hung")
        .unwrap();
    let ended = cut.elapsed();
    let err = result.unwrap_err();
    println!(
        "MEASURED broker loss: watch ended {:.2} s after the cut (budget 3 s, request \
         timeout 1 s): {err}",
        ended.as_secs_f64()
    );
    assert!(matches!(err, WatchError::BrokerLost { .. }), "{err}");
    assert!(
        lines.any("RabbitMQ unreachable for"),
        "the outage was reported"
    );
    // The budget, plus at most one poll interval before the first failed poll started.
    assert!(
        ended <= Duration::from_millis(3_000 + 500 + 500),
        "{ended:?}"
    );
    assert!(!err.to_string().contains("guest:guest"), "{err}");
    publisher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_broker_outage_is_reported_and_survived() {
    let vhost = VhostGuard::new("blip");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    let publisher = broker::Publisher::start(&url, PUBLISH_RATE).await;
    let amqp = Proxy::start(broker::AMQP_ADDR).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let watcher = watcher(&vhost, &amqp.addr(), MANAGEMENT_ADDR);
    let baseline = watcher.baseline().await.unwrap();
    broker::stop_engines(engines).await;
    let lines = Lines::default();
    let monitor = DrainMonitor::new(baseline, criteria(Duration::from_secs(120)));
    let sink = lines.sink();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(180);
        watcher
            .watch_drain(monitor, PollPlan::default(), sink, deadline)
            .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The broker's connections drop and it refuses new ones for 2 s.
    amqp.set(ProxyMode::Cut);
    tokio::time::sleep(Duration::from_secs(2)).await;
    amqp.set(ProxyMode::Forward);
    let engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;

    let report = tokio::time::timeout(Duration::from_secs(200), watch)
        .await
        .expect("the watch hung")
        .unwrap()
        .expect("back to normal after the blip");
    println!("after a 2 s broker outage: {report:?}");
    assert_eq!(report.outages, 1);
    assert!(lines.any("RabbitMQ unreachable for"));
    assert!(lines.any("RabbitMQ reachable again after"));
    publisher.stop().await;
    broker::stop_engines(engines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_client_reads_idle_queues_and_empty_totals() {
    let vhost = VhostGuard::new("idle");
    broker::declare_topology(&vhost.amqp_url()).await;
    let management = management_via(MANAGEMENT_ADDR);

    // Right after the declaration, the figures may not even be collected yet; either way,
    // idle queues have no message_stats.
    let queues = management.queues(&vhost.name).await.unwrap();
    let mut names: Vec<_> = queues.iter().map(|q| q.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Engine_action",
            "Engine_axe",
            "Engine_che",
            "Engine_fifo",
            "FIFO_ack"
        ]
    );
    for queue in &queues {
        assert!(queue.message_stats.is_none(), "{queue:?}");
        assert_eq!(queue.rates(), Default::default());
        assert_eq!(queue.sample().messages, 0);
        assert!(!queue.is_transient());
    }

    // A management user that sees only an empty vhost gets `queue_totals: {}`.
    let empty = VhostGuard::new("empty");
    let user = empty.user("viewer", "viewer-pw", "management");
    let viewer = Management::new(
        &format!("http://{MANAGEMENT_ADDR}"),
        Credentials::new(user, "viewer-pw"),
        Duration::from_secs(5),
    )
    .unwrap();
    let overview = viewer.overview().await.unwrap();
    println!("overview as a viewer of an empty vhost: {overview:?}");
    assert_eq!(overview.queue_totals, Some(Default::default()));
    assert_eq!(overview.rates(), Default::default());
    assert_eq!(overview.management_version.as_deref(), Some("3.10.8"));

    // A vhost that does not exist: the status and the body's reason.
    let err = management
        .queues("cu-test-no-such-vhost")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ManagementError::Status { status: 404, ref reason, .. } if reason.as_deref() == Some("Not Found")),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("cu-test-no-such-vhost: HTTP 404: Not Found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_a_clear_error_that_never_shows_the_password() {
    const SECRET: &str = "wr0ng-s3cret-pw";
    let vhost = VhostGuard::new("auth");
    let management = Management::new(
        &format!("http://{MANAGEMENT_ADDR}"),
        Credentials::new("guest", SECRET),
        Duration::from_secs(5),
    )
    .unwrap();
    let err = management.queues(&vhost.name).await.unwrap_err();
    println!("401: {err}");
    assert!(matches!(err, ManagementError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("401") && err.to_string().contains("guest"));

    // Unreachable (nothing listens there) and a bad URL with a password in it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = Management::new(
        &format!("http://guest:{SECRET}@127.0.0.1:{port}"),
        Credentials::new("guest", SECRET),
        Duration::from_secs(2),
    )
    .unwrap();
    let unreachable = nowhere.overview().await.unwrap_err();
    println!("unreachable: {unreachable}");
    assert!(matches!(unreachable, ManagementError::Unreachable { .. }));
    let bad_url = Management::new(
        &format!("ftp://guest:{SECRET}@host"),
        Credentials::new("guest", SECRET),
        Duration::from_secs(2),
    )
    .unwrap_err();

    // AMQP with the wrong password, and with nothing listening.
    let wrong_amqp = LiveCounter::connect(
        &format!(
            "amqp://guest:{SECRET}@{}/{}",
            broker::AMQP_ADDR,
            broker::encode(&vhost.name)
        ),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    println!("AMQP refused: {wrong_amqp}");
    let no_amqp = LiveCounter::connect(
        &format!("amqp://guest:{SECRET}@127.0.0.1:{port}/x"),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    println!("AMQP unreachable: {no_amqp}");

    for text in [
        err.to_string(),
        format!("{err:?}"),
        unreachable.to_string(),
        format!("{unreachable:?}"),
        bad_url.to_string(),
        format!("{bad_url:?}"),
        wrong_amqp.to_string(),
        format!("{wrong_amqp:?}"),
        no_amqp.to_string(),
        format!("{no_amqp:?}"),
        format!("{management:?}"),
        format!("{nowhere:?}"),
    ] {
        assert!(!text.contains(SECRET), "the password leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_counts_are_immediate_and_a_missing_queue_is_reported() {
    let vhost = VhostGuard::new("live");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let mut counter = LiveCounter::connect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(counter.count("no-such-queue").await.unwrap(), None);
    // The channel the broker closed was replaced: the counter still works.
    let before = counter.count("Engine_fifo").await.unwrap().unwrap();
    assert_eq!(before.messages, 0);

    broker::publish_backlog(&url, 300, None).await;
    let started = Instant::now();
    let live = counter.count("Engine_fifo").await.unwrap().unwrap();
    let took = started.elapsed();
    let management = management_via(MANAGEMENT_ADDR);
    let stale = management
        .queues(&vhost.name)
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.name == "Engine_fifo")
        .unwrap();
    println!(
        "MEASURED live count {} in {:.1} ms; the management API said {:?} at the same time",
        live.messages,
        took.as_secs_f64() * 1_000.0,
        stale.messages
    );
    assert!(live.messages >= 200, "{live:?}");
    assert_eq!(
        counter
            .count_all(&["Engine_fifo".into(), "gone".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(counter.is_connected());
    counter.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_an_abnormal_backlog() {
    let vhost = VhostGuard::new("preflight");
    let url = vhost.amqp_url();
    broker::declare_topology(&url).await;
    let watcher = watcher(&vhost, broker::AMQP_ADDR, MANAGEMENT_ADDR);
    let mut engines = broker::start_engines(&url, &ENGINE_QUEUES, ENGINE_RATE).await;
    watcher.preflight(100).await.unwrap();

    // The fifo engine is down and events pile up in its queue.
    let fifo = engines.remove(0);
    assert_eq!(fifo.queue, "Engine_fifo");
    fifo.stop().await;
    broker::publish_backlog(&url, 500, None).await;
    let err = watcher.preflight(100).await.unwrap_err();
    println!("preflight: {err}");
    match &err {
        WatchError::Abnormal(abnormal) => {
            assert_eq!(abnormal.without_consumers, ["Engine_fifo"]);
            assert_eq!(abnormal.over_threshold.len(), 1);
            assert_eq!(abnormal.over_threshold[0].0, "Engine_fifo");
            assert!(abnormal.over_threshold[0].1 > 100);
        }
        other => panic!("expected Abnormal, got {other}"),
    }
    broker::stop_engines(engines).await;
}

#[test]
fn the_vhost_is_deleted_even_when_the_test_panics() {
    let name = Arc::new(Mutex::new(String::new()));
    let seen = name.clone();
    let outcome = std::panic::catch_unwind(move || {
        let vhost = VhostGuard::new("panics");
        *seen.lock().unwrap() = vhost.name.clone();
        assert_eq!(
            broker::admin(
                "GET",
                &format!("/api/vhosts/{}", broker::encode(&vhost.name)),
                None
            ),
            200
        );
        panic!("intentional panic, to check that the guard deletes the vhost");
    });
    assert!(outcome.is_err());
    let name = name.lock().unwrap().clone();
    assert_eq!(
        broker::admin(
            "GET",
            &format!("/api/vhosts/{}", broker::encode(&name)),
            None
        ),
        404,
        "vhost {name} left behind"
    );
}
