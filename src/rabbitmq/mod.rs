//! RabbitMQ: the broker connection of the configuration, the management API client, live
//! queue counts over AMQP, the one poller of the engine queues, and the pure drain verdicts
//! that decide when the backlog piled up during the outage is gone.
//!
//! The management API finds the engine queues and gives rates; its figures are refreshed only
//! every 5 s, so the drain verdict uses live counts (passive `queue.declare`) instead.

pub mod connection;
pub mod drain;
pub mod judge;
pub mod live;
pub mod management;
pub mod poller;
pub mod rate;
pub mod watch;

pub use drain::{
    preflight_check, AbnormalBacklog, Baseline, DrainCriteria, DrainMonitor, PollPlan, QueueSample,
    Sample, StuckQueue, Tolerance, Verdict, VerdictKind,
};
pub use judge::{initial_baseline, Assumed, DrainJudge};
pub use live::{LiveCounter, LiveError};
pub use management::{
    Credentials, CredentialsError, Management, ManagementError, Overview, QueueInfo, Rates,
};
pub use poller::{BrokerEvent, Figures, PollEnd, Poller};
pub use rate::RateSmoother;
pub use watch::{DrainReport, QueueSelection, WatchError, WatchTarget, Watcher};
