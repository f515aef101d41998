//! Config fragments as written (every field optional, unknown keys refused), and their merge:
//! later fragments win, key by key. Each section declares its keys with [`section_keys!`] in
//! its own file under `sections/`; this file only lists the sections.

use serde::Deserialize;
use toml::Spanned;

use super::sections::{
    api, broadcast, catalog, detect, install, maintenance, manual, nightly, rabbitmq, run, sandbox,
    scripts, systemd, window,
};
use super::ConfigError;

/// Where a value was written: file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
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

/// A value, its key (`section.key`, for messages) and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Located<T> {
    /// The value.
    pub value: T,
    /// Its full key, like `sandbox.script_timeout`.
    pub key: &'static str,
    /// Where it was written.
    pub origin: Origin,
}

impl<T> Located<T> {
    /// An error about this value, prefixed with its key.
    pub fn error(&self, message: impl std::fmt::Display) -> ConfigError {
        self.origin.error(format!("{}: {message}", self.key))
    }
}

/// Turns a span of a fragment's text into an [`Origin`].
pub(crate) type Locator<'a> = dyn Fn(std::ops::Range<usize>) -> Origin + 'a;

/// Records a value that a fragment sets over the one merged so far.
pub(crate) fn set_if_written<T>(
    slot: &mut Option<Located<T>>,
    key: &'static str,
    value: Option<Spanned<T>>,
    at: &Locator,
) {
    if let Some(v) = value {
        let origin = at(v.span());
        *slot = Some(Located {
            value: v.into_inner(),
            key,
            origin,
        });
    }
}

/// Declares one section's keys: `$input`, the table as written (unknown keys refused), and
/// `$keys`, the merged keys, each located; a later fragment's key replaces an earlier one.
macro_rules! section_keys {
    ($section:ident : $input:ident => $keys:ident { $( $field:ident : $ty:ty ),* $(,)? }) => {
        #[doc = concat!("`[", stringify!($section), "]` as written in one file.")]
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(in crate::config) struct $input {
            $( $field: Option<toml::Spanned<$ty>>, )*
        }

        #[doc = concat!("`[", stringify!($section), "]` merged over the files, each key located.")]
        #[derive(Debug, Default)]
        pub(in crate::config) struct $keys {
            $( pub $field: Option<$crate::config::input::Located<$ty>>, )*
        }

        impl $keys {
            /// The section's keys, as written in a file.
            #[cfg(test)]
            pub(in crate::config) const NAMES: &'static [&'static str] = &[$( stringify!($field) ),*];

            /// Lays one file's keys over those merged so far.
            pub(in crate::config) fn apply(
                &mut self,
                input: $input,
                at: &$crate::config::input::Locator,
            ) {
                $( $crate::config::input::set_if_written(
                    &mut self.$field,
                    concat!(stringify!($section), ".", stringify!($field)),
                    input.$field,
                    at,
                ); )*
            }
        }
    };
}
pub(crate) use section_keys;

/// Declares the whole fragment (one file) and the merged input from the list of sections.
macro_rules! fragment {
    ($( $section:ident : $input:ty => $keys:ty ),* $(,)?) => {
        /// One config file, as parsed.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct Fragment {
            $( $section: Option<$input>, )*
            window: Option<Spanned<window::WindowFragment>>,
        }

        /// Every section with its keys (`[window]`'s are [`window::KEYS`]).
        #[cfg(test)]
        pub(super) const SECTIONS: &[(&str, &[&str])] = &[$( (stringify!($section), <$keys>::NAMES) ),*];

        /// Every setting, merged over the fragments.
        #[derive(Debug, Default)]
        pub(super) struct Merged {
            $( pub $section: $keys, )*
            /// `[window]` is replaced as a whole by a later fragment that has one.
            pub window: Option<Located<window::LocatedWindow>>,
        }

        impl Merged {
            /// Lays a fragment over what was merged so far.
            pub fn apply(&mut self, file: &str, text: &str, fragment: Fragment) {
                let at = |span: std::ops::Range<usize>| {
                    let (line, column) = crate::support::text::line_col(text, span.start);
                    Origin { file: file.to_owned(), line, column }
                };
                $( if let Some(input) = fragment.$section { self.$section.apply(input, &at); } )*
                if let Some(window) = fragment.window {
                    self.window = Some(window::locate(window, &at));
                }
            }
        }
    };
}

fragment! {
    install: install::InstallInput => install::InstallKeys,
    detect: detect::DetectInput => detect::DetectKeys,
    catalog: catalog::CatalogInput => catalog::CatalogKeys,
    scripts: scripts::ScriptsInput => scripts::ScriptsKeys,
    sandbox: sandbox::SandboxInput => sandbox::SandboxKeys,
    manual: manual::ManualInput => manual::ManualKeys,
    run: run::RunInput => run::RunKeys,
    systemd: systemd::SystemdInput => systemd::SystemdKeys,
    nightly: nightly::NightlyInput => nightly::NightlyKeys,
    api: api::ApiInput => api::ApiKeys,
    broadcast: broadcast::BroadcastInput => broadcast::BroadcastKeys,
    maintenance: maintenance::MaintenanceInput => maintenance::MaintenanceKeys,
    rabbitmq: rabbitmq::RabbitmqInput => rabbitmq::RabbitmqKeys,
}

/// Parses one fragment's text; syntax errors, unknown keys and unknown choices name file,
/// line and column.
pub(super) fn parse(file: &str, text: &str) -> Result<Fragment, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = crate::support::text::line_col(text, e.span().map_or(0, |s| s.start));
        ConfigError::At {
            file: file.to_owned(),
            line,
            column,
            message: e.message().trim_end().to_owned(),
        }
    })
}
