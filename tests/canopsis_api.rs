//! The Canopsis REST client against a fake API that follows the contract of FACTS.md.

use canopsis_upgrade_test_support::fake_canopsis;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;
use canopsis_upgrade::canopsis::{
    retry, ApiClient, ApiError, Auth, AuthKind, BroadcastMessage, MaintenanceChange, RetryError,
    Secret, Written,
};
use fake_canopsis::{FakeCanopsis, Fault, Options, User, API_KEY, PASSWORD, USER};
use jiff::Timestamp;
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(5);
const ID: &str = "canopsis-upgrade-4.5.0-20261128T0100Z";

fn login() -> Auth {
    Auth::Login {
        user: USER.into(),
        password: Secret::new(PASSWORD),
    }
}

fn basic() -> Auth {
    Auth::Basic {
        user: USER.into(),
        password: Secret::new(PASSWORD),
    }
}

fn client(fake: &FakeCanopsis, auth: Auth) -> ApiClient {
    ApiClient::new(&fake.url(), auth, TIMEOUT).unwrap()
}

fn message(id: &str, text: &str) -> BroadcastMessage {
    let start = Timestamp::now() - jiff::SignedDuration::from_mins(5);
    BroadcastMessage {
        id: id.into(),
        message: text.into(),
        color: "#2fab63".into(),
        start,
        end: start + jiff::SignedDuration::from_hours(2),
    }
}

/// Every secret of the fake's default user, as any layer might print it.
fn secrets() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        API_KEY.to_owned(),
        base64(&format!("{USER}:{PASSWORD}")),
        "fake-token-".to_owned(),
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{what} leaks {secret:?}: {text}");
    }
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}

fn statuses(fake: &FakeCanopsis, method: &str, path: &str) -> Vec<u16> {
    fake.requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn app_info_is_public_and_reflects_maintenance() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, login());
    let info = api.app_info().await.unwrap();
    assert_eq!(info.version, "23.10.2");
    assert_eq!(info.edition.as_deref(), Some("community"));
    assert_eq!(info.stack.as_deref(), Some("go"));
    assert!(!info.maintenance);
    assert_eq!(info.parsed_version().unwrap().as_str(), "23.10.2");
    assert_eq!(info.other["timezone"], "Europe/Paris");
    // No credentials were sent, and no login was needed.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].header("authorization").is_none());
    assert!(requests[0].header("x-canopsis-authkey").is_none());

    api.set_maintenance(true, Some("upgrade"), None)
        .await
        .unwrap();
    assert!(api.app_info().await.unwrap().maintenance);
}

#[tokio::test]
async fn app_info_falls_back_to_the_4_3_route() {
    let fake = FakeCanopsis::start_with(Options {
        version: "4.3.0".into(),
        legacy_app_info: true,
        ..Options::default()
    })
    .await;
    let info = client(&fake, Auth::None).app_info().await.unwrap();
    assert_eq!(info.version, "4.3.0");
    assert!(!info.maintenance);
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/v4/app-info", "/api/v4/internal/app_info"]);
}

#[tokio::test]
async fn healthcheck_live_is_none_before_23_10() {
    let fake = FakeCanopsis::start().await;
    assert_eq!(
        client(&fake, Auth::None).healthcheck_live().await.unwrap(),
        Some(true)
    );
    let sick = FakeCanopsis::start_with(Options {
        healthcheck: Some(false),
        ..Options::default()
    })
    .await;
    assert_eq!(
        client(&sick, Auth::None).healthcheck_live().await.unwrap(),
        Some(false)
    );
    let old = FakeCanopsis::start_with(Options {
        version: "4.5.0".into(),
        healthcheck: None,
        ..Options::default()
    })
    .await;
    assert_eq!(
        client(&old, Auth::None).healthcheck_live().await.unwrap(),
        None
    );
}

