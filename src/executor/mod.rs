//! Executors of actions: the dry run (plans); the live executor comes with `run`.

mod dry_run;

pub use dry_run::DryRunExecutor;
