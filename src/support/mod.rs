//! Small helpers shared by several concerns: one home each, so that they do not drift apart.

pub mod credentials;
pub mod error;
pub mod format;
pub mod fs;
pub mod redact;
pub mod safe_fs;
pub mod text;
pub mod trust;
pub mod url;
