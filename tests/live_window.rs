//! The run around its steps, in a real systemd (booted by the tests): the maintenance window
//! (READY before it, nothing before it opens, the guard that pauses a plan that does not fit),
//! announcements and maintenance mode against the fake Canopsis API, the version read back,
//! and an API that does not answer.

use canopsis_upgrade_test_support::{canopsis, fake_canopsis};

use std::time::{Duration, Instant};

use canopsis::{calls, read, timed_calls, wait_inactive, InstallSpec, Installed};
use fake_canopsis::{Recorded, API_KEY};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const UNIT: &str = "canopsis-upgrade@4.5.0.service";
const UNIT_23: &str = "canopsis-upgrade@23.10.1.service";
const KEY_FILE: &str = "/opt/canopsis-upgrade/api-key";

/// `[api]` with the fake's API key, from a file only root reads.
fn api_section() -> String {
    format!("[api]\nauth = \"api-key\"\ncredentials_file = \"{KEY_FILE}\"\n")
}

fn key_file() -> (String, String, u32) {
    (KEY_FILE.into(), API_KEY.into(), 0o600)
}

/// A whole second, `secs` from now (negative: in the past).
fn second_from_now(secs: i64) -> Timestamp {
    Timestamp::new(Timestamp::now().as_second() + secs, 0).unwrap()
}

/// `[window]` in UTC with one slot opening at `start` (on its own UTC weekday, so a start
/// past midnight falls on the next day) and lasting `length`.
fn window_section(start: Timestamp, length: &str) -> String {
    let local = start.to_zoned(jiff::tz::TimeZone::UTC);
    let day = local.strftime("%a").to_string();
    format!(
        "[window]\ntime_zone = \"UTC\"\n[[window.slot]]\ndays = [\"{day}\"]\nstart = \"{}\"\nlength = \"{length}\"\n",
        local.strftime("%H:%M:%S")
    )
}

/// Appends sections to the daemon's config (sections the fixture's config does not have).
fn add_config(s: &Installed, text: &str) {
    let config = read(s, canopsis::CONFIG) + text;
    s.write(canopsis::CONFIG, &config, 0o644);
}

/// Keeps `unit` loaded once inactive (systemd unloads an inactive unit nothing refers to, and
/// its StatusText with it), as an admin's `systemctl status` right after would see it.
fn keep_loaded(s: &Installed, unit: &str) {
    s.install_unit("observer.target", &format!("[Unit]\nAfter={unit}\n"));
    assert!(s.systemctl(&["start", "observer.target"]).status.success());
}

fn start(s: &Installed, unit: &str) -> Duration {
    let began = Instant::now();
    let out = s.systemctl(&["start", unit]);
    let took = began.elapsed();
    assert!(
        out.status.success(),
        "start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.journal(unit)
    );
    took
}

