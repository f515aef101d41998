//! A sandboxed engine with the script API bound to one upgrade's context and executor.

use std::sync::Arc;

use super::api::{self, ApiDoc};
use super::engine::{self, CompiledScript, Limits, Watch};
use super::host::{Host, ScriptContext, StepRecord};
use super::sandbox::SandboxRules;
use super::{Hook, Script, ScriptError};
use crate::action::Executor;
use crate::version::Version;

/// What the procedures need besides the scripts: context, sandbox, limits.
#[derive(Debug, Clone)]
pub struct ProcedureSettings {
    /// The script context (from, to, edition...).
    pub context: ScriptContext,
    /// The sandbox rules.
    pub rules: SandboxRules,
    /// Resource limits.
    pub limits: Limits,
}

/// Compiles scripts and calls their hooks, in the sandbox, against one executor.
pub struct Scripting {
    engine: rhai::Engine,
    host: Arc<Host>,
    watch: Arc<Watch>,
    limits: Limits,
    docs: Vec<ApiDoc>,
}

impl Scripting {
    /// An engine whose API acts through `executor`.
    pub fn new(settings: ProcedureSettings, executor: Arc<dyn Executor>) -> Self {
        let watch = Arc::new(Watch::default());
        let mut engine = engine::sandboxed_engine(&settings.limits, watch.clone());
        let host = Arc::new(Host::new(
            settings.context,
            settings.rules,
            executor,
            watch.clone(),
            settings.limits.clone(),
        ));
        let docs = api::register(&mut engine, &host);
        Self {
            engine,
            host,
            watch,
            limits: settings.limits,
            docs,
        }
    }

    /// Compiles a script and checks its hooks.
    pub fn compile(&self, script: &Script) -> Result<CompiledScript, ScriptError> {
        engine::compile(&self.engine, script)
    }

    /// Calls one hook; `version` is what the script's `version()` answers (None: the target).
    pub fn call(
        &self,
        compiled: &CompiledScript,
        hook: Hook,
        version: Option<Version>,
    ) -> Result<StepRecord, ScriptError> {
        self.host.begin(version);
        let result = engine::call_hook(&self.engine, compiled, hook, &self.limits, &self.watch);
        let record = self.host.finish();
        result.map(|()| record)
    }

    /// The upgrade's context.
    pub fn context(&self) -> &ScriptContext {
        &self.host.ctx
    }

    /// The documentation of the registered API.
    pub fn docs(&self) -> &[ApiDoc] {
        &self.docs
    }
}
