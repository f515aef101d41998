//! The orchestrator with fakes for everything it talks to: resume, pause at a window boundary,
//! maintenance mode left on by a crash, stop in each phase, failure. No root, no network.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use super::ports::{
    Announcement, BrokerWatch, DrainWatch, OutageSampling, SiteApi, StatusReport, StepSource,
    WallClock,
};
use super::stop::StopSignal;
use super::{Orchestrator, RunOutcome};
use crate::config::{Settings, Source};
use crate::journal::{JournalFile, QueueFigures, Run, RunStatus, StepEntry, StepState};
use crate::rabbitmq::DrainReport;
use crate::version::Version;

/// Everything the fakes saw, in order.
#[derive(Default)]
struct Log(RefCell<Vec<String>>);

impl Log {
    fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }
    fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    fn position(&self, line: &str) -> usize {
        self.lines()
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} not in {:#?}", self.lines()))
    }
    fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

struct FakeSite<'a> {
    log: &'a Log,
    maintenance: bool,
}

impl SiteApi for FakeSite<'_> {
    fn announce(&self, a: &Announcement) -> Result<String> {
        self.log.push(format!("announce {}", a.window.start));
        Ok(a.id())
    }
    fn announce_outcome(&self, _: &Announcement, success: bool, _: &str, _: bool) -> Result<()> {
        self.log.push(format!(
            "outcome {}",
            if success { "done" } else { "failed" }
        ));
        Ok(())
    }
    fn maintenance_applies(&self, _: &Version) -> bool {
        self.maintenance
    }
    fn set_maintenance(&self, enabled: bool) -> Result<()> {
        self.log.push(format!(
            "maintenance {}",
            if enabled { "on" } else { "off" }
        ));
        Ok(())
    }
    fn verify(&self, to: &Version) -> Result<String> {
        self.log.push("verify");
        Ok(format!("app-info reports {to}"))
    }
}

struct FakeBroker<'a> {
    log: &'a Log,
    watches: bool,
    stop_during_drain: bool,
}

struct FakeSampler;

impl OutageSampling for FakeSampler {
    fn finish(self: Box<Self>) -> u64 {
        40
    }
}

impl BrokerWatch for FakeBroker<'_> {
    fn watches(&self) -> bool {
        self.watches
    }
    fn baseline(&self) -> Result<BTreeMap<String, QueueFigures>> {
        self.log.push("baseline");
        let figures = QueueFigures {
            messages: 0,
            consumers: 1,
        };
        Ok(BTreeMap::from([("Engine_fifo".to_owned(), figures)]))
    }
    fn sample_outage(&self, _: &BTreeMap<String, QueueFigures>) -> Option<Box<dyn OutageSampling>> {
        Some(Box::new(FakeSampler))
    }
    fn watch_drain(
        &self,
        _: &BTreeMap<String, QueueFigures>,
        on_status: &mut dyn FnMut(&str),
    ) -> Option<DrainWatch> {
        self.log.push("drain");
        on_status("draining: 12 messages left");
        if self.stop_during_drain {
            return Some(DrainWatch::Stopped);
        }
        Some(DrainWatch::Drained(DrainReport {
            peak: 30,
            drain_time: Duration::from_secs(3),
            rate: Some(10.0),
            samples: 6,
            requests: 30,
            requests_per_minute: 600.0,
            watched: Duration::from_secs(3),
            outages: 0,
        }))
    }
}

struct FakeStatus<'a> {
    log: &'a Log,
}

impl StatusReport for FakeStatus<'_> {
    fn status(&self, status: &str) {
        self.log.push(format!("STATUS {status}"));
    }
    fn stopping(&self, status: &str) {
        self.log.push(format!("STOPPING {status}"));
    }
}

/// A clock that jumps to the end of every sleep, or raises the stop at the `stop_at_sleep`-th
/// sleep (1-based) as SIGTERM would while waiting.
struct FakeClock<'a> {
    log: &'a Log,
    now: Cell<Timestamp>,
    sleeps: Cell<usize>,
    stop_at_sleep: Option<usize>,
    stop: &'a StopSignal,
}

impl FakeClock<'_> {
    fn advance(&self, by: Duration) {
        self.now
            .set(self.now.get() + SignedDuration::try_from(by).unwrap());
    }
}