fn status_json(s: &Installed) -> Value {
    let out = canopsis::run_daemon(s, &["status", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Polls `done` every 100 ms until it holds; panics with `what` after `timeout`.
fn wait_for(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(began.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}

fn broadcast_posts(requests: &[Recorded]) -> Vec<&Recorded> {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v4/broadcast-message")
        .collect()
}

fn maintenance_puts(requests: &[Recorded]) -> Vec<(bool, Timestamp, u16)> {
    requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path == "/api/v4/maintenance")
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (body["enabled"].as_bool().unwrap(), r.at, r.status)
        })
        .collect()
}

/// The broadcast `_id` of the upgrade to `to` in the window opening at `start`.
fn broadcast_id(to: &str, start: Timestamp) -> String {
    format!("canopsis-upgrade-{to}-{}", start.strftime("%Y%m%dT%H%MZ"))
}

// ---- 1. the window -------------------------------------------------------------------------

#[test]
fn start_returns_at_once_and_the_upgrade_begins_when_the_window_opens() {
    let s = canopsis::install_4_4_0();
    keep_loaded(&s, UNIT);
    let window_start = second_from_now(15);
    add_config(&s, &window_section(window_start, "2h"));

    let took = start(&s, UNIT);
    assert!(
        took < Duration::from_secs(5),
        "systemctl start took {took:?}: READY must come before the window"
    );
    assert_eq!(s.show(UNIT, "ActiveState"), "active");
    let status = s.show(UNIT, "StatusText");
    assert!(
        status.contains("waiting for the maintenance window"),
        "{status}"
    );

    // Nothing runs before the window opens.
    while Timestamp::now() < window_start {
        assert!(
            calls(&s).is_empty(),
            "a call before the window (opening {window_start}): {:?}",
            timed_calls(&s)
        );
        assert_eq!(s.show(UNIT, "ActiveState"), "active", "{}", s.journal(UNIT));
        std::thread::sleep(Duration::from_millis(200));
    }

    let state = wait_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "inactive", "{}", s.journal(UNIT));
    assert_eq!(s.show(UNIT, "Result"), "success");
    assert_eq!(s.show(UNIT, "StatusText"), "upgraded from 4.4.0 to 4.5.0");
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");

    // The first call (yum, in step 2) came right after the window opened, never before.
    let timed = timed_calls(&s);
    let (first, call) = &timed[0];
    assert!(call.starts_with("yum"), "{timed:?}");
    let after = secs_between(window_start, *first);
    assert!(
        (0.0..5.0).contains(&after),
        "first call {after:.2} s after the window opened ({timed:?})"
    );
    // Step 1 began within 2 s of the opening.
    let history = canopsis::run_daemon(&s, &["history", "--format", "json"]);
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    let began: Timestamp = history[0]["steps"][0]["started_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let after = secs_between(window_start, began);
    assert!(
        (0.0..2.0).contains(&after),
        "step 1 began {after:.2} s after the window opened"
    );
}

#[test]
fn systemctl_stop_while_waiting_for_the_window_ends_the_wait_at_once() {
    let s = canopsis::install_4_4_0();
    keep_loaded(&s, UNIT);
    add_config(&s, &window_section(second_from_now(3600), "2h"));
    start(&s, UNIT);
    canopsis::wait_status(
        &s,
        UNIT,
        "waiting for the maintenance window",
        Duration::from_secs(30),
    );
    let took = canopsis::timed_stop(&s, UNIT);
    println!(
        "--- systemctl stop while waiting for the window returned in {:.2} s",
        took.as_secs_f64()
    );
    // Far below the hour until the window: the sleeper was woken, not timed out.
    assert!(
        took < Duration::from_secs(30),
        "stop took {took:?}\n{}",
        s.journal(UNIT)
    );
    assert_eq!(s.show(UNIT, "Result"), "success", "{}", s.journal(UNIT));
    assert!(
        s.show(UNIT, "StatusText")
            .starts_with("stopped before step 1/"),
        "{}",
        s.show(UNIT, "StatusText")
    );
    assert!(calls(&s).is_empty(), "nothing ran: {:?}", timed_calls(&s));
}

// ---- 2. announcements ------------------------------------------------------------------------

#[test]
fn the_window_is_announced_once_at_lead_time_then_replaced_by_the_outcome() {
    let s = canopsis::install(InstallSpec {
        extra_config: format!(
            "{}[broadcast]\nenabled = true\nlead_time = \"10s\"\n",
            api_section()
        ),
        files: vec![key_file()],
        ..Default::default()
    });
    keep_loaded(&s, UNIT);
    let window_start = second_from_now(25);
    let window_end = window_start + SignedDuration::from_hours(2);
    add_config(&s, &window_section(window_start, "2h"));
    let id = broadcast_id("4.5.0", window_start);

    let took = start(&s, UNIT);
    assert!(took < Duration::from_secs(5), "start took {took:?}");
    let status = s.show(UNIT, "StatusText");
    assert!(status.contains("waiting to announce"), "{status}");
    assert!(s.api.messages().is_empty(), "announced too early");

    // The announcement, before the window: one message covering the window.
    wait_for(Duration::from_secs(30), "the announcement", || {
        !s.api.messages().is_empty()
    });
    assert!(
        Timestamp::now() < window_start,
        "announced only at window start"
    );
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["_id"], id.as_str());
    assert!(
        m["start"].as_i64().unwrap() <= window_start.as_second(),
        "{m}"
    );
    assert_eq!(m["end"].as_i64().unwrap(), window_end.as_second(), "{m}");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("Canopsis will be upgraded from 4.4.0 to 4.5.0"),
        "{m}"
    );
    wait_for(Duration::from_secs(15), "waiting for the window", || {
        s.show(UNIT, "StatusText")
            .contains("waiting for the maintenance window")
    });

    let state = wait_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "inactive", "{}", s.journal(UNIT));
    assert_eq!(s.show(UNIT, "Result"), "success");

    let requests = s.api.requests();
    let posts = broadcast_posts(&requests);
    let created: Vec<_> = posts.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "one message created: {posts:?}");
    let lead = secs_between(created[0].at, window_start);
    assert!(
        (8.0..=12.0).contains(&lead),
        "announced {lead:.2} s before the window, not 10 s"
    );
    // The outcome: the same message, updated (POST 400 "ID already exists", then PUT).
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["_id"], id.as_str());
    assert!(
        messages[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Canopsis was upgraded to 4.5.0"),
        "{}",
        messages[0]
    );
    assert!(requests.iter().any(|r| r.method == "PUT"
        && r.path == format!("/api/v4/broadcast-message/{id}")
        && r.status == 200));
    assert!(
        requests
            .iter()
            .filter(|r| r.path.starts_with("/api/v4/broadcast-message"))
            .all(|r| r.header("x-canopsis-authkey") == Some("<redacted>")),
        "every broadcast call authenticates with the API key"
    );

    // The key never leaks.
    let journal = s.journal(UNIT);
    assert!(!journal.contains(API_KEY), "the API key is in the journal");
    let status = canopsis::run_daemon(&s, &["status", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&status.stdout).contains(API_KEY));
    assert!(!String::from_utf8_lossy(&status.stderr).contains(API_KEY));
}

