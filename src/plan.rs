//! The upgrade plan: the ordered steps of an upgrade and the actions each one takes, computed by
//! running every procedure of the path against an executor (a dry run for `plan`).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::action::{Action, Executor};
use crate::catalog::{Catalog, PathError};
use crate::procedure::engine::CompiledScript;
use crate::procedure::host::{Message, StepRecord};
use crate::procedure::scripting::{ProcedureSettings, Scripting};
use crate::procedure::{Hook, ScriptError, ScriptKind, ScriptSet, PIPELINE};
use crate::support::format::format_duration;
use crate::version::Version;

/// Why there is no plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No upgrade path (boxed: errors stay small on the happy path).
    #[error(transparent)]
    Path(Box<PathError>),
    /// Scripts that do not compile (all of them are listed).
    #[error("{} script error(s):\n{}", .0.len(), list(.0))]
    Compile(Vec<ScriptError>),
    /// A step failed while running.
    #[error("step {number} ({version} {hook}) failed: {error}")]
    Step {
        /// 1-based step number.
        number: usize,
        /// The release of the step, or `-`.
        version: String,
        /// The hook.
        hook: String,
        /// What went wrong, located in the script (boxed: errors stay small on the happy path).
        error: Box<ScriptError>,
    },
}

impl From<PathError> for PlanError {
    fn from(error: PathError) -> Self {
        Self::Path(Box::new(error))
    }
}

fn list(errors: &[ScriptError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One hook call of the pipeline, before it runs.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// The release of the script (None: standard procedure or add-on).
    pub version: Option<Version>,
    /// The step's name in the plan: the hook, or the add-on's name.
    pub hook: String,
    /// The function called.
    pub function: Hook,
    /// Index of the script in [`Procedures::scripts`].
    script: usize,
}

/// One step of a plan, with what it does.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The release of the script, or null.
    pub version: Option<Version>,
    /// `before_update`, `standard`, `after_packages`, `after_update`, or an add-on's name.
    pub hook: String,
    /// The function called.
    pub function: &'static str,
    /// Where the script comes from.
    pub script: String,
    /// The script's SHA-256.
    pub sha256: String,
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// What the script logged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// How long the step is expected to take (declared by the script, or each action's
    /// default), in seconds: the window guard adds these up.
    pub estimate_secs: u64,
}

/// A step a person must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManualStep {
    /// The release that asks for it, or null (add-on, standard procedure).
    pub version: Option<Version>,
    /// What to do.
    pub text: String,
}

/// The version of the plan's JSON form: a program reading it checks this first.
pub const PLAN_SCHEMA: u32 = 1;

/// The exact ordered actions of an upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// [`PLAN_SCHEMA`].
    pub schema: u32,
    /// Whether `run` can do this upgrade (no refusal).
    pub runnable: bool,
    /// Why the tool cannot do this upgrade (empty: it can).
    pub refusals: Vec<ManualStep>,
    /// The installed version.
    pub from: Version,
    /// The target.
    pub to: Version,
    /// The edition.
    pub edition: crate::install::Edition,
    /// The install method.
    pub install: crate::install::InstallMethod,
    /// The releases passed through, in order.
    pub path: Vec<Version>,
    /// The steps, in execution order.
    pub steps: Vec<Step>,
    /// Every manual step, in order.
    pub manual: Vec<ManualStep>,
    /// The expected duration of the whole plan, in seconds: the sum of the steps'.
    pub estimate_secs: u64,
}

/// The compiled procedures of one upgrade, ready to run step by step.
pub struct Procedures {
    scripting: Scripting,
    scripts: Vec<CompiledScript>,
    steps: Vec<StepSpec>,
    path: Vec<Version>,
}