impl WallClock for FakeClock<'_> {
    fn now(&self) -> Timestamp {
        self.now.get()
    }
    fn sleep_until(&self, at: Timestamp) -> bool {
        self.sleeps.set(self.sleeps.get() + 1);
        if self.stop_at_sleep == Some(self.sleeps.get()) {
            self.log.push(format!("stopped while sleeping until {at}"));
            self.stop.raise();
            return false;
        }
        self.log.push(format!("sleep until {at}"));
        self.now.set(self.now.get().max(at));
        true
    }
}

/// Steps that take `takes` each on the fake clock; `fail_at` fails, `stop_during` raises the
/// stop while it runs (the step itself ends normally).
struct FakeSteps<'a> {
    log: &'a Log,
    clock: &'a FakeClock<'a>,
    stop: &'a StopSignal,
    count: usize,
    estimate: Duration,
    takes: Duration,
    fail_at: Option<usize>,
    stop_during: Option<usize>,
}

impl StepSource for FakeSteps<'_> {
    fn count(&self) -> usize {
        self.count
    }
    fn label(&self, index: usize) -> String {
        format!("{}/{}", index + 1, self.count)
    }
    fn remaining_estimate(&self, index: usize) -> Duration {
        self.estimate * (self.count - index) as u32
    }
    fn run(&self, index: usize, _: &str) -> Result<Vec<String>, String> {
        self.log.push(format!("step {}", index + 1));
        self.clock.advance(self.takes);
        if self.stop_during == Some(index + 1) {
            self.stop.raise();
        }
        if self.fail_at == Some(index + 1) {
            return Err("exit status 1".into());
        }
        Ok(vec![])
    }
}

const STEPS: usize = 5;

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

/// Saturday 2026-12-05 00:00 UTC; the window opens at 02:00 for an hour, Saturdays and Sundays.
fn saturday_midnight() -> Timestamp {
    "2026-12-05T00:00:00Z".parse().unwrap()
}

fn settings(extra: &str) -> Settings {
    let text = format!(
        "[window]\ntime_zone = \"UTC\"\n[[window.slot]]\ndays = [\"Sat\", \"Sun\"]\nstart = \"02:00\"\nlength = \"1h\"\n\
         [broadcast]\nenabled = true\nlead_time = \"1h\"\n{extra}"
    );
    Settings::from_sources(&[Source {
        file: "test.toml".into(),
        text,
    }])
    .unwrap()
}

/// A journal with a run of `STEPS` steps, the first `done` of them done.
fn journal(dir: &tempfile::TempDir, done: usize, edit: impl FnOnce(&mut Run)) -> JournalFile {
    let journal = JournalFile::open(&dir.path().join("journal.json")).unwrap();
    let step = |i: usize| StepEntry {
        version: None,
        hook: format!("hook{i}"),
        function: "f".into(),
        script: "test.rhai".into(),
        sha256: "0".repeat(64),
        state: if i < done {
            StepState::Done
        } else {
            StepState::Pending
        },
        attempts: u32::from(i < done),
        started_at: None,
        finished_at: None,
        error: None,
    };
    let mut run = Run {
        id: "test-run".into(),
        from: v("23.10.0"),
        to: v("24.04.0"),
        started_at: saturday_midnight(),
        status: RunStatus::Running,
        steps: (0..STEPS).map(step).collect(),
        backups: vec![],
        maintenance_on: false,
        announcement: None,
        baseline: None,
    };
    edit(&mut run);
    journal.update(|j| j.current = Some(run)).unwrap();
    journal
}

/// One scenario: what the fakes do, and what came of it.
struct Scenario {
    extra_config: &'static str,
    done: usize,
    maintenance_left_on: bool,
    estimate: Duration,
    takes: Duration,
    fail_at: Option<usize>,
    stop_during: Option<usize>,
    stop_at_sleep: Option<usize>,
    watches_broker: bool,
    now: bool,
    /// SIGTERM before the orchestrator starts.
    stop_before: bool,
    /// A baseline in the journal from before a crash.
    baseline_before: bool,
    /// SIGTERM during the drain watch.
    stop_during_drain: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            extra_config: "",
            done: 0,
            maintenance_left_on: false,
            estimate: Duration::from_secs(5 * 60),
            takes: Duration::from_secs(60),
            fail_at: None,
            stop_during: None,
            stop_at_sleep: None,
            watches_broker: false,
            now: false,
            stop_before: false,
            baseline_before: false,
            stop_during_drain: false,
        }
    }
}

