//! The script API: every function a procedure script can call, registered with its documentation
//! so that `api-doc` is generated from what is really there. One file per family, in the order
//! of the reference: [`context`], [`units`], [`files`], [`commands`], [`flow`].
//!
//! Every function is registered by [`api_fn!`]: bound to the [`Host`], with its parameter names
//! (the closure's own), its doc line and its Rhai signature recorded for `api-doc`. Errors are
//! [`script_error`]s without a position: Rhai places them at the script's call.

mod commands;
mod context;
mod files;
mod flow;
mod units;

use std::sync::Arc;

use rhai::{Engine, FuncRegistration, RhaiNativeFunc};

use super::host::{script_error, ApiResult, Host};
use crate::action::Answer;

/// One documented API function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiDoc {
    /// The group it belongs to.
    pub group: &'static str,
    /// Its Rhai signature, with parameter names and types.
    pub signature: String,
    /// What it does.
    pub doc: &'static str,
}

/// Registers a function bound to the host: `api_fn!(r, "name", "doc", |h, a: &str| body)`, `h`
/// being the `Arc<Host>` and the parameter names those of the closure.
macro_rules! api_fn {
    ($r:expr, $name:expr, $doc:expr, |$h:ident $(, $arg:ident : $ty:ty)*| -> $ret:ty { $($body:tt)* }) => {{
        let $h = ::std::sync::Arc::clone($r.host);
        $r.def($name, [$(stringify!($arg)),*], $doc, move |$($arg: $ty),*| -> $ret { $($body)* })
    }};
    ($r:expr, $name:expr, $doc:expr, |$h:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {{
        let $h = ::std::sync::Arc::clone($r.host);
        $r.def($name, [$(stringify!($arg)),*], $doc, move |$($arg: $ty),*| $body)
    }};
}
use api_fn;

/// Registers functions into the engine and collects their documentation.
struct Registrar<'e> {
    engine: &'e mut Engine,
    host: &'e Arc<Host>,
    group: &'static str,
    docs: Vec<ApiDoc>,
}

impl Registrar<'_> {
    /// Registers `f` as `name` with parameter names and a doc line (through [`api_fn!`]).
    fn def<
        A: 'static,
        const N: usize,
        const X: bool,
        R: Clone + Send + Sync + 'static,
        const F: bool,
        FN,
    >(
        &mut self,
        name: &str,
        params: [&str; N],
        doc: &'static str,
        f: FN,
    ) where
        FN: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        let args: Vec<String> = params
            .iter()
            .zip(FN::param_names())
            .map(|(p, t)| format!("{p}: {}", type_name(t)))
            .collect();
        let ret = type_name(FN::return_type_name());
        let signature = match ret {
            "()" => format!("{name}({})", args.join(", ")),
            _ => format!("{name}({}) -> {ret}", args.join(", ")),
        };
        FuncRegistration::new(name)
            .with_comments([format!("/// {doc}")])
            .register_into_engine(self.engine, f);
        self.docs.push(ApiDoc {
            group: self.group,
            signature,
            doc,
        });
    }
}

/// Script-facing names of Rust types.
fn type_name(rust: &str) -> &'static str {
    // Results are what the script sees of their Ok type.
    let ok = rust.strip_prefix("core::result::Result<").unwrap_or(rust);
    let head = ok.split(['<', ',']).next().unwrap_or(ok);
    match head.rsplit("::").next().unwrap_or(head) {
        "ImmutableString" | "&str" | "String" | "str" => "string",
        "i64" => "int",
        "f64" => "float",
        "bool" => "bool",
        "BTreeMap" | "Map" => "map",
        "Vec" | "Array" => "array",
        "Version" => "Version",
        "()" => "()",
        _ => "any",
    }
}

/// Registers the whole API, bound to `host`, and returns its documentation.
pub fn register(engine: &mut Engine, host: &Arc<Host>) -> Vec<ApiDoc> {
    let mut r = Registrar {
        engine,
        host,
        group: "",
        docs: Vec::new(),
    };
    context::register(&mut r);
    units::register(&mut r);
    files::register(&mut r);
    commands::register(&mut r);
    flow::register(&mut r);
    r.docs
}

fn boolean(answer: Answer) -> ApiResult<bool> {
    match answer {
        Answer::Bool(b) => Ok(b),
        other => Err(mismatch("a yes/no question", &other)),
    }
}

/// An executor that answers the wrong kind of question is a bug of ours, not of the script.
fn mismatch(question: &str, answer: &Answer) -> Box<rhai::EvalAltResult> {
    script_error(format!(
        "internal error: the executor answered {question} with {answer:?}"
    ))
}

fn single_line(text: &str) -> ApiResult<String> {
    if text.contains('\n') || text.contains('\r') {
        return Err(script_error(format!("{text:?} must be a single line")));
    }
    Ok(text.to_owned())
}

fn non_empty(what: &str, text: &str) -> ApiResult<String> {
    if text.is_empty() {
        return Err(script_error(format!("{what} must not be empty")));
    }
    Ok(text.to_owned())
}
