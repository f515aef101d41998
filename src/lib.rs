//! canopsis-upgrade: an upgrade daemon for Canopsis. See DESIGN in the README for the pipeline.

pub mod action;
pub mod apidoc;
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
pub mod policy;
pub mod procedure;
pub mod rabbitmq;
pub mod support;
pub mod systemd;
pub mod tomlfile;
pub mod upgrade;
pub mod version;
pub mod window;
