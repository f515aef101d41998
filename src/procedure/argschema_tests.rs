use super::*;

fn ok(program: &str, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if let Err(e) = check(program, &args) {
        panic!("{program} {args:?} should pass: {e}");
    }
}

fn refused(program: &str, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let err = check(program, &args).expect_err(&format!("{program} {args:?} must be refused"));
    assert!(err.starts_with("sandbox: run("), "{err}");
}

#[test]
fn what_the_bundled_scripts_run_passes() {
    ok("yum", &["makecache"]);
    ok("yum", &["clean", "all"]);
    ok("yum", &["install", "-y", "python27"]);
    ok("yum", &["install", "-y", "centos-release-scl"]);
    ok(
        "dnf",
        &["--disablerepo=*", "--enablerepo=canopsis*", "update", "-y"],
    );
    ok("rpm", &["-q", "--quiet", "centos-release"]);
    ok("canopsinit", &[]);
    ok(
        "canopsinit",
        &["--canopsis-edition", "cat", "--canopsis-stack", "go"],
    );
    ok("/opt/canopsis/bin/canopsis-reconfigure", &[]);
    ok(
        "/opt/canopsis/bin/canopsis-reconfigure",
        &["-edition", "pro", "-migrate-postgres=true"],
    );
    ok(
        "/opt/canopsis/bin/canopsis-reconfigure",
        &[
            "-migrate-postgres=true",
            "-postgres-migration-mode=up",
            "-postgres-migration-directory=/opt/canopsis/share/migrations/postgres",
        ],
    );
    ok(
        "/opt/canopsis/bin/init",
        &["-conf", "/opt/canopsis/etc/initialisation.toml"],
    );
    ok("/opt/canopsis/bin/migrate-instruction-metrics", &[]);
    ok("docker", &["version", "--format", "{{.Server.Version}}"]);
    ok("docker", &["compose", "down", "--remove-orphans"]);
    ok("docker", &["compose", "up", "-d", "redis"]);
    ok("docker", &["compose", "pull"]);
    ok(
        "docker",
        &[
            "compose",
            "exec",
            "-T",
            "redis",
            "redis-cli",
            "-n",
            "11",
            "flushdb",
        ],
    );
    ok(
        "docker-compose",
        &[
            "-f",
            "00-data.docker-compose.yml",
            "-f",
            "01-prov.docker-compose.yml",
            "up",
            "-d",
        ],
    );
    ok("docker-compose", &["version", "--short"]);
    ok("docker-compose", &["disable-v2"]);
    ok("redis-cli", &["-n", "11", "flushdb"]);
    ok("canoctl", &["restart"]);
}

#[test]
fn options_that_load_code_or_config_are_refused() {
    refused("rpm", &["--eval", "%(id)"]);
    refused("rpm", &["-q", "--define", "_x %(id)", "bash"]);
    refused("rpm", &["-q", "--rcfile", "/tmp/x", "bash"]);
    refused("rpm", &["-q", "--macros", "/tmp/m", "bash"]);
    refused("rpm", &["-i", "/tmp/evil.rpm"]);
    refused("rpm", &["-Uvh", "/tmp/evil.rpm"]);
    refused("yum", &["-c", "/tmp/yum.conf", "makecache"]);
    refused("yum", &["--setopt=pluginpath=/tmp", "makecache"]);
    refused("yum", &["--installroot=/tmp/r", "install", "x"]);
    refused("yum", &["install", "-y", "/tmp/evil.rpm"]);
    refused("yum", &["install", "-y", "http://evil/x.rpm"]);
    refused("dnf", &["shell"]);
    refused("yum", &["install"]);
}

#[test]
fn docker_runs_nothing_of_its_own_choosing() {
    refused(
        "docker",
        &["run", "--privileged", "-v", "/:/host", "alpine"],
    );
    refused("docker", &["-H", "tcp://x", "version"]);
    refused("docker", &["compose", "-f", "/tmp/evil.yml", "up", "-d"]);
    refused("docker-compose", &["-f", "../evil.yml", "up"]);
    refused("docker", &["compose", "run", "x", "sh"]);
    refused(
        "docker",
        &["compose", "exec", "-T", "redis", "sh", "-c", "id"],
    );
    refused("docker", &["compose", "--project-directory", "/tmp", "up"]);
    refused("docker", &["compose", "up", "--build"]);
}

#[test]
fn database_shells_only_through_their_functions() {
    refused("psql", &["-c", "\\! id"]);
    refused("mongo", &["--eval", "runProgram('id')"]);
    refused("mongosh", &["--eval", "1"]);
    refused("redis-cli", &["-h", "evil", "flushdb"]);
    refused("redis-cli", &["eval", "x", "0"]);
    refused("redis-cli", &["config", "set", "dir", "/etc"]);
}

#[test]
fn canopsis_tools_only_with_their_own_configuration() {
    refused(
        "/opt/canopsis/bin/canopsis-reconfigure",
        &["-conf", "/etc/shadow"],
    );
    refused(
        "/opt/canopsis/bin/canopsis-reconfigure",
        &["-conf", "/opt/canopsis/etc/../../../etc/shadow"],
    );
    refused("/opt/canopsis/bin/canopsis-reconfigure", &["-edition", "x"]);
    refused("/opt/canopsis/bin/init", &["-conf", "/tmp/init.toml"]);
    refused("canopsinit", &["--canopsis-edition", "--x"]);
    refused("canopsinit", &["--plugin", "x"]);
    refused("canoctl", &["exec", "sh"]);
    refused("/opt/canopsis/bin/migrate-metrics", &["-x"]);
    refused("something-else", &[]);
}
