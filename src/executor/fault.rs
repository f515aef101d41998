//! Fault injection for the crash-and-resume tests: the daemon stops dead after the first action
//! of a chosen step, so that a test can kill it there. Only built with the `fault-injection`
//! feature, which the release binary does not have.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Stops the process after the first action of a given step (tests of crash and resume).
#[derive(Debug, Clone)]
pub struct Hold {
    /// The 1-based step number.
    pub step: usize,
    /// Created when holding, so the test knows when to kill.
    pub marker: PathBuf,
}

impl Hold {
    /// From CANOPSIS_UPGRADE_TEST_HOLD_STEP and CANOPSIS_UPGRADE_TEST_HOLD_MARKER.
    pub fn from_env() -> Option<Self> {
        let step = std::env::var("CANOPSIS_UPGRADE_TEST_HOLD_STEP")
            .ok()?
            .parse()
            .ok()?;
        let marker = std::env::var_os("CANOPSIS_UPGRADE_TEST_HOLD_MARKER")?.into();
        Some(Self { step, marker })
    }

    /// At the held step, writes our PID to the marker and waits forever (to be killed).
    pub(crate) fn wait_if_due(&self, current_step: &AtomicUsize) {
        if current_step.load(Ordering::SeqCst) != self.step {
            return;
        }
        // Best effort: a test that never sees the marker fails on its own timeout.
        let _ = std::fs::write(&self.marker, std::process::id().to_string());
        tracing::warn!("test hold at step {}: waiting to be killed", self.step);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
