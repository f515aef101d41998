//! What the integration tests of canopsis-upgrade share, compiled once: each test binary uses
//! the modules it needs as `canopsis_upgrade_test_support::<module>`.
//!
//! - [`sdsandbox`]: a real systemd as PID 1 of private namespaces (needs root);
//! - [`canopsis`]: a simulated Canopsis package install in such a sandbox, the daemon in it;
//! - [`fake_canopsis`]: the Canopsis REST API, as its contract says;
//! - [`broker`]: a private vhost of the real RabbitMQ, publishers and queue readers;
//! - [`engines`]: engine stand-ins that consume the queues;
//! - [`live_executor`]: the live executor alone, for database actions;
//! - [`site`]: a private config directory and the built binary run with it.

pub mod broker;
pub mod canopsis;
pub mod engines;
pub mod fake_canopsis;
pub mod live_executor;
pub mod sdsandbox;
pub mod site;
