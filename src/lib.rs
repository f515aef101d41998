//! canopsis-upgrade: an upgrade daemon for Canopsis. ARCHITECTURE.md has the module tree and
//! the pipeline of one upgrade. The binary runs [`cli::main`]; the public modules are those the
//! binary, the benches and the integration tests use, the rest stays inside the crate.
#![deny(missing_docs)]

pub mod action;
mod apidoc;
pub mod canopsis;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod executor;
pub mod install;
pub mod journal;
pub mod lock;
pub mod monitor;
pub mod plan;
mod policy;
pub mod procedure;
pub mod rabbitmq;
mod support;
pub mod systemd;
mod tomlfile;
pub mod upgrade;
pub mod version;
pub mod window;
