//! The real RabbitMQ of the machine (127.0.0.1:5672, management on 15672, guest/guest), shaped
//! like a Canopsis install: a private vhost per test (deleted by a Drop guard, even when the
//! test panics), the Canopsis topology, a steady publisher, "engines" that consume at a given
//! rate and can be stopped and started, an independent observer of the live queue depths, and
//! a TCP proxy that can be cut to make the broker "disappear" without touching it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canopsis_upgrade::rabbitmq::QueueSample;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

/// The broker's AMQP address.
pub const AMQP_ADDR: &str = "127.0.0.1:5672";
/// The management API's address.
pub const MANAGEMENT_ADDR: &str = "127.0.0.1:15672";
/// The exchange every event goes to.
pub const EXCHANGE: &str = "canopsis.events";
/// The Community engine queues the tests declare.
pub const ENGINE_QUEUES: [&str; 5] = [
    "Engine_fifo",
    "Engine_che",
    "Engine_axe",
    "Engine_action",
    "FIFO_ack",
];

/// `name` as one URL path segment.
pub fn encode(name: &str) -> String {
    canopsis_upgrade::rabbitmq::management::encode_segment(name)
}

/// One management API call as guest, run on a private thread and runtime so it works from
/// sync code, async code and Drop alike. The status code.
pub fn admin(method: &str, path: &str, body: Option<serde_json::Value>) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let url = format!("http://{MANAGEMENT_ADDR}{path}");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut request = client
                .request(method, &url)
                .basic_auth("guest", Some("guest"));
            if let Some(body) = body {
                request = request.json(&body);
            }
            match request.send().await {
                Ok(response) => response.status().as_u16(),
                Err(e) => panic!("management API {url}: {e}"),
            }
        })
    })
    .join()
    .unwrap()
}

/// A vhost of its own, guest allowed everything in it; deleted (with the users created
/// through it) when dropped.
pub struct VhostGuard {
    pub name: String,
    users: Mutex<Vec<String>>,
}

impl VhostGuard {
    /// A fresh vhost named after `label`.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "cu-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let status = admin("PUT", &format!("/api/vhosts/{}", encode(&name)), None);
        assert!(
            status == 201 || status == 204,
            "creating vhost {name}: HTTP {status}"
        );
        let guard = Self {
            name,
            users: Mutex::new(Vec::new()),
        };
        guard.grant("guest");
        guard
    }

    /// Gives `user` every permission on the vhost.
    pub fn grant(&self, user: &str) {
        let status = admin(
            "PUT",
            &format!("/api/permissions/{}/{}", encode(&self.name), encode(user)),
            Some(serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"})),
        );
        assert!(status == 201 || status == 204, "permissions: HTTP {status}");
    }

    /// A user with `tags`, allowed on this vhost only; deleted with the vhost.
    pub fn user(&self, name: &str, password: &str, tags: &str) -> String {
        let user = format!("{}-{name}", self.name);
        let status = admin(
            "PUT",
            &format!("/api/users/{}", encode(&user)),
            Some(serde_json::json!({"password": password, "tags": tags})),
        );
        assert!(status == 201 || status == 204, "user: HTTP {status}");
        self.users.lock().unwrap().push(user.clone());
        self.grant(&user);
        user
    }

    /// The AMQP URL of the vhost as guest, through `addr` (host:port).
    pub fn amqp_url_via(&self, addr: &str) -> String {
        format!("amqp://guest:guest@{addr}/{}", encode(&self.name))
    }

    /// The AMQP URL of the vhost as guest.
    pub fn amqp_url(&self) -> String {
        self.amqp_url_via(AMQP_ADDR)
    }
}

impl Drop for VhostGuard {
    fn drop(&mut self) {
        let status = admin(
            "DELETE",
            &format!("/api/vhosts/{}", encode(&self.name)),
            None,
        );
        if status != 204 && status != 404 {
            eprintln!("could not delete vhost {}: HTTP {status}", self.name);
        }
        for user in self.users.lock().unwrap().drain(..) {
            admin("DELETE", &format!("/api/users/{}", encode(&user)), None);
        }
    }
}

/// A connection and a channel on it.
pub async fn channel(url: &str) -> (Connection, Channel) {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("AMQP connection: {e}"));
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