#[tokio::test]
async fn each_kind_of_credentials_is_sent_as_canopsis_expects() {
    let fake = FakeCanopsis::start().await;
    for (auth, header, shown) in [
        (
            Auth::ApiKey(Secret::new(API_KEY)),
            "x-canopsis-authkey",
            "<redacted>",
        ),
        (basic(), "authorization", "Basic <redacted>"),
        (login(), "authorization", "Bearer <redacted>"),
    ] {
        let api = client(&fake, auth);
        let before = fake.requests().len();
        api.list_broadcasts().await.unwrap();
        api.list_broadcasts().await.unwrap();
        let requests = fake.requests()[before..].to_vec();
        let lists: Vec<_> = requests
            .iter()
            .filter(|r| r.path == "/api/v4/broadcast-message")
            .collect();
        assert_eq!(lists.len(), 2);
        for r in &lists {
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.header(header), Some(shown), "{r:?}");
        }
    }
    // The login client logged in once, for both calls.
    let logins = statuses(&fake, "POST", "/api/v4/login");
    assert_eq!(logins, [200]);
    let body: Value = serde_json::from_str(
        &fake
            .requests()
            .iter()
            .find(|r| r.path == "/api/v4/login")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(body, json!({"username": USER, "password": "<redacted>"}));
}

#[tokio::test]
async fn an_expired_token_means_one_fresh_login() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, login());
    api.list_broadcasts().await.unwrap();
    fake.forget_tokens(); // Canopsis restarted.
    api.list_broadcasts().await.unwrap();
    assert_eq!(statuses(&fake, "POST", "/api/v4/login"), [200, 200]);
    assert_eq!(
        statuses(&fake, "GET", "/api/v4/broadcast-message"),
        [200, 401, 200]
    );
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_errors() {
    let fake = FakeCanopsis::start().await;
    let wrong = "Wr0ng-".to_owned() + PASSWORD;
    for auth in [
        Auth::ApiKey(Secret::new(&wrong)),
        Auth::Basic {
            user: USER.into(),
            password: Secret::new(&wrong),
        },
        Auth::Login {
            user: USER.into(),
            password: Secret::new(&wrong),
        },
        Auth::None,
    ] {
        let shown = auth.to_string();
        let e = client(&fake, auth).list_broadcasts().await.unwrap_err();
        assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
        assert!(!e.is_transient());
        let text = e.to_string();
        assert!(
            text.contains("Not authorized") && text.contains(&shown),
            "{text}"
        );
        assert!(!text.contains(&wrong) && !format!("{e:?}").contains(&wrong));
    }
    // A refused login is not retried in a loop.
    assert_eq!(statuses(&fake, "POST", "/api/v4/login"), [401]);
}

#[tokio::test]
async fn broadcast_messages_can_be_created_read_updated_and_deleted() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, login());
    let m = message("", "Upgrade to 4.5.0 tonight");
    let created = api.create_broadcast(&m).await.unwrap();
    let id = created.broadcast.id.clone();
    assert!(!id.is_empty());
    assert_eq!(created.broadcast.message, m.message);
    assert_eq!(created.broadcast.start.as_second(), m.start.as_second());
    assert_eq!(created.author.as_deref(), Some(USER));
    assert!(created.created.is_some() && created.updated.is_some());
    // Sent as Unix seconds, without an _id.
    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/api/v4/broadcast-message")
        .unwrap();
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["start"], m.start.as_second());
    assert!(body.get("_id").is_none());

    let got = api.get_broadcast(&id).await.unwrap().unwrap();
    assert_eq!(got.broadcast, created.broadcast);

    let changed = BroadcastMessage {
        message: "Postponed".into(),
        color: "hsl(30, 100%, 50%)".into(),
        ..m.clone()
    };
    let updated = api.update_broadcast(&id, &changed).await.unwrap();
    assert_eq!(updated.broadcast.message, "Postponed");
    assert_eq!(updated.broadcast.id, id);
    let put = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert!(
        !put.body.contains("_id"),
        "PUT takes the body without _id: {}",
        put.body
    );

    assert_eq!(api.list_broadcasts().await.unwrap().len(), 1);
    assert!(api.delete_broadcast(&id).await.unwrap());
    assert_eq!(
        statuses(&fake, "DELETE", &format!("/api/v4/broadcast-message/{id}")),
        [204]
    );
    assert!(api.get_broadcast(&id).await.unwrap().is_none());
    assert!(!api.delete_broadcast(&id).await.unwrap());
    let e = api.update_broadcast(&id, &changed).await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 404, .. }), "{e:?}");
    assert!(e.to_string().contains("Not found"), "{e}");
}

