//! Executors of actions: the dry run (plans); the live executor comes with `run`.

pub mod backup;
pub mod command;
mod dry_run;
pub mod edits;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod live;

pub use dry_run::DryRunExecutor;
