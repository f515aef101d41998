//! `run`'s preflight, without systemd: what it refuses before READY, and that it leaves the
//! journal as it found it.

use canopsis_upgrade_test_support::site;
use canopsis_upgrade_test_support::site::{stderr, Site};

fn site() -> Site {
    let site = Site::new("");
    let extra = format!(
        "[run]\nstate_dir = \"{}\"\nlock_file = \"{}\"\n[manual]\nacknowledged = [\"4.5.0\"]\n[rabbitmq]\nenabled = false\n",
        site.path("state").display(),
        site.path("run.lock").display()
    );
    site.append_config(&extra);
    std::fs::create_dir_all(site.path("state")).unwrap();
    site
}

fn run(site: &Site, args: &[&str]) -> (bool, String) {
    let (code, err) = run_status(site, args);
    (code == Some(0), err)
}

/// The exit status and stderr of `run`.
fn run_status(site: &Site, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    // No system bus here: a preflight that gets as far as systemd says so.
    let out = site
        .command(&all)
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    (out.status.code(), stderr(&out))
}

#[test]
fn a_corrupt_journal_is_refused_and_left_as_is() {
    let site = site();
    let journal = site.path("state/journal.json");
    std::fs::write(
        &journal,
        "{\"format\": \"canopsis-upgrade-journal\", \"schema\": 1, \"curr",
    )
    .unwrap();
    let (ok, err) = run(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    assert!(!ok);
    assert!(err.contains("the journal is corrupt"), "{err}");
    assert!(err.contains(&format!("{}:1:", journal.display())), "{err}");
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "{\"format\": \"canopsis-upgrade-journal\", \"schema\": 1, \"curr"
    );
}

#[test]
fn a_foreign_journal_is_refused() {
    let site = site();
    std::fs::write(site.path("state/journal.json"), "{\"hello\": 1}").unwrap();
    let (ok, err) = run(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    assert!(!ok);
    assert!(err.contains("not a canopsis-upgrade journal"), "{err}");
}

#[test]
fn manual_steps_need_an_acknowledgement() {
    let site = Site::new("");
    let extra = format!(
        "[run]\nstate_dir = \"{}\"\nlock_file = \"{}\"\n[rabbitmq]\nenabled = false\n",
        site.path("s").display(),
        site.path("l").display()
    );
    site.append_config(&extra);
    let (ok, err) = run(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    assert!(!ok);
    assert!(
        err.contains("manual steps are not acknowledged: 4.5.0 (9 step(s))"),
        "{err}"
    );
    // --ack gets past it, to the next check (systemd is not reachable here).
    let (ok, err) = run(
        &site,
        &["--from", "4.4.0", "--to", "4.5.0", "--ack", "4.5.0"],
    );
    assert!(!ok);
    assert!(err.contains("cannot reach systemd"), "{err}");
}

/// A journal of an unfinished 4.4.0 -> 4.5.0 run whose first step is done, with `sha256`.
fn unfinished_journal(site: &Site, first_sha256: &str) {
    let plan = site::plan_json(site, &["--from", "4.4.0", "--to", "4.5.0"]);
    let steps: Vec<serde_json::Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({
                "version": s["version"], "hook": s["hook"], "function": s["function"], "script": s["script"],
                "sha256": if i == 0 { first_sha256.to_owned() } else { s["sha256"].as_str().unwrap().to_owned() },
                "state": if i == 0 { "done" } else { "pending" },
                "attempts": if i == 0 { 1 } else { 0 },
                "started_at": null, "finished_at": null, "error": null
            })
        })
        .collect();
    let journal = serde_json::json!({
        "format": "canopsis-upgrade-journal", "schema": 1,
        "current": {"id": "t", "from": "4.4.0", "to": "4.5.0", "started_at": "2026-11-26T02:00:00Z",
                    "status": "failed", "steps": steps, "backups": []},
        "history": []
    });
    std::fs::write(
        site.path("state/journal.json"),
        serde_json::to_string_pretty(&journal).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_changed_script_under_a_done_step_is_refused_unless_accepted() {
    let site = site();
    unfinished_journal(&site, &"0".repeat(64));
    let (ok, err) = run(&site, &["--to", "4.5.0"]);
    assert!(!ok);
    assert!(err.contains("scripts of steps already done have changed since they ran: step 1 (bundled:releases/4.5.0.rhai): 000000000000 ->"), "{err}");
    let (ok, err) = run(&site, &["--to", "4.5.0", "--accept-changed"]);
    assert!(!ok);
    assert!(
        err.contains("cannot reach systemd"),
        "past the checksum check: {err}"
    );
}

#[test]
fn an_unfinished_run_to_another_target_must_be_finished_first() {
    let site = site();
    let plan = site::plan_json(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    unfinished_journal(&site, plan["steps"][0]["sha256"].as_str().unwrap());
    let (ok, err) = run(&site, &["--to", "4.5.1"]);
    assert!(!ok);
    assert!(
        err.contains("an unfinished upgrade from 4.4.0 to 4.5.0 is in the journal"),
        "{err}"
    );
    let status = site.run(&["status"]);
    let text = site::stdout(&status);
    assert!(text.contains("Upgrade 4.4.0 -> 4.5.0 (Failed)"), "{text}");
    assert!(text.contains("1/5 steps done"), "{text}");
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held() {
    let site = site();
    let lock = site.path("run.lock");
    let _held = canopsis_upgrade::lock::RunLock::acquire(&lock).unwrap();
    let (code, err) = run_status(&site, &["--from", "4.4.0", "--to", "4.5.0"]);
    assert_eq!(code, Some(5), "the documented status of a held lock: {err}");
    assert!(
        err.contains(&format!(
            "another canopsis-upgrade run holds {} (PID {})",
            lock.display(),
            std::process::id()
        )),
        "{err}"
    );
}

#[test]
fn an_upgrade_the_tool_cannot_do_is_refused_before_anything() {
    let site = site();
    let (code, err) = run_status(
        &site,
        &["--from", "3.38.0", "--to", "4.5.14", "--ack", "4.0.0"],
    );
    assert_eq!(
        code,
        Some(4),
        "the documented status of a refused upgrade: {err}"
    );
    assert!(
        err.contains("this upgrade cannot be run: [4.0.0] this upgrade starts at 3.38.0"),
        "{err}"
    );
    let journal = site.path("state/journal.json");
    assert!(!journal.exists(), "nothing journaled for a refused upgrade");
}
