//! canopsis-upgrade: an upgrade daemon for Canopsis. See DESIGN in the README for the pipeline.

pub mod action;
pub mod apidoc;
pub mod canopsis;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod detect;
/// Moved to `systemd::envfile`; this path stays until src/monitor.rs reads the engines' file
/// through `install::EngineEnv`.
pub use systemd::envfile;
pub mod executor;
mod fsutil;
pub mod idle;
pub mod install;
pub mod journal;
pub mod lock;
pub mod monitor;
pub mod notify;
pub mod plan;
pub mod policy;
pub mod procedure;
pub mod rabbitmq;
pub mod report;
pub mod systemd;
mod text;
pub mod tomlfile;
pub mod upgrade;
pub mod version;
pub mod window;
