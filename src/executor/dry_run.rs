//! The dry-run executor: performs nothing, answers plausibly, reads real files when they exist.

use crate::action::{Action, Answer, CommandOutput, ExecError, Executor, Outcome, Query};
use crate::procedure::sandbox::SandboxRules;

/// Answers as a healthy standard install would, so that a plan shows every action.
#[derive(Debug, Clone)]
pub struct DryRunExecutor {
    rules: SandboxRules,
}

impl DryRunExecutor {
    /// A dry run under the given sandbox rules (used to tell a missing file from a missing install).
    pub fn new(rules: SandboxRules) -> Self {
        Self { rules }
    }
}

impl Executor for DryRunExecutor {
    fn execute(&self, action: &Action) -> Result<Outcome, ExecError> {
        Ok(match action {
            Action::Command(_) => Outcome::Command(CommandOutput::default()),
            _ => Outcome::Done,
        })
    }

    fn query(&self, query: &Query) -> Result<Answer, ExecError> {
        Ok(match query {
            // Units: a plan assumes the standard units exist and run.
            Query::UnitActive(_) | Query::UnitExists(_) => Answer::Bool(true),
            // A file missing from an install that is here is missing; on a machine without the
            // install (planning ahead), assume the standard install has it.
            Query::FileExists(path) => {
                Answer::Bool(path.exists() || !self.rules.root_exists_for(path))
            }
            // Capped, never from a FIFO: a plan must not hang or swell on a script's read.
            Query::ReadFile(path) => Answer::Text(crate::executor::live::read_text(path)?),
            Query::ListFiles { dir, suffix } => Answer::Paths(
                crate::support::fs::list_files(dir, suffix)
                    .map_err(|e| ExecError(format!("cannot list {}: {e}", dir.display())))?,
            ),
        })
    }

    fn is_dry_run(&self) -> bool {
        true
    }
}