// ---- 3. the announcement after a crash -----------------------------------------------------

/// A window that opened 30 s ago, for two hours, announced with a 10 s lead.
fn announced_window_spec() -> (InstallSpec, Timestamp) {
    let window_start = second_from_now(-30);
    let spec = InstallSpec {
        extra_config: format!(
            "{}[broadcast]\nenabled = true\nlead_time = \"10s\"\n{}",
            api_section(),
            window_section(window_start, "2h")
        ),
        files: vec![key_file()],
        ..Default::default()
    };
    (spec, window_start)
}

#[test]
fn a_crash_after_the_announcement_keeps_one_message() {
    let (spec, window_start) = announced_window_spec();
    let s = canopsis::install(spec);
    let id = broadcast_id("4.5.0", window_start);
    canopsis::crash_after_first_action(&s, "4.5.0", 2);
    assert_eq!(s.api.messages().len(), 1);
    assert_eq!(status_json(&s)["current"]["announcement"], id.as_str());

    let out = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["_id"], id.as_str());
    assert!(messages[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Canopsis was upgraded to 4.5.0"));
    let requests = s.api.requests();
    let statuses: Vec<u16> = broadcast_posts(&requests)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [201],
        "created once; the outcome updates it, no POST refused first"
    );
    assert!(requests.iter().any(|r| r.method == "PUT"
        && r.path == format!("/api/v4/broadcast-message/{id}")
        && r.status == 200));
}

