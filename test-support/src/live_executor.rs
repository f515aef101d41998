//! The live executor on its own: a sandbox systemd for its bus, a private directory (the only
//! file root) holding the engines' environment file, the journal and the backups. For the
//! tests of database actions against the machine's real PostgreSQL and Redis.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use canopsis_upgrade::executor::backup::BackupStore;
use canopsis_upgrade::executor::live::{LiveExecutor, LiveSettings};
use canopsis_upgrade::install::InstallMethod;
use canopsis_upgrade::journal::JournalFile;
use canopsis_upgrade::procedure::sandbox::SandboxRules;
use canopsis_upgrade::systemd::Systemd;

use crate::sdsandbox::{Sandbox, SandboxOptions};

/// A live executor and what it lives on (dropped together).
pub struct LiveFixture {
    /// The executor.
    pub executor: LiveExecutor,
    /// The private directory: go-engines-vars.conf, the journal, the backups.
    pub dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
    _sandbox: Sandbox,
}

/// Boots the fixture with `env_file` as the engines' environment file.
pub fn boot(env_file: &str) -> LiveFixture {
    let sandbox = Sandbox::boot(SandboxOptions::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let systemd = runtime
        .block_on(Systemd::connect_to(
            &sandbox.bus_address(),
            Duration::from_secs(30),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go-engines-vars.conf"), env_file).unwrap();
    let journal = Arc::new(JournalFile::open(&dir.path().join("journal.json")).unwrap());
    let step = Arc::new(AtomicUsize::new(1));
    let settings = LiveSettings {
        install: InstallMethod::Packages,
        compose_dir: None,
        engine_env_file: dir.path().join("go-engines-vars.conf"),
        dropin_dir: dir.path().join("units"),
        runtime_unit_files: true,
        canopsis_units: vec!["canopsis*".into()],
        settle: Duration::from_secs(1),
        rules: SandboxRules::new(
            std::slice::from_ref(&dir.path().to_path_buf()),
            vec![],
            vec![],
        ),
    };
    let backups = BackupStore::new(dir.path().join("backups"), journal, step);
    let executor = LiveExecutor::new(settings, systemd, runtime.handle().clone(), backups);
    LiveFixture {
        executor,
        dir,
        _runtime: runtime,
        _sandbox: sandbox,
    }
}