struct Ran {
    log: Log,
    outcome: Result<RunOutcome>,
    journal: JournalFile,
    _dir: tempfile::TempDir,
}

impl Ran {
    /// The last STATUS of a completed run.
    fn summary(&self) -> String {
        self.log
            .lines()
            .into_iter()
            .rfind(|l| l.starts_with("STATUS upgraded"))
            .unwrap_or_else(|| panic!("no summary: {:#?}", self.log.lines()))
    }

    fn steps(&self) -> Vec<String> {
        self.log
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("step "))
            .collect()
    }
    fn run(&self) -> Option<Run> {
        self.journal.read(|j| j.current.clone())
    }
}

impl Scenario {
    fn run(self) -> Ran {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(&dir, self.done, |r| {
            r.maintenance_on = self.maintenance_left_on;
            if self.baseline_before {
                let figures = QueueFigures {
                    messages: 7,
                    consumers: 1,
                };
                r.baseline = Some(BTreeMap::from([("Engine_fifo".to_owned(), figures)]));
            }
        });
        let settings = settings(self.extra_config);
        let log = Log::default();
        let stop = StopSignal::default();
        if self.stop_before {
            stop.raise();
        }
        let outcome = {
            let clock = FakeClock {
                log: &log,
                now: Cell::new(saturday_midnight()),
                sleeps: Cell::new(0),
                stop_at_sleep: self.stop_at_sleep,
                stop: &stop,
            };
            let steps = FakeSteps {
                log: &log,
                clock: &clock,
                stop: &stop,
                count: STEPS,
                estimate: self.estimate,
                takes: self.takes,
                fail_at: self.fail_at,
                stop_during: self.stop_during,
            };
            let site = FakeSite {
                log: &log,
                maintenance: settings.maintenance.enabled,
            };
            let broker = FakeBroker {
                log: &log,
                watches: self.watches_broker,
                stop_during_drain: self.stop_during_drain,
            };
            let status = FakeStatus { log: &log };
            let (from, to) = (v("23.10.0"), v("24.04.0"));
            Orchestrator {
                settings: &settings,
                journal: &journal,
                site: &site,
                broker: &broker,
                status: &status,
                clock: &clock,
                stop: &stop,
                steps: &steps,
                from: &from,
                to: &to,
                now: self.now,
            }
            .run()
        };
        Ran {
            log,
            outcome,
            journal,
            _dir: dir,
        }
    }
}

fn completed(ran: &Ran) -> usize {
    match &ran.outcome {
        Ok(RunOutcome::Completed { ran, .. }) => *ran,
        other => panic!("not completed: {other:?}\n{:#?}", ran.log.lines()),
    }
}

#[test]
fn a_run_announces_waits_for_the_window_and_runs_every_step_in_it() {
    let ran = Scenario::default().run();
    assert_eq!(completed(&ran), STEPS);
    let lines = ran.log.lines();
    let announce = ran.log.position("announce 2026-12-05T02:00:00Z");
    assert_eq!(
        lines[announce - 1],
        "sleep until 2026-12-05T01:00:00Z",
        "{lines:#?}"
    );
    assert_eq!(
        lines[announce + 2],
        "sleep until 2026-12-05T02:00:00Z",
        "{lines:#?}"
    );
    assert!(ran.log.position("step 1") > announce);
    assert!(ran.log.position("outcome done") > ran.log.position("step 5"));
    assert!(ran.run().is_none(), "the run went to history");
    assert_eq!(ran.journal.read(|j| j.history.len()), 1);
}

#[test]
fn a_resumed_run_starts_at_the_first_step_not_done_whatever_it_is() {
    for done in 0..STEPS {
        let ran = Scenario {
            done,
            ..Default::default()
        }
        .run();
        assert_eq!(completed(&ran), STEPS - done, "done before: {done}");
        let expected: Vec<String> = (done + 1..=STEPS).map(|n| format!("step {n}")).collect();
        assert_eq!(ran.steps(), expected, "done before: {done}");
    }
}