#[test]
fn a_crash_before_the_announcement_was_journaled_updates_the_same_message() {
    let (spec, window_start) = announced_window_spec();
    let s = canopsis::install(spec);
    let id = broadcast_id("4.5.0", window_start);
    canopsis::crash_after_first_action(&s, "4.5.0", 2);
    // As if the daemon had died between the POST and journaling the message's id.
    let path = s.host_path("/var/lib/canopsis-upgrade/journal.json");
    let mut journal: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(journal["current"]["announcement"], id.as_str());
    journal["current"]["announcement"] = Value::Null;
    std::fs::write(&path, serde_json::to_string_pretty(&journal).unwrap()).unwrap();

    let out = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let requests = s.api.requests();
    let statuses: Vec<u16> = broadcast_posts(&requests)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [201, 400],
        "announce, announce again (its id unknown to the journal); the outcome is a PUT"
    );
    let puts = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path == format!("/api/v4/broadcast-message/{id}"))
        .count();
    assert_eq!(puts, 2, "the announcement again, then the outcome");
}

#[test]
fn a_crash_without_a_window_keeps_one_announcement() {
    // No [window]: the run starts at once, announcing "from now on"; after a crash, a run in
    // a later minute must update that message, not add a second one.
    let s = canopsis::install(InstallSpec {
        extra_config: format!("{}[broadcast]\nenabled = true\n", api_section()),
        files: vec![key_file()],
        ..Default::default()
    });
    canopsis::crash_after_first_action(&s, "4.5.0", 2);
    let first = s.api.messages();
    assert_eq!(first.len(), 1, "{first:?}");
    let minute = Timestamp::now().as_second() / 60;
    wait_for(Duration::from_secs(65), "the next minute", || {
        Timestamp::now().as_second() / 60 > minute
    });
    let out = canopsis::run_daemon(&s, &["run", "--to", "4.5.0"]);
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["_id"], first[0]["_id"]);
    assert!(messages[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Canopsis was upgraded to 4.5.0"));
}

// ---- 4. maintenance mode ---------------------------------------------------------------------

fn spec_23_10(extra: &str) -> InstallSpec {
    InstallSpec {
        installed: "23.10.0",
        offered: "23.10.1",
        healthcheck: Some(true),
        extra_config: format!(
            "{}[maintenance]\nenabled = true\n[manual]\nacknowledged = []\n{extra}",
            api_section()
        ),
        files: vec![key_file()],
        ..Default::default()
    }
}

#[test]
fn maintenance_mode_is_on_during_the_steps_and_off_at_the_end() {
    let s = canopsis::install(spec_23_10(""));
    start(&s, UNIT_23);
    let state = wait_inactive(&s, UNIT_23, Duration::from_secs(120));
    assert_eq!(state, "inactive", "{}", s.journal(UNIT_23));
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "23.10.1");

    let requests = s.api.requests();
    let puts = maintenance_puts(&requests);
    assert_eq!(
        puts.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
        [(true, 204), (false, 204)],
        "{puts:?}"
    );
    let timed = timed_calls(&s);
    assert!(!timed.is_empty());
    assert!(
        puts[0].1 < timed[0].0,
        "maintenance on before the first step: {timed:?}"
    );
    assert!(
        puts[1].1 > timed.last().unwrap().0,
        "maintenance off after the last step"
    );
    assert!(!s.api.maintenance());
    // The read back, after the steps: app-info and the live healthcheck.
    let last_call = timed.last().unwrap().0;
    for path in ["/api/v4/app-info", "/api/v4/healthcheck/live"] {
        assert!(
            requests
                .iter()
                .any(|r| r.path == path && r.at > last_call && r.status == 200),
            "{path} read after the steps"
        );
    }
    let journal = s.journal(UNIT_23);
    assert!(
        journal.contains("app-info reports 23.10.1, healthcheck ok"),
        "{journal}"
    );
}

