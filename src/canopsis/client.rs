//! The Canopsis REST client: app-info, healthcheck, broadcast messages and maintenance mode.
//!
//! Each method makes one attempt (plus one fresh login when a bearer token is refused); wrap it
//! in [`super::retry::retry`] to ride out restarts. Nothing here ever prints a credential.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::auth::{Auth, Secret};
use super::color::validate_color;
use super::error::{describe_error_body, ApiError};
use crate::support::url::redact_url;
use crate::version::{Version, VersionError};

/// What `GET /api/v4/app-info` says about the installation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppInfo {
    /// The installed version, as Canopsis prints it.
    pub version: String,
    /// `community`/`pro` (or `core`/`cat` in old versions), when given.
    #[serde(default)]
    pub edition: Option<String>,
    /// `go` or `python`, when given.
    #[serde(default)]
    pub stack: Option<String>,
    /// When the version document was last written, when given as Unix seconds.
    #[serde(default, deserialize_with = "lenient_unix")]
    pub version_updated: Option<Timestamp>,
    /// Whether maintenance mode is on (absent before 23.10: false).
    #[serde(default)]
    pub maintenance: bool,
    /// The serial name, when given.
    #[serde(default)]
    pub serial_name: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

impl AppInfo {
    /// The version, parsed.
    pub fn parsed_version(&self) -> Result<Version, VersionError> {
        Version::parse(&self.version)
    }
}

/// A broadcast message: a banner shown to every Canopsis user between `start` and `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastMessage {
    /// The `_id`; empty lets Canopsis choose one (create only).
    pub id: String,
    /// The text shown.
    pub message: String,
    /// The banner colour (hex, rgb(), hsl()).
    pub color: String,
    /// When it starts being shown (sent as Unix seconds).
    pub start: Timestamp,
    /// When it stops being shown (sent as Unix seconds).
    pub end: Timestamp,
}

impl BroadcastMessage {
    /// Checks what Canopsis would refuse, and that it ends after it starts.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.message.trim().is_empty() {
            return Err(ApiError::InvalidRequest(
                "a broadcast message needs a non-empty message".into(),
            ));
        }
        validate_color(&self.color).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        if self.end <= self.start {
            return Err(ApiError::InvalidRequest(format!(
                "a broadcast message must end after it starts (start {}, end {})",
                self.start, self.end
            )));
        }
        Ok(())
    }

    /// The request body; `with_id` for a creation with a chosen `_id`.
    fn body(&self, with_id: bool) -> Value {
        let mut body = json!({
            "message": self.message,
            "color": self.color,
            "start": self.start.as_second(),
            "end": self.end.as_second(),
        });
        if with_id && !self.id.is_empty() {
            body["_id"] = Value::String(self.id.clone());
        }
        body
    }
}

/// A broadcast message as Canopsis stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBroadcast {
    /// The message, with the `_id` Canopsis gave it.
    pub broadcast: BroadcastMessage,
    /// Who wrote it, when given.
    pub author: Option<String>,
    /// When it was created, when given.
    pub created: Option<Timestamp>,
    /// When it was last updated, when given.
    pub updated: Option<Timestamp>,
}

/// How [`ApiClient::upsert_broadcast`] wrote the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It did not exist: created.
    Created,
    /// It existed (an earlier attempt created it): updated.
    Updated,
}

/// What [`ApiClient::set_maintenance`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceChange {
    /// The mode was switched.
    Changed,
    /// It already was in the asked state (Canopsis answered 400 "already ...").
    AlreadySo,
}

/// A Canopsis API client for one installation.
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    auth: Auth,
    timeout: Duration,
    /// The bearer token of login credentials, once logged in.
    token: tokio::sync::Mutex<Option<Secret>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One HTTP response of the API, whatever its status.
struct ApiResponse {
    method: &'static str,
    url: String,
    status: StatusCode,
    body: String,
}

impl ApiResponse {
    fn is(&self, status: StatusCode) -> bool {
        self.status == status
    }

