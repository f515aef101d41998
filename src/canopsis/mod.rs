//! The Canopsis REST API: the client (app-info, healthcheck, broadcast messages, maintenance
//! mode), retrying with backoff, and the pure part of user announcements.

pub mod announce;
pub mod auth;
pub mod client;
pub mod color;
pub mod error;
pub mod retry;

pub use auth::{Auth, AuthKind, CredentialError, Secret};
pub use client::{
    ApiClient, AppInfo, BroadcastMessage, MaintenanceChange, StoredBroadcast, Written,
};
pub use color::{validate_color, ColorError};
pub use error::ApiError;
pub use retry::{retry, retry_with, Backoff, Clock, RetryError, TokioClock, Transient};
