//! The live executor's database actions against the machine's real PostgreSQL and Redis: SQL
//! files and statements through psql with CPS_POSTGRES_URL (password in the environment, never
//! on the command line), and redis_flushdb on CPS_REDIS_URL's database only. systemd is the
//! sandbox's (the executor needs a bus); the commands run on this host.

use canopsis_upgrade_test_support::live_executor;

use std::path::Path;
use std::process::Command;

use canopsis_upgrade::action::{Action, Executor};

/// A Redis database number no other test uses.
const REDIS_DB: &str = "13";

fn fixture(env_file: &str) -> live_executor::LiveFixture {
    live_executor::boot(env_file)
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
