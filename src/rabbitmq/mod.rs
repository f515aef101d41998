//! RabbitMQ: the management API client, live queue counts over AMQP, and the drain monitor
//! that decides when the backlog piled up during the outage is gone.
//!
//! The management API finds the engine queues and gives rates; its figures are refreshed only
//! every 5 s, so the drain verdict uses live counts (passive `queue.declare`) instead.

pub mod drain;
pub mod live;
pub mod management;
pub mod watch;

pub use drain::{
    preflight_check, AbnormalBacklog, Baseline, DrainMonitor, PollPlan, QueueSample, Sample,
    Settings, StuckQueue, Tolerance, Verdict, VerdictKind,
};
pub use live::{LiveCounter, LiveError};
pub use management::{
    Credentials, CredentialsError, Management, ManagementError, Overview, QueueInfo, Rates,
};
pub use watch::{watch_drain, DrainReport, QueueSelection, WatchError, WatchTarget, Watcher};