#[test]
fn after_a_failure_maintenance_is_off_and_the_failure_is_announced() {
    let s = canopsis::install(spec_23_10("[broadcast]\nenabled = true\n"));
    s.write("/opt/canopsis/var/broken-engines", "engine-che\n", 0o644);
    keep_loaded(&s, UNIT_23);
    start(&s, UNIT_23);
    let state = wait_inactive(&s, UNIT_23, Duration::from_secs(120));
    assert_eq!(state, "failed", "{}", s.journal(UNIT_23));
    let status = s.show(UNIT_23, "StatusText");
    assert!(
        status.contains("canopsis-engine-go@engine-che.service"),
        "{status}"
    );

    assert!(!s.api.maintenance(), "maintenance left on after a failure");
    let puts = maintenance_puts(&s.api.requests());
    assert_eq!(
        puts.iter().map(|p| p.0).collect::<Vec<_>>(),
        [true, false],
        "{puts:?}"
    );
    let messages = s.api.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0]["message"].as_str().unwrap();
    // What runs now (the packages were installed before the failure), in users' words: no
    // unit, script or step in it.
    assert_eq!(
        text,
        "The upgrade of Canopsis to 23.10.1 did not complete; Canopsis 23.10.1 is running. \
         The administrators have the details."
    );
}

#[test]
fn a_crash_leaves_maintenance_on_and_the_next_run_switches_it_off_at_once() {
    let s = canopsis::install(spec_23_10(""));
    canopsis::crash_after_first_action(&s, "23.10.1", 1);
    assert!(s.api.maintenance(), "maintenance is on while the steps run");
    assert_eq!(status_json(&s)["current"]["maintenance_on"], true);

    // The next run waits for a window an hour away, but switches maintenance off first.
    add_config(&s, &window_section(second_from_now(3600), "2h"));
    let started = Timestamp::now();
    start(&s, UNIT_23);
    wait_for(Duration::from_secs(10), "maintenance off", || {
        !s.api.maintenance()
    });
    let off = maintenance_puts(&s.api.requests());
    let last = off.last().unwrap();
    assert!(!last.0 && last.1 > started && last.2 == 204, "{off:?}");
    wait_for(Duration::from_secs(10), "waiting for the window", || {
        s.show(UNIT_23, "StatusText")
            .contains("waiting for the maintenance window")
    });
    assert_eq!(s.show(UNIT_23, "ActiveState"), "active");
    assert_eq!(status_json(&s)["current"]["maintenance_on"], false);

    let out = s.systemctl(&["stop", UNIT_23]);
    assert!(out.status.success());
    assert_eq!(s.show(UNIT_23, "ActiveState"), "inactive");
    assert!(!s.api.maintenance());
}

// ---- 5. the version read back ----------------------------------------------------------------

#[test]
fn a_wrong_version_read_back_fails_the_run() {
    // The repository says 4.5.0 but its packages install 4.5.1: app-info reports it.
    let s = canopsis::install(InstallSpec {
        files: vec![(
            "/opt/canopsis/var/installs-version".into(),
            "4.5.1\n".into(),
            0o644,
        )],
        ..Default::default()
    });
    keep_loaded(&s, UNIT);
    start(&s, UNIT);
    let state = wait_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "failed", "{}", s.journal(UNIT));
    let status = s.show(UNIT, "StatusText");
    assert!(
        status.contains("app-info reports version 4.5.1, not the target 4.5.0"),
        "{status}"
    );
    assert_eq!(status_json(&s)["current"]["status"], "failed");
}

// ---- 6. an API that does not answer ---------------------------------------------------------

#[test]
fn a_dead_api_before_the_window_is_a_warning_by_default() {
    let mut s = canopsis::install_4_4_0();
    s.runtime.block_on(s.api.stop());
    start(&s, UNIT);
    let journal = s.journal(UNIT);
    assert!(
        journal.contains("does not answer") && journal.contains("going on"),
        "{journal}"
    );
    // Back before the read back (which retries within its budget).
    s.runtime.block_on(s.api.restart());
    let state = wait_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "inactive", "{}", s.journal(UNIT));
    assert_eq!(s.show(UNIT, "Result"), "success");
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.5.0");
}