#[tokio::test]
async fn upsert_after_a_crash_updates_instead_of_duplicating() {
    let fake = FakeCanopsis::start().await;
    let first = client(&fake, login());
    let (how, stored) = first
        .upsert_broadcast(&message(ID, "Upgrade tonight"))
        .await
        .unwrap();
    assert_eq!(how, Written::Created);
    assert_eq!(stored.broadcast.id, ID);
    drop(first); // The daemon crashed; the new one does the step again.
    let again = client(&fake, basic());
    let (how, stored) = again
        .upsert_broadcast(&message(ID, "Upgrade tonight (resumed)"))
        .await
        .unwrap();
    assert_eq!(how, Written::Updated);
    assert_eq!(stored.broadcast.message, "Upgrade tonight (resumed)");
    let all = again.list_broadcasts().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].broadcast.message, "Upgrade tonight (resumed)");
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(
        statuses(&fake, "POST", "/api/v4/broadcast-message"),
        [201, 400]
    );
    assert_eq!(
        statuses(&fake, "PUT", &format!("/api/v4/broadcast-message/{ID}")),
        [200]
    );
}

#[tokio::test]
async fn upsert_does_not_mistake_other_validation_errors() {
    let fake = FakeCanopsis::start().await;
    // A raw POST with a colour the server refuses (the client would not send it).
    let raw = reqwest::Client::new()
        .post(format!("{}/api/v4/broadcast-message", fake.url()))
        .header("x-canopsis-authkey", API_KEY)
        .json(&json!({"_id": ID, "message": "m", "color": "red", "start": 1, "end": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let api = client(&fake, login());
    let e = api
        .upsert_broadcast(&message("", "no id"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::InvalidRequest(_)), "{e:?}");
    let e = api
        .upsert_broadcast(&BroadcastMessage {
            color: "red".into(),
            ..message(ID, "m")
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("\"red\" is not a CSS colour"), "{e}");
    // Refused before anything was sent.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn active_messages_are_public() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, login());
    api.create_broadcast(&message("now", "now")).await.unwrap();
    let later = Timestamp::now() + jiff::SignedDuration::from_hours(24);
    api.create_broadcast(&BroadcastMessage {
        start: later,
        end: later + jiff::SignedDuration::from_hours(1),
        ..message("later", "later")
    })
    .await
    .unwrap();
    let active = client(&fake, Auth::None).active_broadcasts().await.unwrap();
    let ids: Vec<_> = active.iter().map(|m| m.broadcast.id.as_str()).collect();
    assert_eq!(ids, ["now"]);
}

#[tokio::test]
async fn listing_reads_every_page() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, Auth::ApiKey(Secret::new(API_KEY)));
    for i in 0..130 {
        api.create_broadcast(&message(&format!("m{i:03}"), "x"))
            .await
            .unwrap();
    }
    let all = api.list_broadcasts().await.unwrap();
    assert_eq!(all.len(), 130);
    assert_eq!(all[129].broadcast.id, "m129");
    let queries: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| r.query)
        .collect();
    assert_eq!(queries, ["page=1&limit=100", "page=2&limit=100"]);
}

#[tokio::test]
async fn the_fake_follows_the_contract() {
    let fake = FakeCanopsis::start().await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}/api/v4/{p}", fake.url());
    let send = |r: reqwest::RequestBuilder| async move {
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let (s, b) = send(http.get(url("broadcast-message"))).await;
    assert_eq!((s, b), (401, json!({"error": "Not authorized"})));
    let authed = |r: reqwest::RequestBuilder| r.basic_auth(USER, Some(PASSWORD));
    let (s, b) = send(authed(http.post(url("broadcast-message"))).json(&json!({}))).await;
    assert_eq!(s, 400);
    let fields: Vec<_> = b["errors"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(fields, ["color", "end", "message", "start"]);
    let (s, b) = send(
        authed(http.post(url("broadcast-message")))
            .json(&json!({"message": "m", "color": "#fff", "start": "soon", "end": 2})),
    )
    .await;
    assert_eq!(
        (s, b),
        (400, json!({"error": "request has invalid structure"}))
    );
    let body = json!({"_id": "x", "message": "m", "color": "rgb(1, 2, 3)", "start": 1, "end": 2});
    let (s, b) = send(authed(http.post(url("broadcast-message"))).json(&body)).await;
    assert_eq!(s, 201);
    let mut keys: Vec<_> = b.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["_id", "author", "color", "created", "end", "message", "start", "updated"]
    );
    let (s, b) = send(authed(http.post(url("broadcast-message"))).json(&body)).await;
    assert_eq!(
        (s, b),
        (400, json!({"errors": {"_id": "ID already exists."}}))
    );
    let (s, b) = send(authed(http.get(url("broadcast-message/nope")))).await;
    assert_eq!((s, b), (404, json!({"error": "Not found"})));
    let (s, b) = send(authed(http.get(url("broadcast-message")))).await;
    assert_eq!(s, 200);
    assert_eq!(
        b["meta"],
        json!({"page": 1, "per_page": 10, "page_count": 1, "total_count": 1})
    );
    let (s, _) = send(authed(http.delete(url("broadcast-message/x")))).await;
    assert_eq!(s, 204);
    let (s, b) = send(authed(http.put(url("maintenance"))).json(&json!({"enabled": true}))).await;
    assert_eq!(
        (s, b),
        (400, json!({"errors": {"message": "Message is missing."}}))
    );
    let (s, _) = send(authed(http.put(url("maintenance"))).json(&json!({"enabled": false}))).await;
    assert_eq!(s, 400);
    let (s, _) = send(http.get(url("active-broadcast-message"))).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn maintenance_mode_is_idempotent() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, login());
    use MaintenanceChange::*;
    assert_eq!(
        api.set_maintenance(false, None, None).await.unwrap(),
        AlreadySo
    );
    assert_eq!(
        api.set_maintenance(true, Some("Upgrade to 4.5.0"), Some("#ff0000"))
            .await
            .unwrap(),
        Changed
    );
    assert!(fake.maintenance());
    assert_eq!(
        api.set_maintenance(true, Some("Upgrade to 4.5.0"), None)
            .await
            .unwrap(),
        AlreadySo
    );
    // The user has the api_maintenance right: everything still works.
    api.create_broadcast(&message(ID, "in maintenance"))
        .await
        .unwrap();
    assert_eq!(
        api.set_maintenance(false, None, None).await.unwrap(),
        Changed
    );
    assert_eq!(
        api.set_maintenance(false, None, None).await.unwrap(),
        AlreadySo
    );
    assert!(!fake.maintenance());
    assert_eq!(
        statuses(&fake, "PUT", "/api/v4/maintenance"),
        [400, 204, 400, 204, 400]
    );
    // Client-side checks: a message to enable, a valid colour.
    for (message, color) in [(None, None), (Some(" "), None), (Some("m"), Some("blue"))] {
        let e = api.set_maintenance(true, message, color).await.unwrap_err();
        assert!(matches!(e, ApiError::InvalidRequest(_)), "{e:?}");
    }
}