    /// The error this non-success answer means.
    fn into_error(self, auth: &Auth) -> ApiError {
        let (message, fields) = describe_error_body(&self.body);
        let ApiResponse { method, url, .. } = self;
        match self.status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized {
                method,
                url,
                auth: auth.to_string(),
                message,
            },
            StatusCode::SERVICE_UNAVAILABLE if message.to_lowercase().contains("maintenance") => {
                ApiError::Maintenance {
                    method,
                    url,
                    message,
                }
            }
            status => ApiError::Status {
                method,
                url,
                status: status.as_u16(),
                message,
                fields,
            },
        }
    }

    /// Itself when the status is a success, else the error it means.
    fn success(self, auth: &Auth) -> Result<Self, ApiError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(self.into_error(auth))
        }
    }

    /// The body as `T`; `expected` says what it should have been, for the error.
    fn json<T: DeserializeOwned>(&self, expected: &'static str) -> Result<T, ApiError> {
        serde_json::from_str(&self.body).map_err(|e| {
            // A login answer holds a token: never quote it.
            let cause = if self.url.ends_with("/api/v4/login") {
                e.to_string()
            } else {
                format!("{e} (the body starts with {:?})", snippet(&self.body, 80))
            };
            self.bad_json(expected, cause)
        })
    }

    fn bad_json(&self, expected: &'static str, cause: String) -> ApiError {
        ApiError::BadJson {
            method: self.method,
            url: self.url.clone(),
            expected,
            cause,
        }
    }
}

/// Whether a route needs the credentials.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Sent without credentials; retried with them if the API answers 401.
    Public,
    /// Sent with the credentials.
    Authenticated,
}

const STORED: &str =
    "a broadcast message ({\"_id\", \"message\", \"color\", \"start\", \"end\", ...})";

