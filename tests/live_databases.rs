//! The live executor's database actions against the machine's real PostgreSQL and Redis: SQL
//! files and statements through psql with CPS_POSTGRES_URL (password in the environment, never
//! on the command line), and redis_flushdb on CPS_REDIS_URL's database only. systemd is the
//! sandbox's (the executor needs a bus); the commands run on this host.

use canopsis_upgrade_test_support::sdsandbox;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use canopsis_upgrade::action::{Action, Executor};
use canopsis_upgrade::executor::backup::BackupStore;
use canopsis_upgrade::executor::live::{LiveExecutor, LiveSettings};
use canopsis_upgrade::install::InstallMethod;
use canopsis_upgrade::journal::JournalFile;
use canopsis_upgrade::procedure::sandbox::SandboxRules;
use canopsis_upgrade::systemd::Systemd;

/// A Redis database number no other test uses.
const REDIS_DB: &str = "13";

struct Fixture {
    _sandbox: sdsandbox::Sandbox,
    _runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    executor: LiveExecutor,
}

fn fixture(env_file: &str) -> Fixture {
    let sandbox = sdsandbox::Sandbox::boot(sdsandbox::SandboxOptions::default());
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
        rules: SandboxRules::new(&[dir.path().to_path_buf()], vec![], vec![]),
    };
    let backups = BackupStore::new(dir.path().join("backups"), journal, step.clone());
    let executor = LiveExecutor::new(settings, systemd, runtime.handle().clone(), backups);
    Fixture {
        _sandbox: sandbox,
        _runtime: runtime,
        dir,
        executor,
    }
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-tAc",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn redis(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn sql_files_and_statements_run_on_cps_postgres_url() {
    let schema = format!("cu_test_{}", std::process::id());
    let f =
        fixture("CPS_POSTGRES_URL=\"postgresql://postgres@127.0.0.1:5432/test?sslmode=disable\"\n");
    let file = f.dir.path().join("17_migration.up.sql");
    std::fs::write(
        &file,
        format!("CREATE SCHEMA {schema};\nCREATE TABLE {schema}.perf (name text);\nINSERT INTO {schema}.perf VALUES ('cpu');\n"),
    )
    .unwrap();
    f.executor
        .execute(&Action::PsqlFile { path: file.clone() })
        .unwrap();
    assert_eq!(psql(&format!("SELECT name FROM {schema}.perf")), "cpu");
    f.executor
        .execute(&Action::PsqlEval {
            sql: format!("UPDATE {schema}.perf SET name = 'mem'"),
        })
        .unwrap();
    assert_eq!(psql(&format!("SELECT name FROM {schema}.perf")), "mem");

    // ON_ERROR_STOP: a failing statement fails the action, naming psql and its error.
    std::fs::write(&file, format!("INSERT INTO {schema}.nope VALUES (1);\n")).unwrap();
    let err = f
        .executor
        .execute(&Action::PsqlFile { path: file })
        .unwrap_err();
    assert!(err.to_string().contains("psql exited with code 3"), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn a_failing_connection_never_shows_the_password() {
    // A wrong password: the server refuses it, and the error shows psql's message, not it.
    let f =
        fixture("CPS_POSTGRES_URL=\"postgresql://nobody-here:Sup3r-S3cret@127.0.0.1:5432/test\"\n");
    let err = f
        .executor
        .execute(&Action::PsqlEval {
            sql: "SELECT 1".into(),
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("Sup3r-S3cret"), "{text}");
    assert!(text.contains("psql exited"), "{text}");
}

#[test]
fn redis_flushdb_empties_only_the_database_of_cps_redis_url() {
    let key = format!("cu-test-{}", std::process::id());
    redis(&["-n", REDIS_DB, "set", &key, "x"]);
    redis(&["-n", "14", "set", &key, "kept"]);
    let f = fixture(&format!(
        "CPS_REDIS_URL=\"redis://127.0.0.1:6379/{REDIS_DB}\"\n"
    ));
    f.executor.execute(&Action::RedisFlushdb).unwrap();
    assert_eq!(redis(&["-n", REDIS_DB, "exists", &key]), "0");
    assert_eq!(
        redis(&["-n", "14", "get", &key]),
        "kept",
        "another database is untouched"
    );
    redis(&["-n", "14", "del", &key]);
}

#[test]
fn a_missing_variable_is_a_clear_error() {
    let f = fixture("CPS_MONGO_URL=\"mongodb://localhost/canopsis\"\n");
    let err = f.executor.execute(&Action::RedisFlushdb).unwrap_err();
    assert!(
        err.to_string().contains("CPS_REDIS_URL is not set in"),
        "{err}"
    );
    assert!(Path::new(&f.dir.path().join("go-engines-vars.conf")).exists());
}