#[tokio::test]
async fn users_without_the_right_get_503_during_maintenance() {
    let fake = FakeCanopsis::start().await;
    fake.add_user(User::without_maintenance_right(
        "operator",
        "operator-pw",
        "operator-key",
    ));
    let admin = client(&fake, login());
    let operator = client(
        &fake,
        Auth::Login {
            user: "operator".into(),
            password: Secret::new("operator-pw"),
        },
    );
    let keyed = client(&fake, Auth::ApiKey(Secret::new("operator-key")));
    operator.list_broadcasts().await.unwrap();
    admin
        .set_maintenance(true, Some("Upgrade"), None)
        .await
        .unwrap();
    for api in [&operator, &keyed] {
        let e = api.list_broadcasts().await.unwrap_err();
        assert!(matches!(e, ApiError::Maintenance { .. }), "{e:?}");
        assert!(e.is_transient());
        assert!(
            e.to_string().contains("canopsis is under maintenance"),
            "{e}"
        );
    }
    // Public routes still answer.
    assert!(operator.app_info().await.unwrap().maintenance);
    admin.list_broadcasts().await.unwrap();
    admin.set_maintenance(false, None, None).await.unwrap();
    operator.list_broadcasts().await.unwrap();
}

#[tokio::test]
async fn a_few_500_are_retried_within_the_budget() {
    let fake = FakeCanopsis::start().await;
    fake.inject(
        Some(Method::POST),
        "/api/v4/broadcast-message",
        Fault::Status(500),
        Some(2),
    );
    let api = Arc::new(client(&fake, login()));
    let m = message(ID, "Upgrade tonight");
    // Spawned: the retried call is Send, as the daemon needs.
    let task = {
        let api = api.clone();
        tokio::spawn(async move {
            retry(
                Duration::from_secs(10),
                Duration::from_millis(10),
                Duration::from_millis(50),
                || api.upsert_broadcast(&m),
            )
            .await
        })
    };
    let (how, _) = task.await.unwrap().unwrap();
    assert_eq!(how, Written::Created);
    assert_eq!(
        statuses(&fake, "POST", "/api/v4/broadcast-message"),
        [500, 500, 201]
    );
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn endless_500_fail_after_the_budget_with_the_last_status() {
    let fake = FakeCanopsis::start().await;
    fake.inject(None, "/api/v4/app-info", Fault::Status(502), None);
    let api = client(&fake, Auth::None);
    let started = Instant::now();
    let budget = Duration::from_millis(400);
    let e = retry(
        budget,
        Duration::from_millis(20),
        Duration::from_millis(80),
        || api.app_info(),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= budget && took < budget + Duration::from_secs(2),
        "{took:?}"
    );
    let RetryError::Exhausted { attempts, last, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(*attempts >= 4, "{attempts}");
    assert!(
        matches!(last, ApiError::Status { status: 502, .. }),
        "{last:?}"
    );
    let text = e.to_string();
    assert!(text.contains("HTTP 502: Internal server error"), "{text}");
    assert!(text.contains("attempts"), "{text}");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake = FakeCanopsis::start().await;
    let api = client(&fake, basic());
    let started = Instant::now();
    let m = message("", "x");
    let e = retry(
        Duration::from_secs(30),
        Duration::from_millis(100),
        Duration::from_secs(1),
        || api.update_broadcast("missing", &m),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            RetryError::Permanent(ApiError::Status { status: 404, .. })
        ),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn garbage_json_is_a_clear_error() {
    let fake = FakeCanopsis::start().await;
    fake.inject(None, "/api/v4/app-info", Fault::Garbage, Some(1));
    let api = client(&fake, Auth::None);
    let e = api.app_info().await.unwrap_err();
    assert!(matches!(e, ApiError::BadJson { .. }), "{e:?}");
    assert!(!e.is_transient());
    let text = e.to_string();
    assert!(
        text.contains("GET")
            && text.contains("/api/v4/app-info")
            && text.contains("not app-info JSON"),
        "{text}"
    );
    assert!(text.contains("the body starts with"), "{text}");
    fake.inject(
        Some(Method::POST),
        "/api/v4/broadcast-message",
        Fault::Garbage,
        Some(1),
    );
    let e = client(&fake, basic())
        .create_broadcast(&message("", "x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a broadcast message"), "{e}");
}

#[tokio::test]
async fn a_slow_api_times_out_clearly() {
    let fake = FakeCanopsis::start().await;
    fake.inject(
        None,
        "/api/v4/app-info",
        Fault::Delay(Duration::from_secs(10)),
        Some(1),
    );
    let timeout = Duration::from_millis(300);
    let api = ApiClient::new(&fake.url(), Auth::None, timeout).unwrap();
    let started = Instant::now();
    let e = api.app_info().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(1),
        "{took:?}"
    );
    assert!(matches!(e, ApiError::Timeout { .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(e.to_string().contains("no answer within 300ms"), "{e}");
}

#[tokio::test]
async fn a_down_api_is_unreachable_until_it_comes_back() {
    let mut fake = FakeCanopsis::start().await;
    fake.stop().await;
    let api = client(&fake, login());
    let e = api.app_info().await.unwrap_err();
    assert!(matches!(e, ApiError::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());
    let text = e.to_string();
    assert!(
        text.contains("unreachable") && text.contains(&fake.url()),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    // It comes back while the caller retries.
    let (result, ()) = tokio::join!(
        retry(
            Duration::from_secs(10),
            Duration::from_millis(20),
            Duration::from_millis(100),
            || api.set_maintenance(true, Some("Upgrade"), None),
        ),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            fake.restart().await;
        }
    );
    assert_eq!(result.unwrap(), MaintenanceChange::Changed);
}

#[tokio::test]
async fn credentials_load_from_files_and_credential_directories() {
    let fake = FakeCanopsis::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), format!("{API_KEY}\n")).unwrap();
    std::fs::write(dir.path().join("login"), format!("{USER}:{PASSWORD}\n")).unwrap();
    let key = Auth::from_file(&dir.path().join("key"), AuthKind::ApiKey).unwrap();
    client(&fake, key).list_broadcasts().await.unwrap();
    for kind in [AuthKind::Basic, AuthKind::Login] {
        let auth = Auth::from_credentials_directory(Some(dir.path()), "login", kind).unwrap();
        client(&fake, auth).list_broadcasts().await.unwrap();
    }
    let e = Auth::from_file(&dir.path().join("login"), AuthKind::ApiKey);
    assert!(e.is_ok(), "an API key may hold a colon");
    std::fs::write(dir.path().join("bad"), format!("{PASSWORD}\n")).unwrap();
    let e = Auth::from_file(&dir.path().join("bad"), AuthKind::Login).unwrap_err();
    assert_no_secret("a malformed credential error", &format!("{e} {e:?}"));
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_never_appear_in_errors_debug_logs_or_the_request_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global: a thread-scoped subscriber misses events when tests run in parallel threads (the
    // callsite interest cache is shared); this one also sees the other tests' logs.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let mut fake = FakeCanopsis::start().await;
    fake.add_user(User::without_maintenance_right(
        "operator", PASSWORD, "op-key",
    ));
    let mut shown: Vec<String> = Vec::new();
    let mut show = |what: &str, text: String| shown.push(format!("{what}: {text}"));

    let auths = [
        Auth::ApiKey(Secret::new(API_KEY)),
        basic(),
        login(),
        Auth::Login {
            user: "operator".into(),
            password: Secret::new(PASSWORD),
        },
    ];
    for auth in &auths {
        show("auth", format!("{auth:?} {auth:#?} {auth}"));
        let api = client(&fake, auth.clone());
        show("client", format!("{api:?}"));
        api.list_broadcasts().await.unwrap();
        api.upsert_broadcast(&message(ID, "m")).await.unwrap();
    }
    let admin = client(&fake, login());
    admin.set_maintenance(true, Some("m"), None).await.unwrap();
    let operator = client(&fake, auths[3].clone());
    let e = operator.list_broadcasts().await.unwrap_err();
    show("maintenance", format!("{e} {e:?}"));
    admin.set_maintenance(false, None, None).await.unwrap();

    let wrong = Auth::Basic {
        user: USER.into(),
        password: Secret::new(format!("x{PASSWORD}")),
    };
    let e = client(&fake, wrong).list_broadcasts().await.unwrap_err();
    show("unauthorized", format!("{e} {e:?}"));
    fake.inject(None, "/api/v4/broadcast-message", Fault::Status(500), None);
    let m = message(ID, "m");
    let e = retry(
        Duration::from_millis(100),
        Duration::from_millis(10),
        Duration::from_millis(20),
        || admin.upsert_broadcast(&m),
    )
    .await
    .unwrap_err();
    show("500", format!("{e} {e:?}"));
    fake.clear_faults();
    fake.inject(None, "/api/v4/broadcast-message", Fault::Garbage, None);
    let e = admin.list_broadcasts().await.unwrap_err();
    show("garbage", format!("{e} {e:?}"));
    fake.clear_faults();
    fake.inject(
        None,
        "/api/v4/",
        Fault::Delay(Duration::from_secs(5)),
        Some(1),
    );
    let slow = ApiClient::new(&fake.url(), login(), Duration::from_millis(200)).unwrap();
    let e = slow.list_broadcasts().await.unwrap_err();
    show("timeout", format!("{e} {e:?}"));
    show("requests", format!("{:?}", fake.requests()));
    fake.stop().await;
    let e = admin.list_broadcasts().await.unwrap_err();
    show("unreachable", format!("{e} {e:?}"));
    let e = ApiClient::new(
        &format!("http://{USER}:{PASSWORD}@{}", fake.addr()),
        Auth::None,
        TIMEOUT,
    )
    .unwrap_err();
    show("url", format!("{e} {e:?}"));

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("Canopsis API call"),
        "the capture works: {log}"
    );
    assert_no_secret("the tracing log", &log);
    assert!(shown.len() >= 14, "{shown:?}");
    for text in &shown {
        assert_no_secret("output", text);
    }
    // The distinctive password was sent (so the checks above mean something).
    assert!(fake.requests().iter().any(|r| r.path == "/api/v4/login"));
}
