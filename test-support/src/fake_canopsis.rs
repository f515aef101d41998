//! A fake Canopsis REST API (`/api/v4`) for the tests, following the contract of
//! `canopsis/FACTS.md` exactly: authentication (API key, Basic, bearer token from /login),
//! broadcast-message CRUD with Canopsis' validation, maintenance mode and its 503, app-info and
//! the live healthcheck. Faults can be injected per route (a status N times, garbage JSON, a
//! delay) and the whole server can go down and come back on the same port. Every request is
//! recorded with its secrets redacted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

/// The default user, who has the api_maintenance right.
pub const USER: &str = "root";
/// Its password: distinctive, so tests can check it never leaks.
pub const PASSWORD: &str = "Tr0ub4dor&3-FAKE-CANOPSIS-PASSWORD";
/// Its API key: distinctive too.
pub const API_KEY: &str = "fake-canopsis-API-KEY-5f2a9c71";

/// A Canopsis user.
#[derive(Debug, Clone)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Password (Basic and /login).
    pub password: String,
    /// API key (`x-canopsis-authkey`).
    pub api_key: String,
    /// Whether the user has the `api_maintenance` right (keeps access during maintenance).
    pub maintenance_right: bool,
}

impl User {
    /// A user with the given name, password and API key, without the api_maintenance right.
    pub fn without_maintenance_right(name: &str, password: &str, api_key: &str) -> Self {
        Self {
            name: name.into(),
            password: password.into(),
            api_key: api_key.into(),
            maintenance_right: false,
        }
    }
}

/// What the fake is.
#[derive(Debug, Clone)]
pub struct Options {
    /// The version app-info reports.
    pub version: String,
    /// When set, app-info reports the first line of this file instead (the installed version
    /// of a simulated install, which the upgrade moves).
    pub version_file: Option<std::path::PathBuf>,
    /// The edition app-info reports.
    pub edition: String,
    /// 4.3: app-info only at /api/v4/internal/app_info (and no maintenance field).
    pub legacy_app_info: bool,
    /// The live healthcheck's answer; `None`: the route does not exist (before 23.10).
    pub healthcheck: Option<bool>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            version: "23.10.2".into(),
            version_file: None,
            edition: "community".into(),
            legacy_app_info: false,
            healthcheck: Some(true),
        }
    }
}

/// A fault to answer with instead of the real thing.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with `{"error": "Internal server error"}`-like body.
    Status(u16),
    /// 200 with a body that is not JSON.
    Garbage,
    /// Answer normally, after this delay.
    Delay(Duration),
}

/// One request as the fake saw it; secrets are redacted.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Every header, secrets redacted (`Basic <redacted>`...).
    pub headers: Vec<(String, String)>,
    /// The body (a login's password redacted).
    pub body: String,
    /// The status answered (0 if the client went away first).
    pub status: u16,
    /// When it arrived.
    pub at: jiff::Timestamp,
}

impl Recorded {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Armed {
    prefix: String,
    method: Option<Method>,
    fault: Fault,
    remaining: Option<u32>,
}

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    message: String,
    color: String,
    start: i64,
    end: i64,
    author: String,
    created: i64,
    updated: i64,
}

impl Stored {
    fn json(&self) -> Value {
        json!({
            "_id": self.id,
            "color": self.color,
            "message": self.message,
            "start": self.start,
            "end": self.end,
            "author": self.author,
            "created": self.created,
            "updated": self.updated,
        })
    }
}