#[test]
fn a_step_a_crash_left_running_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    // Steps 1-2 done, step 3 started and never finished (the process died in it).
    drop(journal(&dir, 2, |r| r.steps[2].state = StepState::Running));
    let journal = JournalFile::open(&dir.path().join("journal.json")).unwrap();
    let first = journal.read(super::journaling::first_not_done);
    assert_eq!(first, 3);
    let ran = Scenario {
        done: 2,
        ..Default::default()
    }
    .run();
    assert_eq!(ran.steps(), ["step 3", "step 4", "step 5"]);
}

#[test]
fn a_plan_longer_than_the_rest_of_the_window_pauses_until_the_next_window() {
    // 5 steps estimated 10 min each fit in the 1 h window, but each takes 20 min: before step 3,
    // 40 min are gone and the 30 min left of the plan no longer fit in the 20 min left.
    let ran = Scenario {
        estimate: Duration::from_secs(10 * 60),
        takes: Duration::from_secs(20 * 60),
        extra_config: "[maintenance]\nenabled = true\n",
        ..Default::default()
    }
    .run();
    assert_eq!(completed(&ran), STEPS);
    let lines = ran.log.lines();
    let paused = lines
        .iter()
        .position(|l| l.contains("paused before step 3/5"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(
        lines[paused - 1],
        "maintenance off",
        "closed at the pause: {lines:#?}"
    );
    assert_eq!(lines[paused - 2], "step 2");
    // The next window is Sunday's; steps 3-5 run in it, maintenance on again.
    let sunday = ran.log.position("sleep until 2026-12-06T02:00:00Z");
    assert!(sunday > paused);
    assert_eq!(lines[sunday + 1], "maintenance on");
    assert!(ran.log.position("step 3") > sunday + 1);
    assert_eq!(
        ran.steps(),
        ["step 1", "step 2", "step 3", "step 4", "step 5"]
    );
    assert_eq!(ran.log.count("maintenance on"), 2);
    assert_eq!(ran.log.count("maintenance off"), 2);
}

#[test]
fn maintenance_mode_left_on_by_a_crash_is_switched_off_before_waiting() {
    let ran = Scenario {
        done: 2,
        maintenance_left_on: true,
        extra_config: "[maintenance]\nenabled = true\n",
        ..Default::default()
    }
    .run();
    let lines = ran.log.lines();
    assert_eq!(lines[0], "maintenance off", "first of all: {lines:#?}");
    assert!(ran.log.position("sleep until 2026-12-05T01:00:00Z") > 0);
    // On again only when the window opens, off at the end.
    assert!(
        ran.log.position("maintenance on") > ran.log.position("sleep until 2026-12-05T02:00:00Z")
    );
    assert_eq!(
        lines
            .iter()
            .rev()
            .find(|l| l.starts_with("maintenance"))
            .unwrap(),
        "maintenance off"
    );
    assert_eq!(completed(&ran), 3);
}

#[test]
fn a_stop_while_waiting_to_announce_ends_before_anything_happens() {
    let ran = Scenario {
        stop_at_sleep: Some(1),
        ..Default::default()
    }
    .run();
    assert!(matches!(
        ran.outcome,
        Ok(RunOutcome::Stopped { next_step: 1 })
    ));
    assert_eq!(ran.log.count("announce"), 0);
    assert!(ran.steps().is_empty());
    assert!(ran
        .log
        .lines()
        .last()
        .unwrap()
        .starts_with("STOPPING stopped before step 1/5"));
}

#[test]
fn a_stop_while_waiting_for_the_window_ends_after_the_announcement_only() {
    let ran = Scenario {
        stop_at_sleep: Some(2),
        done: 1,
        extra_config: "[maintenance]\nenabled = true\n",
        ..Default::default()
    }
    .run();
    assert!(matches!(
        ran.outcome,
        Ok(RunOutcome::Stopped { next_step: 2 })
    ));
    assert_eq!(ran.log.count("announce"), 1);
    assert_eq!(ran.log.count("maintenance"), 0);
    assert!(ran.steps().is_empty());
    assert!(
        ran.run().unwrap().announcement.is_some(),
        "journaled: a rerun updates it"
    );
}

#[test]
fn a_stop_during_a_step_ends_at_its_boundary_with_maintenance_off() {
    for during in 1..=STEPS {
        let ran = Scenario {
            stop_during: Some(during),
            extra_config: "[maintenance]\nenabled = true\n",
            ..Default::default()
        }
        .run();
        let steps: Vec<String> = (1..=during).map(|n| format!("step {n}")).collect();
        assert_eq!(ran.steps(), steps);
        if during == STEPS {
            // The last step ended: nothing is left, the run completes.
            assert_eq!(completed(&ran), STEPS);
            continue;
        }
        match ran.outcome {
            Ok(RunOutcome::Stopped { next_step }) => assert_eq!(next_step, during + 1),
            ref other => panic!("{other:?}"),
        }
        let run = ran.run().unwrap();
        assert_eq!(run.status, RunStatus::Stopped);
        assert!(!run.maintenance_on);
        assert_eq!(
            ran.log.lines().iter().rev().nth(1).unwrap(),
            "maintenance off"
        );
    }
}

#[test]
fn a_stop_in_the_open_window_before_the_first_step_runs_nothing() {
    // `--now`: no waiting; SIGTERM came during the preflight.
    let ran = Scenario {
        now: true,
        stop_before: true,
        ..Default::default()
    }
    .run();
    assert!(matches!(
        ran.outcome,
        Ok(RunOutcome::Stopped { next_step: 1 })
    ));
    assert!(ran.steps().is_empty());
    assert_eq!(ran.log.count("sleep"), 0, "--now waits for nothing");
}

#[test]
fn a_failed_step_fails_the_run_with_maintenance_off_and_the_failure_announced() {
    let ran = Scenario {
        fail_at: Some(3),
        extra_config: "[maintenance]\nenabled = true\n",
        ..Default::default()
    }
    .run();
    let error = ran.outcome.as_ref().unwrap_err().to_string();
    assert_eq!(error, "failed at 3/5: exit status 1");
    assert_eq!(ran.steps(), ["step 1", "step 2", "step 3"]);
    let run = ran.run().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.steps[2].state, StepState::Failed);
    assert!(!run.maintenance_on);
    assert!(ran.log.position("outcome failed") > ran.log.position("maintenance off"));
    // A new run resumes at the failed step.
    assert_eq!(ran.journal.read(super::journaling::first_not_done), 3);
}

#[test]
fn the_broker_baseline_is_taken_once_and_the_drain_watched_after_the_steps() {
    let ran = Scenario {
        watches_broker: true,
        ..Default::default()
    }
    .run();
    assert_eq!(completed(&ran), STEPS);
    assert_eq!(ran.log.count("baseline"), 1);
    assert!(ran.log.position("baseline") < ran.log.position("step 1"));
    assert!(ran.log.position("drain") > ran.log.position("verify"));
    let summary = ran.summary();
    // The outage sampler saw 40, more than the watch's 30.
    assert_eq!(
        summary,
        "STATUS upgraded from 23.10.0 to 24.04.0; backlog peak 40 messages, drained in 3.0 s at 10/s"
    );
}

#[test]
fn a_run_with_a_baseline_from_before_a_crash_keeps_it() {
    // The baseline journaled by the crashed run must not be taken again from the queues of a
    // half-upgraded Canopsis.
    let ran = Scenario {
        watches_broker: true,
        done: 3,
        baseline_before: true,
        ..Default::default()
    }
    .run();
    assert_eq!(completed(&ran), 2);
    assert_eq!(ran.log.count("baseline"), 0);
    assert_eq!(ran.log.count("drain"), 1);
}

#[test]
fn a_stop_during_the_drain_watch_ends_it_and_the_run_is_done_unverified() {
    let ran = Scenario {
        watches_broker: true,
        stop_during_drain: true,
        extra_config: "[maintenance]\nenabled = true\n",
        ..Default::default()
    }
    .run();
    assert_eq!(completed(&ran), STEPS);
    assert!(ran.run().is_none(), "recorded as done");
    assert!(ran.log.position("outcome done") > ran.log.position("drain"));
    let summary = ran.summary();
    assert_eq!(
        summary,
        "STATUS upgraded from 23.10.0 to 24.04.0; stopped before the drain was verified"
    );
}
