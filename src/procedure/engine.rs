//! The sandboxed Rhai engine: limits, disabled features, compilation, hook calls, and error
//! locations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Position, Scope, AST};

use super::{Hook, Script, ScriptError, ScriptKind, HOOKS, STANDARD_HOOKS};

/// The resource limits of one hook call.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Rhai operations per hook call.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions (global level, functions).
    pub max_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Items in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Actions one hook call may take.
    pub max_actions: usize,
    /// Wall-clock time of one hook call, outside the actions themselves.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 10_000,
            max_map_size: 10_000,
            max_actions: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Watches the hook call under way: its wall-clock deadline (checked through `on_progress`) and
/// the last statement it reached (Rhai gives limit errors no position of their own).
#[derive(Debug, Default)]
pub struct Watch {
    deadline: Mutex<Option<Instant>>,
    /// Line and column of the last statement, packed as `line << 32 | column`.
    last_step: AtomicU64,
}

impl Watch {
    /// Arms the deadline for a call starting now.
    pub fn arm(&self, timeout: Duration) {
        *self.deadline.lock().unwrap() = Some(Instant::now() + timeout);
        self.last_step.store(0, Ordering::Relaxed);
    }

    /// Disarms it.
    pub fn disarm(&self) {
        *self.deadline.lock().unwrap() = None;
    }

    /// Moves the deadline later by the time an action took (a long command is not the
    /// script's fault; commands have their own timeout).
    pub fn extend(&self, by: Duration) {
        if let Some(at) = self.deadline.lock().unwrap().as_mut() {
            *at += by;
        }
    }

    fn passed(&self) -> bool {
        self.deadline
            .lock()
            .unwrap()
            .is_some_and(|at| Instant::now() >= at)
    }

    fn step(&self, pos: Position) {
        if let (Some(line), Some(column)) = (pos.line(), pos.position()) {
            self.last_step
                .store((line as u64) << 32 | column as u64, Ordering::Relaxed);
        }
    }

    fn last_step(&self) -> (Option<usize>, Option<usize>) {
        match self.last_step.load(Ordering::Relaxed) {
            0 => (None, None),
            packed => (
                Some((packed >> 32) as usize),
                Some((packed & 0xffff_ffff) as usize),
            ),
        }
    }
}

/// Why a running script was stopped by `on_progress`.
const DEADLINE_TOKEN: &str = "deadline";

/// A new engine with the sandbox's restrictions and limits, and no script API yet.
#[allow(deprecated)] // register_debugger is stable in use but marked volatile by Rhai.
pub fn sandboxed_engine(limits: &Limits, watch: Arc<Watch>) -> Engine {
    let mut engine = Engine::new();
    // No modules: `import` is a syntax error, and nothing could be resolved anyway.
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.set_max_modules(0);
    engine.disable_symbol("import");
    engine.disable_symbol("eval");
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_variables(1_000);
    engine.set_max_functions(1_000);
    let stepper = watch.clone();
    engine.register_debugger(
        |_, debugger| debugger,
        move |_, event, _, _, pos| {
            if matches!(event, rhai::debugger::DebuggerEvent::Step) {
                stepper.step(pos);
            }
            Ok(rhai::debugger::DebuggerCommand::StepInto)
        },
    );
    engine.on_progress(move |ops| {
        // Reading the clock every 256 operations keeps the check cheap and the stop prompt.
        if ops % 256 == 0 && watch.passed() {
            Some(Dynamic::from(DEADLINE_TOKEN))
        } else {
            None
        }
    });
    // print/debug must not reach the daemon's stdout (sd_notify and JSON output live there).
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

/// A script compiled, with the hooks it defines.
#[derive(Debug, Clone)]
pub struct CompiledScript {
    /// The source.
    pub script: Script,
    /// The compiled form.
    pub ast: AST,
    /// The hooks it defines, in pipeline order.
    pub hooks: Vec<Hook>,
}

impl CompiledScript {
    /// Whether it defines this hook.
    pub fn has(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }
}

/// Compiles a script and checks that it defines the hooks its kind needs.
pub fn compile(engine: &Engine, script: &Script) -> Result<CompiledScript, ScriptError> {
    let mut ast = engine.compile(&script.source).map_err(|e| {
        let (line, column) = position(e.position());
        ScriptError {
            script: script.origin.clone(),
            line,
            column,
            message: format!("syntax error: {}", e.err_type()),
        }
    })?;
    ast.set_source(script.origin.as_str());
    let whole = |message: String| ScriptError {
        script: script.origin.clone(),
        line: None,
        column: None,
        message,
    };
    let wanted: &[Hook] = match script.kind {
        ScriptKind::Standard => &STANDARD_HOOKS,
        _ => &HOOKS,
    };
    let mut hooks = Vec::new();
    for function in ast.iter_functions() {
        if let Some(hook) = wanted.iter().find(|h| h.function() == function.name) {
            if !function.params.is_empty() {
                return Err(whole(format!(
                    "{}() must take no parameters",
                    hook.function()
                )));
            }
            hooks.push(*hook);
        }
    }
    hooks.sort_by_key(|h| wanted.iter().position(|w| w == h));
    if hooks.is_empty() {
        let names: Vec<_> = wanted
            .iter()
            .map(|h| format!("{}()", h.function()))
            .collect();
        return Err(whole(format!("defines none of {}", names.join(", "))));
    }
    Ok(CompiledScript {
        script: script.clone(),
        ast,
        hooks,
    })
}

/// Calls one hook of a compiled script.
pub fn call_hook(
    engine: &Engine,
    compiled: &CompiledScript,
    hook: Hook,
    limits: &Limits,
    watch: &Watch,
) -> Result<(), ScriptError> {
    let options = CallFnOptions::new().eval_ast(true).rewind_scope(true);
    engine
        .call_fn_with_options::<Dynamic>(
            options,
            &mut Scope::new(),
            &compiled.ast,
            hook.function(),
            (),
        )
        .map(|_| ())
        .map_err(|err| located(&compiled.script.origin, *err, limits, watch))
}

/// The innermost error of a call chain, with its line and column.
fn located(origin: &str, err: EvalAltResult, limits: &Limits, watch: &Watch) -> ScriptError {
    let mut err = err;
    // Errors in a function called by the hook are wrapped: the innermost one is the cause.
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = err {
        err = *inner;
    }
    // Limit errors lose their position at function boundaries: use the last statement reached.
    let (line, column) = match position(err.position()) {
        (None, _) => watch.last_step(),
        known => known,
    };
    let message = match err {
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == DEADLINE_TOKEN => {
            format!(
                "stopped: the script ran longer than its {} s deadline",
                limits.timeout.as_secs_f64()
            )
        }
        EvalAltResult::ErrorTooManyOperations(_) => {
            format!(
                "stopped: the script used more than {} operations",
                limits.max_operations
            )
        }
        EvalAltResult::ErrorStackOverflow(_) => {
            format!(
                "stopped: calls nested deeper than {} levels",
                limits.max_call_levels
            )
        }
        mut other => {
            let _position_already_reported = other.take_position();
            other.to_string()
        }
    };
    ScriptError {
        script: origin.to_owned(),
        line,
        column,
        message,
    }
}

fn position(pos: Position) -> (Option<usize>, Option<usize>) {
    (pos.line(), pos.position())
}