struct Inner {
    options: Options,
    users: Vec<User>,
    tokens: HashMap<String, String>,
    next_token: u64,
    messages: Vec<Stored>,
    next_id: u64,
    maintenance: bool,
    version_updated: i64,
    faults: Vec<Armed>,
    requests: Vec<Recorded>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake Canopsis API on 127.0.0.1.
pub struct FakeCanopsis {
    addr: SocketAddr,
    inner: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeCanopsis {
    /// A fake 23.10.2 community API with the default user.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A fake with the given options and the default user.
    pub async fn start_with(options: Options) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            options,
            users: vec![User {
                name: USER.into(),
                password: PASSWORD.into(),
                api_key: API_KEY.into(),
                maintenance_right: true,
            }],
            tokens: HashMap::new(),
            next_token: 0,
            messages: Vec::new(),
            next_id: 0,
            maintenance: false,
            version_updated: 1_700_000_000,
            faults: Vec::new(),
            requests: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fake = Self {
            addr,
            inner,
            stop: None,
            task: None,
        };
        fake.serve(listener);
        fake
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(handle)
            .with_state(self.inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// Adds a user.
    pub fn add_user(&self, user: User) {
        self.lock().users.push(user);
    }

    /// Answers requests whose path starts with `prefix` (and of `method`, if given) with
    /// `fault`, `times` times (`None`: until cleared).
    pub fn inject(&self, method: Option<Method>, prefix: &str, fault: Fault, times: Option<u32>) {
        self.lock().faults.push(Armed {
            prefix: prefix.into(),
            method,
            fault,
            remaining: times,
        });
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The broadcast messages stored, as the API shows them.
    pub fn messages(&self) -> Vec<Value> {
        self.lock().messages.iter().map(Stored::json).collect()
    }

    /// Whether maintenance mode is on.
    pub fn maintenance(&self) -> bool {
        self.lock().maintenance
    }

    /// Forgets every bearer token, as a restarted Canopsis does.
    pub fn forget_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Changes the reported version (an upgrade happened).
    pub fn set_version(&self, version: &str) {
        let mut s = self.lock();
        s.options.version = version.into();
        s.version_updated += 60;
    }

    /// Closes the listener and every connection: the API is down until [`Self::restart`].
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Listens again on the same port, with the same state.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for FakeCanopsis {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An answer: a status and a JSON body, or none.
struct Reply(StatusCode, Option<Value>);

fn reply(status: u16, body: Value) -> Reply {
    Reply(StatusCode::from_u16(status).unwrap(), Some(body))
}

fn error(status: u16, message: &str) -> Reply {
    reply(status, json!({ "error": message }))
}

fn invalid_structure() -> Reply {
    error(400, "request has invalid structure")
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let (index, fault) = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: redacted_headers(&parts.headers),
            body: redacted_body(&path, &body),
            status: 0,
            at: jiff::Timestamp::now(),
        });
        let index = s.requests.len() - 1;
        (index, take_fault(&mut s, &method, &path))
    };
    let answer = match fault {
        Some(Fault::Status(code)) => Some(error(code, "Internal server error")),
        Some(Fault::Garbage) => None,
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Some(route_locked(&shared, &parts, &body))
        }
        None => Some(route_locked(&shared, &parts, &body)),
    };
    let response = match answer {
        None => Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"version\": \"23.10.2\", \"edition\": <html>"))
            .unwrap(),
        Some(Reply(status, body)) => {
            let builder = Response::builder().status(status);
            match body {
                Some(v) => builder
                    .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                    .body(Body::from(v.to_string()))
                    .unwrap(),
                None => builder.body(Body::empty()).unwrap(),
            }
        }
    };
    shared.lock().unwrap().requests[index].status = response.status().as_u16();
    response
}

fn take_fault(s: &mut Inner, method: &Method, path: &str) -> Option<Fault> {
    let armed = s.faults.iter_mut().find(|a| {
        path.starts_with(&a.prefix)
            && a.method.as_ref().is_none_or(|m| m == method)
            && a.remaining != Some(0)
    })?;
    if let Some(n) = armed.remaining.as_mut() {
        *n -= 1;
    }
    Some(armed.fault.clone())
}

fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<binary>");
            let shown = match name.as_str() {
                "authorization" => match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} <redacted>"),
                    None => "<redacted>".into(),
                },
                "x-canopsis-authkey" | "cookie" => "<redacted>".into(),
                _ => value.to_owned(),
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

fn redacted_body(path: &str, body: &[u8]) -> String {
    if path.trim_end_matches('/') != "/api/v4/login" {
        return String::from_utf8_lossy(body).into_owned();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut o)) => {
            if o.contains_key("password") {
                o.insert("password".into(), "<redacted>".into());
            }
            Value::Object(o).to_string()
        }
        _ => "<redacted>".into(),
    }
}