impl Procedures {
    /// Computes the path, compiles every script it needs, and orders the steps.
    pub fn prepare(
        catalog: &Catalog,
        scripts: &ScriptSet,
        settings: ProcedureSettings,
        executor: Arc<dyn Executor>,
    ) -> Result<Self, PlanError> {
        let path = catalog.path(&settings.context.from, &settings.context.to)?;
        let scripting = Scripting::new(settings, executor);

        let needed = std::iter::once(&scripts.standard)
            .chain(path.iter().filter_map(|v| scripts.releases.get(v)))
            .chain(scripts.addons.iter());
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for script in needed {
            match scripting.compile(script) {
                Ok(c) => compiled.push(c),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(PlanError::Compile(errors));
        }
        let steps = order_steps(&compiled);
        Ok(Self {
            scripting,
            scripts: compiled,
            steps,
            path,
        })
    }

    /// The releases passed through.
    pub fn path(&self) -> &[Version] {
        &self.path
    }

    /// The steps, in execution order.
    pub fn steps(&self) -> &[StepSpec] {
        &self.steps
    }

    /// The compiled script of a step.
    pub fn script_of(&self, step: &StepSpec) -> &CompiledScript {
        &self.scripts[step.script]
    }

    /// Runs one step's hook against the executor.
    pub fn run_step(&self, step: &StepSpec) -> Result<StepRecord, ScriptError> {
        self.scripting
            .call(self.script_of(step), step.function, step.version.clone())
    }
}

/// For each hook of the pipeline in turn: the standard procedure's, or each release's then each
/// add-on's. `compiled` holds the standard procedure, then releases in order, then add-ons.
fn order_steps(compiled: &[CompiledScript]) -> Vec<StepSpec> {
    let mut steps = Vec::new();
    for hook in PIPELINE {
        for (index, c) in compiled.iter().enumerate() {
            let is_standard = c.script.kind == ScriptKind::Standard;
            if is_standard != hook.is_standard() || !c.has(hook) {
                continue;
            }
            let (version, name) = match &c.script.kind {
                ScriptKind::Release(v) => (Some(v.clone()), hook.function().to_owned()),
                ScriptKind::Standard => (None, "standard".to_owned()),
                ScriptKind::Addon(name) => (None, name.clone()),
            };
            steps.push(StepSpec {
                version,
                hook: name,
                function: hook,
                script: index,
            });
        }
    }
    steps
}

/// The plan of an upgrade: every step run against `executor` (a dry run).
pub fn build(
    catalog: &Catalog,
    scripts: &ScriptSet,
    settings: ProcedureSettings,
    executor: Arc<dyn Executor>,
) -> Result<Plan, PlanError> {
    let (from, to) = (settings.context.from.clone(), settings.context.to.clone());
    let (edition, install) = (settings.context.edition, settings.context.install);
    let procedures = Procedures::prepare(catalog, scripts, settings, executor)?;
    let mut steps = Vec::new();
    let mut manual = Vec::new();
    let mut refusals = Vec::new();
    for (i, spec) in procedures.steps().iter().enumerate() {
        let record = procedures.run_step(spec).map_err(|error| PlanError::Step {
            number: i + 1,
            version: spec.version.as_ref().map_or("-".into(), Version::to_string),
            hook: spec.hook.clone(),
            error: Box::new(error),
        })?;
        for action in &record.actions {
            let entry = |text: &String| ManualStep {
                version: spec.version.clone(),
                text: text.clone(),
            };
            match action {
                Action::Manual { text } => manual.push(entry(text)),
                Action::Refusal { text } => refusals.push(entry(text)),
                _ => {}
            }
        }
        let script = &procedures.script_of(spec).script;
        let estimate = record
            .declared_duration
            .unwrap_or_else(|| record.actions.iter().map(Action::default_estimate).sum());
        steps.push(Step {
            estimate_secs: estimate.as_secs(),
            version: spec.version.clone(),
            hook: spec.hook.clone(),
            function: spec.function.function(),
            script: script.origin.clone(),
            sha256: script.sha256.clone(),
            actions: record.actions,
            messages: record.messages,
        });
    }
    Ok(Plan {
        schema: PLAN_SCHEMA,
        runnable: refusals.is_empty(),
        refusals,
        from,
        to,
        edition,
        install,
        path: procedures.path().to_vec(),
        estimate_secs: steps.iter().map(|s| s.estimate_secs).sum(),
        steps,
        manual,
    })
}

impl Step {
    /// "4.5.0 after_update", "standard (reconfigure)", "ldap (after_update)".
    pub fn title(&self) -> String {
        let version = self.version.as_ref().map_or("", Version::as_str);
        let title = if self.hook == self.function {
            format!("{version} {}", self.hook)
        } else {
            format!("{version} {} ({})", self.hook, self.function)
        };
        title.trim().to_owned()
    }
}

impl Plan {
    /// The expected duration of the steps from `index` (0-based) to the end.
    pub fn remaining_estimate(&self, index: usize) -> Duration {
        Duration::from_secs(self.steps.iter().skip(index).map(|s| s.estimate_secs).sum())
    }

    /// The plan for a person to read: what cannot be done first, then the steps, then what
    /// a person must do. The header's estimate is the sum of the steps' (each to the second).
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let path: Vec<&str> = self.path.iter().map(Version::as_str).collect();
        let _ = writeln!(
            out,
            "Upgrade of Canopsis {} ({}) from {} to {}\nPath: {}\nExpected duration: {}\n",
            self.edition,
            self.install,
            self.from,
            self.to,
            path.join(", "),
            format_duration(Duration::from_secs(self.estimate_secs))
        );
        if !self.runnable {
            let _ = writeln!(out, "THIS UPGRADE CANNOT BE RUN by canopsis-upgrade:");
            write_versioned(&mut out, &self.refusals);
            let _ = writeln!(out, "\nWhat it would do otherwise:\n");
        }
        for (i, step) in self.steps.iter().enumerate() {
            self.write_step(&mut out, i, step);
        }
        if !self.manual.is_empty() {
            let _ = writeln!(
                out,
                "\nManual steps ({}), to do by hand and acknowledge before `run`:",
                self.manual.len()
            );
            write_versioned(&mut out, &self.manual);
        }
        out
    }

    fn write_step(&self, out: &mut String, index: usize, step: &Step) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "{:>3}. {}  [{} sha256:{}, ~{}]",
            index + 1,
            step.title(),
            step.script,
            &step.sha256[..12],
            format_duration(Duration::from_secs(step.estimate_secs))
        );
        if step.actions.is_empty() {
            let _ = writeln!(out, "       (nothing to do for this install)");
        }
        for action in &step.actions {
            let _ = writeln!(out, "       - {}", action.describe());
        }
        for message in &step.messages {
            let _ = writeln!(out, "       {}: {}", message.level, message.text);
        }
    }
}

/// "  - [4.5.0] text" lines.
fn write_versioned(out: &mut String, items: &[ManualStep]) {
    use std::fmt::Write as _;
    for item in items {
        let version = item.version.as_ref().map_or("-", Version::as_str);
        let _ = writeln!(out, "  - [{version}] {}", item.text);
    }
}