impl ApiClient {
    /// A client for the API at `base_url` (such as `http://localhost:8082`); every request
    /// gives up after `timeout`. Credentials in the URL are refused: use a credential file.
    pub fn new(base_url: &str, auth: Auth, timeout: Duration) -> Result<Self, ApiError> {
        let invalid = |reason| ApiError::InvalidUrl {
            url: redact_url(base_url),
            reason,
        };
        let base = Url::parse(base_url.trim()).map_err(|_| invalid("not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("it must be an http:// or https:// URL"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "it must not hold credentials: give them in a credential file",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() || base.cannot_be_a_base() {
            return Err(invalid("it must not have a query or a fragment"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("canopsis-upgrade/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| invalid("cannot set up an HTTP client for it"))?;
        Ok(Self {
            base,
            http,
            auth,
            timeout,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The installed version, edition and maintenance state (`GET /api/v4/app-info`, or
    /// `/api/v4/internal/app_info` when that is a 404, as in 4.3).
    pub async fn app_info(&self) -> Result<AppInfo, ApiError> {
        let expected = "app-info JSON with a version";
        let answer = self
            .call(Method::GET, &["app-info"], &[], None, Access::Public)
            .await?;
        let answer = if answer.is(StatusCode::NOT_FOUND) {
            self.call(
                Method::GET,
                &["internal", "app_info"],
                &[],
                None,
                Access::Public,
            )
            .await?
        } else {
            answer
        };
        answer.success(&self.auth)?.json(expected)
    }

    /// Whether the API says it is alive (`GET /api/v4/healthcheck/live`); `None` when the route
    /// does not exist (before 23.10).
    pub async fn healthcheck_live(&self) -> Result<Option<bool>, ApiError> {
        #[derive(Deserialize)]
        struct Live {
            ok: bool,
        }
        let answer = self
            .call(
                Method::GET,
                &["healthcheck", "live"],
                &[],
                None,
                Access::Public,
            )
            .await?;
        if answer.is(StatusCode::NOT_FOUND) {
            return Ok(None);
        }
        let live: Live = answer.success(&self.auth)?.json("{\"ok\": bool}")?;
        Ok(Some(live.ok))
    }

    /// Creates a broadcast message (`POST`); its `_id` is sent when not empty.
    pub async fn create_broadcast(
        &self,
        message: &BroadcastMessage,
    ) -> Result<StoredBroadcast, ApiError> {
        message.validate()?;
        self.post_broadcast(message)
            .await?
            .success(&self.auth)
            .and_then(|a| stored(&a))
    }

    /// Replaces the broadcast message `id` with `message` (its `id` is ignored).
    pub async fn update_broadcast(
        &self,
        id: &str,
        message: &BroadcastMessage,
    ) -> Result<StoredBroadcast, ApiError> {
        check_id(id)?;
        message.validate()?;
        let answer = self
            .call(
                Method::PUT,
                &["broadcast-message", id],
                &[],
                Some(&message.body(false)),
                Access::Authenticated,
            )
            .await?;
        stored(&answer.success(&self.auth)?)
    }

    /// Creates the message under its `_id`, or updates it when that `_id` already exists: a
    /// retry after a crash updates the message instead of duplicating it.
    pub async fn upsert_broadcast(
        &self,
        message: &BroadcastMessage,
    ) -> Result<(Written, StoredBroadcast), ApiError> {
        check_id(&message.id)?;
        message.validate()?;
        let answer = self.post_broadcast(message).await?;
        if answer.status.is_success() {
            let created = stored(&answer)?;
            if created.broadcast.id != message.id {
                tracing::warn!(
                    asked = %message.id,
                    got = %created.broadcast.id,
                    "Canopsis ignored the _id of the broadcast message; a retry will duplicate it"
                );
            }
            return Ok((Written::Created, created));
        }
        if answer.is(StatusCode::BAD_REQUEST) && says_id_exists(&answer.body) {
            tracing::info!(id = %message.id, "the broadcast message exists already: updating it");
            let updated = self.update_broadcast(&message.id, message).await?;
            return Ok((Written::Updated, updated));
        }
        Err(answer.into_error(&self.auth))
    }

    /// The broadcast message `id`, or `None` when there is none.
    pub async fn get_broadcast(&self, id: &str) -> Result<Option<StoredBroadcast>, ApiError> {
        let Some(answer) = self.existing_broadcast(Method::GET, id).await? else {
            return Ok(None);
        };
        stored(&answer.success(&self.auth)?).map(Some)
    }

    /// Deletes the broadcast message `id`; `false` when there was none (deleting is idempotent).
    pub async fn delete_broadcast(&self, id: &str) -> Result<bool, ApiError> {
        let Some(answer) = self.existing_broadcast(Method::DELETE, id).await? else {
            return Ok(false);
        };
        answer.success(&self.auth).map(|_| true)
    }

    /// `method` on the broadcast message `id`; `None` when there is none (404).
    async fn existing_broadcast(
        &self,
        method: Method,
        id: &str,
    ) -> Result<Option<ApiResponse>, ApiError> {
        check_id(id)?;
        let answer = self
            .call(
                method,
                &["broadcast-message", id],
                &[],
                None,
                Access::Authenticated,
            )
            .await?;
        Ok((!answer.is(StatusCode::NOT_FOUND)).then_some(answer))
    }

    /// Every broadcast message, all pages read.
    pub async fn list_broadcasts(&self) -> Result<Vec<StoredBroadcast>, ApiError> {
        #[derive(Deserialize)]
        struct Page {
            data: Vec<Value>,
            #[serde(default)]
            meta: Option<Meta>,
        }
        #[derive(Deserialize)]
        struct Meta {
            #[serde(default)]
            page_count: Option<u64>,
        }
        let mut all = Vec::new();
        for page in 1u64.. {
            let query = [("page", page.to_string()), ("limit", "100".to_owned())];
            let answer = self
                .call(
                    Method::GET,
                    &["broadcast-message"],
                    &query,
                    None,
                    Access::Authenticated,
                )
                .await?
                .success(&self.auth)?;
            let parsed: Page =
                answer.json("a page of broadcast messages ({\"data\", \"meta\"})")?;
            let empty = parsed.data.is_empty();
            for item in parsed.data {
                all.push(stored_value(&answer, item)?);
            }
            let last = parsed.meta.and_then(|m| m.page_count).unwrap_or(page);
            if empty || page >= last || page >= 1000 {
                break;
            }
        }
        Ok(all)
    }

    /// The messages shown right now (`GET /api/v4/active-broadcast-message`, public).
    pub async fn active_broadcasts(&self) -> Result<Vec<StoredBroadcast>, ApiError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum List {
            Bare(Vec<Value>),
            Paged { data: Vec<Value> },
        }
        let answer = self
            .call(
                Method::GET,
                &["active-broadcast-message"],
                &[],
                None,
                Access::Public,
            )
            .await?
            .success(&self.auth)?;
        let (List::Bare(items) | List::Paged { data: items }) =
            answer.json("a list of broadcast messages")?;
        items
            .into_iter()
            .map(|item| stored_value(&answer, item))
            .collect()
    }

    /// Switches maintenance mode (`PUT /api/v4/maintenance`, 23.10+). Enabling needs a message.
    /// Asking for the current state is not an error: the call is idempotent.
    pub async fn set_maintenance(
        &self,
        enabled: bool,
        message: Option<&str>,
        color: Option<&str>,
    ) -> Result<MaintenanceChange, ApiError> {
        let mut body = json!({ "enabled": enabled });
        match message {
            Some(text) if !text.trim().is_empty() => body["message"] = text.into(),
            _ if enabled => {
                return Err(ApiError::InvalidRequest(
                    "enabling maintenance mode needs a message".into(),
                ))
            }
            _ => {}
        }
        if let Some(color) = color {
            validate_color(color).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
            body["color"] = color.into();
        }
        let answer = self
            .call(
                Method::PUT,
                &["maintenance"],
                &[],
                Some(&body),
                Access::Authenticated,
            )
            .await?;
        if answer.status.is_success() {
            return Ok(MaintenanceChange::Changed);
        }
        if answer.is(StatusCode::BAD_REQUEST) {
            let (text, _) = describe_error_body(&answer.body);
            if text.to_lowercase().contains("already") {
                return Ok(MaintenanceChange::AlreadySo);
            }
        }
        Err(answer.into_error(&self.auth))
    }

    async fn post_broadcast(&self, message: &BroadcastMessage) -> Result<ApiResponse, ApiError> {
        self.call(
            Method::POST,
            &["broadcast-message"],
            &[],
            Some(&message.body(true)),
            Access::Authenticated,
        )
        .await
    }

    /// `base/api/v4/<segments>?<query>`, each segment percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v4"]).extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k, v.as_str())));
        }
        url
    }

    /// One call, with one fresh login when login credentials' token is refused; a public call
    /// refused with 401 is made again with the credentials.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        access: Access,
    ) -> Result<ApiResponse, ApiError> {
        let url = self.url(segments, query);
        if access == Access::Public {
            let answer = self.send(&method, &url, body, None, false).await?;
            if !(answer.is(StatusCode::UNAUTHORIZED) && self.auth != Auth::None) {
                return Ok(answer);
            }
        }
        let Auth::Login { .. } = self.auth else {
            return self.send(&method, &url, body, None, true).await;
        };
        let (token, fresh) = self.token().await?;
        let answer = self.send(&method, &url, body, Some(&token), true).await?;
        if !answer.is(StatusCode::UNAUTHORIZED) || fresh {
            return Ok(answer);
        }
        // The token expired, or Canopsis restarted and forgot it: log in again, once.
        let token = self.relogin(&token).await?;
        self.send(&method, &url, body, Some(&token), true).await
    }

    /// The current bearer token, logging in when there is none; `true` when just obtained.
    async fn token(&self) -> Result<(Secret, bool), ApiError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref() {
            return Ok((token.clone(), false));
        }
        let token = self.login().await?;
        *slot = Some(token.clone());
        Ok((token, true))
    }

    /// A new token replacing `stale` (unless another call already replaced it).
    async fn relogin(&self, stale: &Secret) -> Result<Secret, ApiError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| *t != stale) {
            return Ok(token.clone());
        }
        *slot = None;
        let token = self.login().await?;
        *slot = Some(token.clone());
        Ok(token)
    }

    /// `POST /api/v4/login` with the login credentials.
    async fn login(&self) -> Result<Secret, ApiError> {
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        let Auth::Login { user, password } = &self.auth else {
            return Err(ApiError::InvalidRequest(
                "logging in needs login credentials".into(),
            ));
        };
        let body = json!({ "username": user, "password": password.expose() });
        let url = self.url(&["login"], &[]);
        let answer = self
            .send(&Method::POST, &url, Some(&body), None, false)
            .await?
            .success(&self.auth)?;
        let token: Token = answer.json("a login answer ({\"access_token\": ...})")?;
        if token.access_token.is_empty() {
            return Err(answer.bad_json(
                "a login answer ({\"access_token\": ...})",
                "the access_token is empty".into(),
            ));
        }
        Ok(Secret::new(token.access_token))
    }

    /// Sends one request and reads the whole answer.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        token: Option<&Secret>,
        authenticated: bool,
    ) -> Result<ApiResponse, ApiError> {
        let name = method_name(method);
        let mut request = self.http.request(method.clone(), url.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        if authenticated {
            request = match (&self.auth, token) {
                (Auth::None, _) => request,
                (Auth::ApiKey(key), _) => {
                    let mut value = HeaderValue::from_str(key.expose()).map_err(|_| {
                        ApiError::InvalidRequest(
                            "the API key holds characters an HTTP header cannot carry".into(),
                        )
                    })?;
                    value.set_sensitive(true);
                    request.header("x-canopsis-authkey", value)
                }
                (Auth::Basic { user, password }, _) => {
                    request.basic_auth(user, Some(password.expose()))
                }
                (Auth::Login { .. }, Some(token)) => request.bearer_auth(token.expose()),
                (Auth::Login { .. }, None) => request,
            };
        }
        let transport = |e: reqwest::Error| self.transport_error(name, url, e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        tracing::debug!(
            method = name,
            url = %url,
            status = status.as_u16(),
            "Canopsis API call"
        );
        Ok(ApiResponse {
            method: name,
            url: url.to_string(),
            status,
            body: text,
        })
    }

    fn transport_error(&self, method: &'static str, url: &Url, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout {
                method,
                url: url.to_string(),
                timeout: self.timeout,
            };
        }
        ApiError::Unreachable {
            method,
            url: url.to_string(),
            cause: crate::support::error::chain(&error.without_url()),
        }
    }
}

/// The first `max` characters of a text.
fn snippet(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "HTTP",
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() {
        return Err(ApiError::InvalidRequest(
            "a broadcast message id must not be empty".into(),
        ));
    }
    Ok(())
}

/// Whether a 400 body is the "this `_id` already exists" validation error.
fn says_id_exists(body: &str) -> bool {
    let (_, fields) = describe_error_body(body);
    fields
        .get("_id")
        .is_some_and(|m| m.to_lowercase().contains("exist"))
}

fn stored(answer: &ApiResponse) -> Result<StoredBroadcast, ApiError> {
    let value: Value = answer.json(STORED)?;
    stored_value(answer, value)
}

fn stored_value(answer: &ApiResponse, value: Value) -> Result<StoredBroadcast, ApiError> {
    #[derive(Deserialize)]
    struct Wire {
        #[serde(rename = "_id")]
        id: String,
        message: String,
        color: String,
        start: i64,
        end: i64,
        #[serde(default)]
        author: Option<Value>,
        #[serde(default, deserialize_with = "lenient_unix")]
        created: Option<Timestamp>,
        #[serde(default, deserialize_with = "lenient_unix")]
        updated: Option<Timestamp>,
    }
    let wire: Wire =
        serde_json::from_value(value).map_err(|e| answer.bad_json(STORED, e.to_string()))?;
    let time = |s: i64| {
        Timestamp::from_second(s)
            .map_err(|e| answer.bad_json(STORED, format!("{s} is not a Unix time: {e}")))
    };
    Ok(StoredBroadcast {
        broadcast: BroadcastMessage {
            id: wire.id,
            message: wire.message,
            color: wire.color,
            start: time(wire.start)?,
            end: time(wire.end)?,
        },
        author: wire.author.and_then(|a| match a {
            Value::String(s) => Some(s),
            Value::Object(o) => ["name", "display_name", "_id"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned)),
            _ => None,
        }),
        created: wire.created,
        updated: wire.updated,
    })
}