/// Declares the Canopsis topology: the topic exchange `canopsis.events`, the engine queues
/// (durable), Engine_fifo bound to the exchange with `#`.
pub async fn declare_topology(url: &str) {
    let (connection, channel) = channel(url).await;
    channel
        .exchange_declare(
            EXCHANGE,
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    for queue in ENGINE_QUEUES {
        channel
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
    }
    channel
        .queue_bind(
            "Engine_fifo",
            EXCHANGE,
            "#",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    connection.close(200, "done").await.unwrap();
}

/// Paces a loop at `rate` per second, without bursting to catch up after a long pause.
struct Pace {
    start: Instant,
    rate: f64,
    done: u64,
}

impl Pace {
    fn new(rate: f64) -> Self {
        Self {
            start: Instant::now(),
            rate,
            done: 0,
        }
    }

    async fn tick(&mut self) {
        let due = self.start + Duration::from_secs_f64(self.done as f64 / self.rate);
        let now = Instant::now();
        // Sleeping only when ahead by more than the timer's resolution keeps the average rate
        // right (a sleep per message would round each one up to the next millisecond).
        if due > now + Duration::from_millis(2) {
            sleep_until(due).await;
        } else if now - due > Duration::from_millis(100) {
            // Idle for a while: do not make up for it with a burst.
            self.start = now - Duration::from_secs_f64(self.done as f64 / self.rate);
        }
        self.done += 1;
    }
}

/// Publishes events to `canopsis.events` at a steady rate until stopped or dropped.
pub struct Publisher {
    task: JoinHandle<()>,
    connection: Connection,
    pub published: Arc<AtomicU64>,
}

impl Publisher {
    /// Starts publishing `rate` events per second.
    pub async fn start(url: &str, rate: f64) -> Self {
        let (connection, channel) = channel(url).await;
        let published = Arc::new(AtomicU64::new(0));
        let count = published.clone();
        let task = tokio::spawn(async move {
            let mut pace = Pace::new(rate);
            loop {
                pace.tick().await;
                let n = count.fetch_add(1, Ordering::Relaxed);
                let body = format!(r#"{{"event_type":"check","component":"c{n}","state":1}}"#);
                if channel
                    .basic_publish(
                        EXCHANGE,
                        "check.resource",
                        BasicPublishOptions::default(),
                        body.as_bytes(),
                        BasicProperties::default(),
                    )
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        Self {
            task,
            connection,
            published,
        }
    }

    /// Stops publishing.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.connection.close(200, "done").await;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Publishes `n` events at once to `canopsis.events` (routed to Engine_fifo), or straight to
/// `queue`, with publisher confirms, and waits until the broker counts them: a backlog of a
/// known size, whatever the machine's speed.
pub async fn publish_backlog(url: &str, n: u64, queue: Option<&str>) {
    let (connection, channel) = channel(url).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let (exchange, key) = match queue {
        Some(q) => ("", q),
        None => (EXCHANGE, "check.resource"),
    };
    let mut confirms = Vec::new();
    for i in 0..n {
        let body = format!(r#"{{"event_type":"check","component":"backlog{i}","state":1}}"#);
        confirms.push(
            channel
                .basic_publish(
                    exchange,
                    key,
                    BasicPublishOptions::default(),
                    body.as_bytes(),
                    BasicProperties::default(),
                )
                .await
                .unwrap(),
        );
    }
    for confirm in confirms {
        confirm.await.unwrap();
    }
    connection.close(200, "done").await.unwrap();
}

/// Waits (up to `limit`) until `queue` holds at least `n` messages; panics with the figures.
pub async fn wait_depth(url: &str, queue: &str, n: u64, limit: Duration) {
    let (connection, channel) = channel(url).await;
    let deadline = Instant::now() + limit;
    loop {
        let figures = live_figures(&channel, &[queue]).await;
        if figures[queue].messages >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backlog not counted: {figures:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = connection.close(200, "done").await;
}

/// One engine: a consumer of a queue at a given rate (prefetch and ack), forwarding each
/// message to the next queues, like the Canopsis engine chain.
pub struct Engine {
    pub queue: String,
    task: JoinHandle<()>,
    connection: Connection,
    pub consumed: Arc<AtomicU64>,
}

impl Engine {
    /// Starts consuming `queue` at `rate` messages per second; returns once the consumer is
    /// registered (the broker counts it).
    pub async fn start(url: &str, queue: &str, rate: f64, forward: &[&str]) -> Self {
        let (connection, channel) = channel(url).await;
        channel
            .basic_qos(50, BasicQosOptions::default())
            .await
            .unwrap();
        let mut consumer = channel
            .basic_consume(
                queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumed = Arc::new(AtomicU64::new(0));
        let count = consumed.clone();
        let forward: Vec<String> = forward.iter().map(|q| q.to_string()).collect();
        let task = tokio::spawn(async move {
            let mut pace = Pace::new(rate);
            while let Some(Ok(delivery)) = consumer.next().await {
                pace.tick().await;
                for next in &forward {
                    if channel
                        .basic_publish(
                            "",
                            next,
                            BasicPublishOptions::default(),
                            &delivery.data,
                            BasicProperties::default(),
                        )
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                if delivery.ack(BasicAckOptions::default()).await.is_err() {
                    return;
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self {
            queue: queue.to_owned(),
            task,
            connection,
            consumed,
        }
    }

    /// Stops it like a stopped engine: its connection closes, unacknowledged messages go back
    /// to the queue, the queue loses its consumer.
    pub async fn stop(self) {
        self.task.abort();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.connection.close(200, "engine stopped"),
        )
        .await;
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Canopsis chain: fifo -> che -> axe -> action, axe also acking to FIFO_ack.
pub fn chain(queue: &str) -> &'static [&'static str] {
    match queue {
        "Engine_fifo" => &["Engine_che"],
        "Engine_che" => &["Engine_axe"],
        "Engine_axe" => &["Engine_action", "FIFO_ack"],
        _ => &[],
    }
}

/// Starts the engines of `queues`, each at `rate`.
pub async fn start_engines(url: &str, queues: &[&str], rate: f64) -> Vec<Engine> {
    let mut engines = Vec::new();
    for queue in queues {
        engines.push(Engine::start(url, queue, rate, chain(queue)).await);
    }
    engines
}

/// Stops every engine.
pub async fn stop_engines(engines: Vec<Engine>) {
    for engine in engines {
        engine.stop().await;
    }
}

/// Live figures of `queues` with a passive declare, on a connection of its own (independent
/// of the code under test).
pub async fn live_figures(channel: &Channel, queues: &[&str]) -> BTreeMap<String, QueueSample> {
    let mut figures = BTreeMap::new();
    for queue in queues {
        let q = channel
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        figures.insert(
            queue.to_string(),
            QueueSample {
                messages: u64::from(q.message_count()),
                consumers: q.consumer_count(),
            },
        );
    }
    figures
}

/// One observation of the independent observer.
pub type Observation = (Instant, BTreeMap<String, QueueSample>);

/// Polls the live figures of the engine queues every `every`, on its own connection, keeping
/// the timeline.
pub struct Observer {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
    timeline: Arc<Mutex<Vec<Observation>>>,
}

impl Observer {
    /// Starts observing.
    pub async fn start(url: &str, every: Duration) -> Self {
        let (connection, channel) = channel(url).await;
        let timeline = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let record = timeline.clone();
        let task = tokio::spawn(async move {
            let mut next = Instant::now();
            loop {
                let at = Instant::now();
                let figures = live_figures(&channel, &ENGINE_QUEUES).await;
                record.lock().unwrap().push((at, figures));
                next += every;
                tokio::select! {
                    _ = sleep_until(next) => {}
                    _ = stopped.changed() => break,
                }
            }
            let _ = connection.close(200, "done").await;
        });
        Self {
            task,
            stop,
            timeline,
        }
    }

    /// Stops and returns the timeline.
    pub async fn stop(self) -> Vec<Observation> {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let timeline = self.timeline.lock().unwrap().clone();
        timeline
    }
}

/// What a [`Proxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forwards both ways.
    Forward,
    /// Closes every connection, and new ones as soon as accepted (a broker that is gone).
    Cut,
    /// Keeps connections open but forwards nothing (a broker that hangs, or a network
    /// partition).
    Blackhole,
}

/// A TCP proxy on 127.0.0.1 in front of `upstream`, that the test can cut.
pub struct Proxy {
    pub port: u16,
    mode: watch::Sender<ProxyMode>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding to `upstream` (host:port).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, modes) = watch::channel(ProxyMode::Forward);
        let upstream = upstream.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, upstream.clone(), modes.clone()));
            }
        });
        Self { port, mode, task }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Changes what it does, for existing and new connections.
    pub fn set(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(ProxyMode::Cut);
    }
}

async fn relay(mut inbound: TcpStream, upstream: String, mut modes: watch::Receiver<ProxyMode>) {
    let mode = *modes.borrow_and_update();
    match mode {
        ProxyMode::Cut => return,
        // Hold the connection, silent, until the mode changes.
        ProxyMode::Blackhole => {
            let _ = modes.changed().await;
            return;
        }
        ProxyMode::Forward => {}
    }
    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {
                let _ = inbound.shutdown().await;
                return;
            }
            changed = modes.changed() => {
                if changed.is_err() {
                    return;
                }
                let mode = *modes.borrow_and_update();
                match mode {
                    ProxyMode::Forward => continue,
                    ProxyMode::Cut => return,
                    ProxyMode::Blackhole => {
                        let _ = modes.changed().await;
                        return;
                    }
                }
            }
        }
    }
}
