//! Config fragments as written (every field optional, unknown keys refused), and their merge:
//! later fragments win, key by key.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::install::{Edition, InstallMethod};
use crate::window::WindowInput;

/// Where a value was written: file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Origin {
    /// An error about the value written here.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::At {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub origin: Origin,
}

/// Turns a span of a fragment's text into an [`Origin`].
type Locator<'a> = dyn Fn(std::ops::Range<usize>) -> Origin + 'a;

fn lay<T>(slot: &mut Option<Located<T>>, value: Option<Spanned<T>>, at: &Locator) {
    if let Some(v) = value {
        let origin = at(v.span());
        *slot = Some(Located {
            value: v.into_inner(),
            origin,
        });
    }
}

/// Declares, for each config section, its input struct (as written) and its merged struct
/// (each key located), and the whole fragment and merged input.
macro_rules! sections {
    ($( $section:ident : $input:ident => $merged:ident { $( $field:ident : $ty:ty ),* $(,)? } )*) => {
        $(
            #[derive(Debug, Default, Deserialize)]
            #[serde(deny_unknown_fields)]
            struct $input {
                $( $field: Option<Spanned<$ty>>, )*
            }

            /// The merged keys of one section.
            #[derive(Debug, Default)]
            pub struct $merged {
                $( #[allow(missing_docs)] pub $field: Option<Located<$ty>>, )*
            }

            impl $merged {
                fn apply(&mut self, input: $input, at: &Locator) {
                    $( lay(&mut self.$field, input.$field, at); )*
                }
            }
        )*

        /// One config file, as parsed.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Fragment {
            $( $section: Option<$input>, )*
            window: Option<Spanned<WindowInput>>,
        }

        /// Every setting, merged over the fragments.
        #[derive(Debug, Default)]
        pub struct Merged {
            $( #[allow(missing_docs)] pub $section: $merged, )*
            /// `[window]` is replaced as a whole by a later fragment that has one.
            pub window: Option<Located<WindowInput>>,
        }

        impl Merged {
            /// Lays a fragment over what was merged so far.
            pub fn apply(&mut self, file: &str, text: &str, fragment: Fragment) {
                let at = |span: std::ops::Range<usize>| {
                    let (line, column) = crate::text::line_col(text, span.start);
                    Origin { file: file.to_owned(), line, column }
                };
                $( if let Some(input) = fragment.$section { self.$section.apply(input, &at); } )*
                lay(&mut self.window, fragment.window, &at);
            }
        }
    };
}

sections! {
    install: InstallInput => InstallKeys {
        method: InstallMethod, edition: Edition, compose_dir: PathBuf, engine_env_file: PathBuf, api_url: String,
    }
    detect: DetectInput => DetectKeys { sources: Vec<String>, version_file: PathBuf, timeout: String }
    catalog: CatalogInput => CatalogKeys { index_files: Vec<PathBuf> }
    scripts: ScriptsInput => ScriptsKeys { release_dirs: Vec<PathBuf>, addon_dirs: Vec<PathBuf> }
    sandbox: SandboxInput => SandboxKeys {
        file_roots: Vec<PathBuf>, unit_patterns: Vec<String>, allowed_commands: Vec<String>,
        max_operations: u64, max_call_levels: usize, max_expr_depth: usize, max_string_size: usize,
        max_array_size: usize, max_map_size: usize, max_actions: usize, script_timeout: String,
        command_timeout: String,
    }
    manual: ManualInput => ManualKeys { acknowledged: Vec<String> }
    run: RunInput => RunKeys { state_dir: PathBuf, lock_file: PathBuf, on_failure: String }
    systemd: SystemdInput => SystemdKeys {
        canopsis_units: Vec<String>, job_timeout: String, settle: String, dropin_dir: PathBuf, runtime_unit_files: bool,
    }
    nightly: NightlyInput => NightlyKeys { policy: String, source: String }
    api: ApiInput => ApiKeys {
        auth: String, credentials_file: PathBuf, credential: String, timeout: String, retry_budget: String,
        unreachable_before: String,
    }
    broadcast: BroadcastInput => BroadcastKeys {
        enabled: bool, lead_time: String, message: String, done_message: String, failure_message: String,
        color: String, done_duration: String,
    }
    maintenance: MaintenanceInput => MaintenanceKeys { enabled: bool, message: String, color: String }
    rabbitmq: RabbitmqInput => RabbitmqKeys {
        enabled: bool, management_url: String, amqp_url: String, vhost: String, credentials_file: PathBuf,
        credential: String, queue_prefixes: Vec<String>, abnormal_backlog: u64, tolerance: u64,
        tolerance_ratio: f64, hold: u32, drain_timeout: String, on_drain_timeout: String, retry_budget: String,
    }
}

/// Parses one fragment's text; syntax errors and unknown keys name file, line and column.
pub fn parse(file: &str, text: &str) -> Result<Fragment, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = crate::text::line_col(text, e.span().map_or(0, |s| s.start));
        ConfigError::At {
            file: file.to_owned(),
            line,
            column,
            message: e.message().trim_end().to_owned(),
        }
    })
}