/// Unix seconds as a timestamp; anything else (absent, null, a string) as `None`.
fn lenient_unix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value
        .as_ref()
        .and_then(Value::as_i64)
        .and_then(|s| Timestamp::from_second(s).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> BroadcastMessage {
        BroadcastMessage {
            id: "canopsis-upgrade-4.5.0-20261128T0100Z".into(),
            message: "Upgrade tonight".into(),
            color: "#2fab63".into(),
            start: Timestamp::from_second(1_795_827_600).unwrap(),
            end: Timestamp::from_second(1_795_834_800).unwrap(),
        }
    }

    #[test]
    fn serializes_unix_seconds_and_the_id_only_when_creating() {
        let m = message();
        let create = m.body(true);
        assert_eq!(create["_id"], "canopsis-upgrade-4.5.0-20261128T0100Z");
        assert_eq!(create["start"], 1_795_827_600);
        assert_eq!(create["end"], 1_795_834_800);
        assert!(m.body(false).get("_id").is_none());
    }

    #[test]
    fn validates_before_sending() {
        assert!(message().validate().is_ok());
        let bad_color = BroadcastMessage {
            color: "green".into(),
            ..message()
        };
        assert!(bad_color
            .validate()
            .unwrap_err()
            .to_string()
            .contains("\"green\""));
        let empty = BroadcastMessage {
            message: "  ".into(),
            ..message()
        };
        assert!(empty.validate().is_err());
        let backwards = BroadcastMessage {
            end: message().start,
            ..message()
        };
        assert!(backwards
            .validate()
            .unwrap_err()
            .to_string()
            .contains("end after"));
    }

    #[test]
    fn refuses_urls_with_credentials_without_echoing_them() {
        let e = ApiClient::new(
            "http://root:Zq9-SECRET@localhost:8082",
            Auth::None,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("credential file") && !e.contains("Zq9-SECRET"),
            "{e}"
        );
        assert!(ApiClient::new("localhost:8082", Auth::None, Duration::from_secs(1)).is_err());
        assert!(ApiClient::new("ftp://x", Auth::None, Duration::from_secs(1)).is_err());
        assert_eq!(redact_url("https://a:b@h/p@q"), "https://a:***@h/p@q");
    }

    #[test]
    fn builds_urls_under_a_prefix() {
        let c = ApiClient::new("https://h/canopsis/", Auth::None, Duration::from_secs(1)).unwrap();
        assert_eq!(
            c.url(&["broadcast-message", "a b/c"], &[]).as_str(),
            "https://h/canopsis/api/v4/broadcast-message/a%20b%2Fc"
        );
        let c = ApiClient::new("http://h:8082", Auth::None, Duration::from_secs(1)).unwrap();
        assert_eq!(
            c.url(&["broadcast-message"], &[("page", "2".into())])
                .as_str(),
            "http://h:8082/api/v4/broadcast-message?page=2"
        );
    }

    #[test]
    fn parses_app_info_leniently() {
        let info: AppInfo = serde_json::from_str(
            r#"{"version":"23.10.2","edition":"pro","stack":"go","version_updated":1700000000,
                "maintenance":true,"serial_name":"x","timezone":"Europe/Paris"}"#,
        )
        .unwrap();
        assert!(info.maintenance);
        assert_eq!(info.parsed_version().unwrap().as_str(), "23.10.2");
        assert_eq!(info.version_updated.unwrap().as_second(), 1_700_000_000);
        assert_eq!(info.other["timezone"], "Europe/Paris");
        let old: AppInfo = serde_json::from_str(r#"{"version":"4.3.0"}"#).unwrap();
        assert!(!old.maintenance && old.edition.is_none());
    }

    #[test]
    fn recognises_the_id_exists_error() {
        assert!(says_id_exists(r#"{"errors":{"_id":"ID already exists."}}"#));
        assert!(!says_id_exists(
            r#"{"errors":{"color":"Color is not valid."}}"#
        ));
        assert!(!says_id_exists("garbage"));
    }
}
