//! One file per config section: its keys as written (choices are serde enums, so a bad one
//! is refused where it is written) and its validation into settings.

pub(super) mod api;
pub(super) mod broadcast;
pub(super) mod catalog;
mod credentials;
pub(super) mod detect;
pub(super) mod install;
pub(super) mod maintenance;
pub(super) mod manual;
pub(super) mod nightly;
pub(super) mod rabbitmq;
pub(super) mod run;
pub(super) mod sandbox;
pub(super) mod scripts;
pub(super) mod systemd;
pub(super) mod window;

pub use api::ApiSettings;
pub use broadcast::BroadcastSettings;
pub use credentials::CredentialSource;
pub use detect::DetectSource;
pub use maintenance::MaintenanceSettings;
pub use nightly::NightlySource;
pub use rabbitmq::RabbitmqSettings;
pub use sandbox::DEFAULT_COMMANDS;