fn route_locked(shared: &Shared, parts: &axum::http::request::Parts, body: &[u8]) -> Reply {
    let mut s = shared.lock().unwrap();
    route(&mut s, parts, body)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn route(s: &mut Inner, parts: &axum::http::request::Parts, body: &[u8]) -> Reply {
    let method = &parts.method;
    let Some(rest) = parts.uri.path().strip_prefix("/api/v4/") else {
        return error(404, "Not found");
    };
    let segments: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    // Public routes.
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["login"]) => return login(s, body),
        ("GET", ["app-info"]) if !s.options.legacy_app_info => return app_info(s),
        ("GET", ["internal", "app_info"]) if s.options.legacy_app_info => return app_info(s),
        ("GET", ["healthcheck", "live"]) => {
            return match s.options.healthcheck {
                Some(ok) => reply(200, json!({ "ok": ok })),
                None => error(404, "Not found"),
            }
        }
        ("GET", ["active-broadcast-message"]) => {
            let t = now();
            let active: Vec<Value> = s
                .messages
                .iter()
                .filter(|m| m.start <= t && t <= m.end)
                .map(Stored::json)
                .collect();
            return reply(200, Value::Array(active));
        }
        _ => {}
    }
    let known = matches!(
        (method.as_str(), segments.as_slice()),
        ("GET" | "POST", ["broadcast-message"])
            | ("GET" | "PUT" | "DELETE", ["broadcast-message", _])
            | ("PUT", ["maintenance"])
    );
    if !known {
        return error(404, "Not found");
    }
    let Some(user) = authenticate(s, &parts.headers) else {
        return error(401, "Not authorized");
    };
    if s.maintenance && !user.maintenance_right {
        return error(503, "canopsis is under maintenance");
    }
    let body: Result<Value, _> = serde_json::from_slice(body);
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["broadcast-message"]) => list(s, parts.uri.query()),
        ("POST", ["broadcast-message"]) => match body {
            Ok(body) => create(s, &user, &body),
            Err(_) => invalid_structure(),
        },
        ("GET", ["broadcast-message", id]) => match s.messages.iter().find(|m| m.id == *id) {
            Some(m) => reply(200, m.json()),
            None => error(404, "Not found"),
        },
        ("PUT", ["broadcast-message", id]) => match body {
            Ok(body) => update(s, id, &body),
            Err(_) => invalid_structure(),
        },
        ("DELETE", ["broadcast-message", id]) => {
            let before = s.messages.len();
            s.messages.retain(|m| m.id != *id);
            if s.messages.len() == before {
                error(404, "Not found")
            } else {
                Reply(StatusCode::NO_CONTENT, None)
            }
        }
        ("PUT", ["maintenance"]) => match body {
            Ok(body) => maintenance(s, &body),
            Err(_) => invalid_structure(),
        },
        _ => error(404, "Not found"),
    }
}

fn authenticate(s: &Inner, headers: &HeaderMap) -> Option<User> {
    if let Some(key) = headers.get("x-canopsis-authkey") {
        let key = key.to_str().ok()?;
        return s.users.iter().find(|u| u.api_key == key).cloned();
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    match scheme {
        "Basic" => {
            let decoded = String::from_utf8(base64_decode(credentials.trim())?).ok()?;
            let (name, password) = decoded.split_once(':')?;
            s.users
                .iter()
                .find(|u| u.name == name && u.password == password)
                .cloned()
        }
        "Bearer" => {
            let name = s.tokens.get(credentials.trim())?;
            s.users.iter().find(|u| &u.name == name).cloned()
        }
        _ => None,
    }
}

fn login(s: &mut Inner, body: &[u8]) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return invalid_structure();
    };
    let (Some(name), Some(password)) = (
        body.get("username").and_then(Value::as_str),
        body.get("password").and_then(Value::as_str),
    ) else {
        return invalid_structure();
    };
    let Some(user) = s
        .users
        .iter()
        .find(|u| u.name == name && u.password == password)
        .cloned()
    else {
        return error(401, "Not authorized");
    };
    if s.maintenance && !user.maintenance_right {
        return error(503, "canopsis is under maintenance");
    }
    s.next_token += 1;
    let token = format!("fake-token-{}-{}", s.next_token, now());
    s.tokens.insert(token.clone(), user.name);
    reply(200, json!({ "access_token": token }))
}

fn app_info(s: &Inner) -> Reply {
    let version = match &s.options.version_file {
        Some(path) => std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        None => s.options.version.clone(),
    };
    let mut info = json!({
        "version": version,
        "edition": s.options.edition,
        "stack": "go",
        "version_updated": s.version_updated,
        "serial_name": "",
        "timezone": "Europe/Paris",
        "language": "en",
        "login": { "basic": { "enabled": true } },
    });
    if !s.options.legacy_app_info {
        info["maintenance"] = s.maintenance.into();
    }
    reply(200, info)
}

fn list(s: &Inner, query: Option<&str>) -> Reply {
    let mut page = 1u64;
    let mut limit = 10u64;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Ok(n) = value.parse::<u64>() else {
            return invalid_structure();
        };
        match key {
            "page" if n >= 1 => page = n,
            "limit" if n >= 1 => limit = n,
            "page" | "limit" => return invalid_structure(),
            _ => {}
        }
    }
    let total = s.messages.len() as u64;
    let data: Vec<Value> = s
        .messages
        .iter()
        .skip(((page - 1) * limit) as usize)
        .take(limit as usize)
        .map(Stored::json)
        .collect();
    reply(
        200,
        json!({
            "data": data,
            "meta": {
                "page": page,
                "per_page": limit,
                "page_count": total.div_ceil(limit),
                "total_count": total,
            }
        }),
    )
}

