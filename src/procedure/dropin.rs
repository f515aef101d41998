//! What a unit drop-in may say. A drop-in is read by systemd, as root: an `ExecStartPre=+...`,
//! a `User=root` or an `EnvironmentFile=` would run anything. So a drop-in is held to a schema:
//! a `[Service]` section with `Environment=` (Canopsis's variables), the unit's own program
//! under /opt/canopsis/bin as `ExecStart=` with extra arguments and no `+!@-:` prefix, limits,
//! restart and timeout settings. The unit is a full name matching the patterns, never a prefix
//! drop-in (`canopsis-.service.d` applies to every `canopsis-*` unit, the daemon's own too).

use crate::procedure::sandbox::is_engine_env;

/// Checks the text of a drop-in; the refusal says which line and why.
pub fn check_text(text: &str) -> Result<(), String> {
    let mut in_service = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |why: String| format!("sandbox: drop-in line {}: {why}", index + 1);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.ends_with('\\') {
            return Err(at("continued lines are not allowed".into()));
        }
        if line.starts_with('[') {
            in_service = line == "[Service]";
            if !in_service {
                return Err(at(format!("{line}: only a [Service] section is allowed")));
            }
            continue;
        }
        if !in_service {
            return Err(at("settings must be in a [Service] section".into()));
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| at(format!("{line:?} is not key=value")))?;
        check_setting(key.trim(), value.trim()).map_err(at)?;
    }
    Ok(())
}

/// Restart, limits and timeouts: values without effect beyond the unit itself.
const PLAIN_KEYS: &[&str] = &[
    "Restart",
    "RestartSec",
    "RestartSteps",
    "RestartMaxDelaySec",
    "TimeoutSec",
    "TimeoutStartSec",
    "TimeoutStopSec",
    "WatchdogSec",
];

fn check_setting(key: &str, value: &str) -> Result<(), String> {
    let plain_value = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-: ".contains(&b));
    match key {
        "Environment" => check_environment(value),
        "ExecStart" => check_exec_start(value),
        k if (PLAIN_KEYS.contains(&k) || k.starts_with("Limit")) && plain_value => Ok(()),
        k if PLAIN_KEYS.contains(&k) || k.starts_with("Limit") => {
            Err(format!("{key}={value}: not a plain value"))
        }
        _ => Err(format!(
            "{key}= is not allowed (Environment=, ExecStart=, Limit*=, Restart*=, Timeout*=, WatchdogSec=)"
        )),
    }
}

/// `Environment=` of Canopsis's variables only (`CPS_*` and the documented ones).
fn check_environment(value: &str) -> Result<(), String> {
    for assignment in value.split_whitespace() {
        let assignment = assignment.trim_matches('"');
        let name = assignment.split('=').next().unwrap_or_default();
        if !assignment.contains('=') || !is_engine_env(name) {
            return Err(format!(
                "Environment={assignment}: only CPS_* and the documented variables"
            ));
        }
    }
    Ok(())
}

/// `ExecStart=` empty (reset), or the unit's program under /opt/canopsis/bin (`%i` or a
/// name), possibly through `/usr/bin/env` with no option, then plain arguments.
fn check_exec_start(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let mut words = value.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    if program == "/usr/bin/env" {
        program = words.next().unwrap_or_default();
    }
    let name = program
        .strip_prefix("/opt/canopsis/bin/")
        .unwrap_or_default();
    let name_ok = name == "%i"
        || (!name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    if !name_ok {
        return Err(format!(
            "ExecStart={value}: only the unit's program under /opt/canopsis/bin, without a prefix"
        ));
    }
    for word in words {
        let plain = word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-=/:,%@".contains(&b));
        if !plain || word == ";" {
            return Err(format!(
                "ExecStart: argument {word:?} is not a plain argument"
            ));
        }
    }
    Ok(())
}

/// A full unit name for a drop-in: never a prefix drop-in (`canopsis-.service`, `a-b-.service`).
pub fn check_unit_name(unit: &str) -> Result<(), String> {
    let stem = unit.rsplit_once('.').map_or(unit, |(stem, _)| stem);
    let stem = stem.split('@').next().unwrap_or(stem);
    if stem.is_empty() || stem.ends_with('-') {
        return Err(format!(
            "sandbox: {unit} would be a prefix drop-in (it applies to every unit named so): a full unit name is needed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_drop_ins_pass() {
        for text in [
            "[Service]\nExecStart=\nExecStart=/usr/bin/env /opt/canopsis/bin/%i -publishQueue Engine_correlation -withRemediation=true\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/env /opt/canopsis/bin/%i -recomputeAllOnInit\n",
            "[Service]\nEnvironment=CPS_X=1 TZ=UTC\nLimitNOFILE=65536\nRestart=always\n",
        ] {
            check_text(text).unwrap();
        }
    }

    #[test]
    fn anything_that_runs_code_is_refused() {
        for text in [
            "[Service]\nExecStartPre=+/bin/sh -c id\n",
            "[Service]\nExecStart=+/opt/canopsis/bin/engine-axe\n",
            "[Service]\nExecStart=!/opt/canopsis/bin/engine-axe\n",
            "[Service]\nExecStart=/bin/sh -c id\n",
            "[Service]\nExecStart=/usr/bin/env LD_PRELOAD=/tmp/x.so /opt/canopsis/bin/%i\n",
            "[Service]\nExecStart=/opt/canopsis/bin/../../../bin/sh\n",
            "[Service]\nExecStart=/opt/canopsis/bin/%i ; /bin/sh\n",
            "[Service]\nUser=root\n",
            "[Service]\nEnvironmentFile=/tmp/env\n",
            "[Service]\nEnvironment=LD_PRELOAD=/tmp/x.so\n",
            "[Unit]\nOnFailure=evil.service\n",
            "ExecStart=/bin/sh\n",
            "[Service]\nExecStart=/opt/canopsis/bin/%i \\\n -x\n",
            "[Service]\nLimitNOFILE=$(id)\n",
        ] {
            assert!(check_text(text).is_err(), "{text}");
        }
    }

    #[test]
    fn prefix_drop_ins_are_refused() {
        assert!(check_unit_name("canopsis-.service").is_err());
        assert!(check_unit_name("canopsis-engine-.service").is_err());
        assert!(check_unit_name("canopsis-engine-go@engine-axe.service").is_ok());
        assert!(check_unit_name("canopsis.service").is_ok());
    }
}