#[test]
fn a_dead_api_after_the_upgrade_fails_the_run() {
    let mut s = canopsis::install(InstallSpec {
        extra_config: "[api]\nretry_budget = \"3s\"\n".into(),
        ..Default::default()
    });
    keep_loaded(&s, UNIT);
    s.runtime.block_on(s.api.stop());
    start(&s, UNIT);
    let state = wait_inactive(&s, UNIT, Duration::from_secs(120));
    assert_eq!(state, "failed", "{}", s.journal(UNIT));
    let status = s.show(UNIT, "StatusText");
    assert!(
        status.contains("the upgrade's steps are done but Canopsis API: reading the version back"),
        "{status}"
    );
}

#[test]
fn a_dead_api_fails_the_start_when_so_configured() {
    let mut s = canopsis::install(InstallSpec {
        extra_config: "[api]\nunreachable_before = \"error\"\n".into(),
        ..Default::default()
    });
    s.runtime.block_on(s.api.stop());
    let out = s.systemctl(&["start", UNIT]);
    assert!(!out.status.success(), "start succeeded with a dead API");
    let journal = s.journal(UNIT);
    assert!(journal.contains("does not answer"), "{journal}");
    assert!(calls(&s).is_empty(), "{:?}", calls(&s));
    assert!(
        !s.host_path("/var/lib/canopsis-upgrade/journal.json")
            .exists()
            || status_json(&s)["current"].is_null()
    );
}

// ---- 7. the window guard ---------------------------------------------------------------------

#[test]
fn a_plan_longer_than_what_is_left_of_the_window_pauses_until_the_next_one() {
    let s = canopsis::install_4_4_0();
    // Opened a minute ago for 10 minutes: 9 minutes left, the plan needs ~29.
    add_config(&s, &window_section(second_from_now(-60), "10m"));
    start(&s, UNIT);
    wait_for(Duration::from_secs(20), "the pause", || {
        s.journal(UNIT).contains("paused before step 1/5")
    });
    let began = Instant::now();
    while !s
        .show(UNIT, "StatusText")
        .contains("waiting for the maintenance window")
    {
        if began.elapsed() > Duration::from_secs(10) {
            let journal = s.journal(UNIT);
            panic!(
                "not waiting for the next window: StatusText {:?}, {} pause(s) in the journal; its start:\n{}",
                s.show(UNIT, "StatusText"),
                journal.matches("paused before step").count(),
                journal.lines().take(12).collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // It stands still: one pause, not a loop around the same window.
    std::thread::sleep(Duration::from_secs(2));
    let journal = s.journal(UNIT);
    assert_eq!(
        journal.matches("paused before step 1/5").count(),
        1,
        "{}",
        journal.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    assert!(
        journal.contains("does not fit in what is left of the window"),
        "{journal}"
    );
    // Next week's window: the same weekday, 7 days later.
    let status = s.show(UNIT, "StatusText");
    assert_eq!(s.show(UNIT, "ActiveState"), "active", "{status}");
    assert!(calls(&s).is_empty(), "{:?}", calls(&s));
    let current = status_json(&s)["current"].clone();
    assert!(
        current["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|step| step["state"] != "done"),
        "{current}"
    );

    let out = s.systemctl(&["stop", UNIT]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.show(UNIT, "ActiveState"), "inactive");
    assert!(
        s.journal(UNIT).contains("stopped before step 1/5"),
        "{}",
        s.journal(UNIT)
    );
    assert_eq!(read(&s, "/opt/canopsis/VERSION.txt").trim(), "4.4.0");
}

#[test]
fn a_repository_offering_a_newer_release_than_the_target_is_refused_before_ready() {
    // yum update would install 4.5.1 and skip nothing the plan knows of: refused up front.
    let s = canopsis::install(InstallSpec {
        offered: "4.5.1",
        ..Default::default()
    });
    let out = s.systemctl(&["start", UNIT]);
    assert!(!out.status.success(), "start succeeded");
    let journal = s.journal(UNIT);
    assert!(
        journal.contains(
            "the canopsis repositories offer 4.5.1: the package update would install it, not 4.5.0"
        ),
        "{journal}"
    );
    assert!(
        canopsis::calls(&s).is_empty(),
        "only the repository listing ran: {:?}",
        canopsis::all_calls(&s)
    );
}