/// The fields of a valid broadcast message body, or the 400 Canopsis answers.
fn validate_broadcast(
    s: &Inner,
    body: &Value,
    creating: bool,
) -> Result<(Option<String>, String, String, i64, i64), Reply> {
    let Some(o) = body.as_object() else {
        return Err(invalid_structure());
    };
    let string = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => Err(invalid_structure()),
    };
    let int = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(invalid_structure),
    };
    let id = if creating { string("_id")? } else { None };
    let (message, color) = (string("message")?, string("color")?);
    let (start, end) = (int("start")?, int("end")?);
    let mut errors = serde_json::Map::new();
    if let Some(id) = id.as_deref() {
        if s.messages.iter().any(|m| m.id == id) {
            errors.insert("_id".into(), "ID already exists.".into());
        }
    }
    if message.as_deref().unwrap_or("").is_empty() {
        errors.insert("message".into(), "Message is missing.".into());
    }
    match color.as_deref() {
        None | Some("") => {
            errors.insert("color".into(), "Color is missing.".into());
        }
        Some(c) if !css_color(c) => {
            errors.insert("color".into(), "Color is not valid.".into());
        }
        Some(_) => {}
    }
    if start.is_none() {
        errors.insert("start".into(), "Start is missing.".into());
    }
    if end.is_none() {
        errors.insert("end".into(), "End is missing.".into());
    }
    if !errors.is_empty() {
        return Err(reply(400, json!({ "errors": errors })));
    }
    Ok((
        id.filter(|i| !i.is_empty()),
        message.unwrap(),
        color.unwrap(),
        start.unwrap(),
        end.unwrap(),
    ))
}

fn create(s: &mut Inner, user: &User, body: &Value) -> Reply {
    let (id, message, color, start, end) = match validate_broadcast(s, body, true) {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    s.next_id += 1;
    let id = id.unwrap_or_else(|| format!("7f3c2a10-0000-4000-8000-{:012x}", s.next_id));
    let t = now();
    let stored = Stored {
        id,
        message,
        color,
        start,
        end,
        author: user.name.clone(),
        created: t,
        updated: t,
    };
    let json = stored.json();
    s.messages.push(stored);
    reply(201, json)
}

fn update(s: &mut Inner, id: &str, body: &Value) -> Reply {
    if !s.messages.iter().any(|m| m.id == id) {
        return error(404, "Not found");
    }
    let (_, message, color, start, end) = match validate_broadcast(s, body, false) {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    let stored = s.messages.iter_mut().find(|m| m.id == id).unwrap();
    stored.message = message;
    stored.color = color;
    stored.start = start;
    stored.end = end;
    stored.updated = now();
    reply(200, stored.json())
}

fn maintenance(s: &mut Inner, body: &Value) -> Reply {
    let Some(o) = body.as_object() else {
        return invalid_structure();
    };
    let enabled = match o.get("enabled") {
        None | Some(Value::Null) => {
            return reply(
                400,
                json!({ "errors": { "enabled": "Enabled is missing." } }),
            )
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return invalid_structure(),
    };
    let message = match o.get("message") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => return invalid_structure(),
    };
    let mut errors = serde_json::Map::new();
    if enabled && message.as_deref().unwrap_or("").is_empty() {
        errors.insert("message".into(), "Message is missing.".into());
    }
    match o.get("color") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if css_color(c) => {}
        Some(Value::String(_)) => {
            errors.insert("color".into(), "Color is not valid.".into());
        }
        Some(_) => return invalid_structure(),
    }
    if !errors.is_empty() {
        return reply(400, json!({ "errors": errors }));
    }
    if enabled == s.maintenance {
        let state = if enabled { "enabled" } else { "disabled" };
        return error(400, &format!("maintenance mode is already {state}"));
    }
    s.maintenance = enabled;
    if enabled {
        // Users without the right are logged out.
        let allowed: Vec<String> = s
            .users
            .iter()
            .filter(|u| u.maintenance_right)
            .map(|u| u.name.clone())
            .collect();
        s.tokens.retain(|_, name| allowed.contains(name));
    }
    Reply(StatusCode::NO_CONTENT, None)
}

/// A CSS colour as Canopsis' validator accepts it: hex, rgb(a)(), hsl(a)().
fn css_color(c: &str) -> bool {
    if let Some(hex) = c.strip_prefix('#') {
        return [3, 4, 6, 8].contains(&hex.len()) && hex.chars().all(|h| h.is_ascii_hexdigit());
    }
    let arity = |name: &str| match name {
        "rgb" | "hsl" => Some(3),
        "rgba" | "hsla" => Some(4),
        _ => None,
    };
    let Some((name, rest)) = c.split_once('(') else {
        return false;
    };
    let (Some(n), Some(inner)) = (arity(name), rest.strip_suffix(')')) else {
        return false;
    };
    let args: Vec<&str> = inner.split(',').map(str::trim).collect();
    args.len() == n
        && args.iter().all(|a| {
            !a.is_empty()
                && a.trim_end_matches('%')
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '.')
        })
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&segment[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}
