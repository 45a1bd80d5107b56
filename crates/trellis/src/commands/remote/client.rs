//! A typed client of Trellis's HTTP API (`/api/v1`): one method per
//! endpoint the command line uses, answers parsed into the types below,
//! failures into [`RemoteError`] with messages that say what to do.
//!
//! Built on hyper's client with rustls (ring) for `https://`, the TLS stack
//! the rest of the workspace uses, so the command needs no second one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE, USER_AGENT};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use trellis_model::Application;

/// The header a session-authenticated request that changes state must echo
/// the session's CSRF token in.
const CSRF_HEADER: &str = "x-trellis-csrf";
/// The session cookie's name.
const SESSION_COOKIE: &str = "trellis_session";

/// A module-local result.
pub type Result<T, E = RemoteError> = std::result::Result<T, E>;

/// Why a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server URL cannot be used.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate authorities file cannot be used.
    #[error("certificate authorities file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS could not be set up (no usable certificate roots).
    #[error("setting up TLS for {url}: {source}")]
    Tls {
        /// The server.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The server.
        url: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },
    /// The server did not answer in time.
    #[error("no answer from {url} within {after:?}")]
    Timeout {
        /// The request's URL.
        url: String,
        /// How long the client waited.
        after: Duration,
    },
    /// The login was refused: wrong user name or password.
    #[error("login to {server} refused: {message}")]
    LoginRefused {
        /// The server.
        server: String,
        /// The server's reason.
        message: String,
    },
    /// 401: no credentials, or they expired or were revoked.
    #[error("not logged in to {server}: run trellis login {server} ({message})")]
    Unauthorized {
        /// The server.
        server: String,
        /// The server's reason.
        message: String,
    },
    /// 403: the credentials may not do this.
    #[error("permission denied: {message}")]
    Forbidden {
        /// The server's reason.
        message: String,
    },
    /// 404: no such application (or one the caller may not see).
    #[error("{message}")]
    NotFound {
        /// The server's message, e.g. "application ns/name not found".
        message: String,
    },
    /// 409: the application is busy, changed meanwhile, or refuses the
    /// request (a rollback while automated sync is on).
    #[error("{message}")]
    Conflict {
        /// The server's reason.
        message: String,
    },
    /// 400: the server found the request invalid.
    #[error("bad request: {message}")]
    BadRequest {
        /// The server's reason.
        message: String,
    },
    /// Any other unsuccessful status.
    #[error("{server} answered {status}: {message}")]
    Status {
        /// The server.
        server: String,
        /// The HTTP status.
        status: u16,
        /// The server's message, or the start of its body.
        message: String,
    },
    /// The answer was not what the API describes.
    #[error("unexpected answer from {url}: {source}")]
    Decode {
        /// The request's URL.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// How the server's TLS certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of the certificate authorities to trust instead of the
    /// system's.
    pub ca_file: Option<PathBuf>,
}

/// How requests are authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// Anonymously (login only).
    #[default]
    None,
    /// An API token, sent as `Authorization: Bearer`.
    Token(String),
    /// A login session: its cookie value and CSRF token.
    Session {
        /// The session cookie's value.
        cookie: String,
        /// The CSRF token to send on requests that change state.
        csrf: String,
    },
}

/// An application on the server: its namespace, name and, where both API
/// groups hold one of that name, its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRef {
    /// The Application's namespace.
    pub namespace: String,
    /// The Application's name.
    pub name: String,
    /// `trellis.dev` or `argoproj.io`; the server's choice when `None`.
    pub group: Option<String>,
}

impl std::fmt::Display for AppRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A new login session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who logged in.
    pub username: String,
    /// The session cookie's value.
    pub cookie: String,
    /// The CSRF token.
    pub csrf: String,
}

/// A token just created; `token` is shown this once.
#[derive(Debug, Clone, Deserialize)]
pub struct NewToken {
    /// Its id, for revoking it.
    pub id: String,
    /// The token itself.
    pub token: String,
}

/// Filters of the application list; empty fields filter nothing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Projects.
    pub projects: Vec<String>,
    /// Sync statuses.
    pub syncs: Vec<String>,
    /// Health statuses.
    pub healths: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// A label selector.
    pub selector: Option<String>,
    /// A part of the name.
    pub search: Option<String>,
}

/// The source an application summary shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummarySource {
    /// Repository URL.
    #[serde(default, rename = "repoURL")]
    pub repo_url: Option<String>,
    /// Path in the repository.
    #[serde(default)]
    pub path: Option<String>,
    /// Chart name (Helm repositories).
    #[serde(default)]
    pub chart: Option<String>,
    /// The revision the application follows.
    #[serde(default)]
    pub target_revision: Option<String>,
}

/// Sync status and revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummarySync {
    /// Synced, OutOfSync or Unknown.
    #[serde(default)]
    pub status: String,
    /// The commit (or chart version) last compared.
    #[serde(default)]
    pub revision: Option<String>,
}

/// Health status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryHealth {
    /// Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
    #[serde(default)]
    pub status: String,
    /// Why, when not healthy.
    #[serde(default)]
    pub message: Option<String>,
}

/// The operation requested or last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryOperation {
    /// An operation is requested and not finished.
    #[serde(default)]
    pub requested: bool,
    /// The last operation's phase.
    #[serde(default)]
    pub phase: Option<String>,
    /// The last operation's message.
    #[serde(default)]
    pub message: Option<String>,
}

/// One application as the list shows it (the API's `ApplicationSummary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    /// API group: `trellis.dev` or `argoproj.io`.
    #[serde(default)]
    pub group: String,
    /// Namespace of the Application.
    #[serde(default)]
    pub namespace: String,
    /// Name of the Application.
    #[serde(default)]
    pub name: String,
    /// Project.
    #[serde(default)]
    pub project: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The (first) source.
    #[serde(default)]
    pub source: Option<SummarySource>,
    /// How many sources a multi-source application has (0 for one).
    #[serde(default)]
    pub sources: usize,
    /// Where it deploys to.
    #[serde(default)]
    pub destination: Option<Value>,
    /// Automated sync is on.
    #[serde(default)]
    pub automated: bool,
    /// Sync status.
    #[serde(default)]
    pub sync: SummarySync,
    /// Health.
    #[serde(default)]
    pub health: SummaryHealth,
    /// Operation.
    #[serde(default)]
    pub operation: SummaryOperation,
    /// Managed resources.
    #[serde(default)]
    pub resources: usize,
    /// Condition types.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Every other field, kept for `-o json`.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl AppSummary {
    /// Its reference, with the group it was listed in.
    pub fn app_ref(&self) -> AppRef {
        AppRef {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            group: Some(self.group.clone()).filter(|g| !g.is_empty()),
        }
    }
}

/// An Application object as the server returns it: typed, and as sent.
#[derive(Debug, Clone)]
pub struct AppObject {
    /// The object parsed.
    pub app: Application,
    /// The object as JSON, for `-o json|yaml`.
    pub raw: Value,
}

/// Health as the diff reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiffHealth {
    /// The status.
    #[serde(default)]
    pub status: Option<String>,
    /// Why.
    #[serde(default)]
    pub message: Option<String>,
}

/// One resource of a diff.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDiff {
    /// API group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Synced, OutOfSync, Missing, Extra or Unknown.
    #[serde(default)]
    pub status: String,
    /// Health.
    #[serde(default)]
    pub health: DiffHealth,
    /// Why it could not be compared, or other notes.
    #[serde(default)]
    pub message: String,
    /// A unified diff, live to desired.
    #[serde(default)]
    pub diff: String,
}

/// A comparison of an application with git, made by the server now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    /// The application's sync status by this comparison.
    #[serde(default)]
    pub sync: String,
    /// Its health.
    #[serde(default)]
    pub health: DiffHealth,
    /// Why the manifests could not be rendered.
    #[serde(default)]
    pub render_error: Option<String>,
    /// Every resource.
    #[serde(default)]
    pub resources: Vec<ResourceDiff>,
}

/// One past sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The id a rollback takes.
    pub id: i64,
    /// The revision synced (single source).
    #[serde(default)]
    pub revision: String,
    /// The revisions synced (multi-source).
    #[serde(default)]
    pub revisions: Vec<String>,
    /// When the sync finished.
    #[serde(default)]
    pub deployed_at: Option<String>,
    /// When it started.
    #[serde(default)]
    pub deploy_started_at: Option<String>,
    /// Every other field (source, initiatedBy), kept for `-o json`.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// A resource a sync is limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncResource {
    /// API group (empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (empty for cluster-scoped resources).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// The body of a sync request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    /// The revision to sync to; the application's when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// Delete resources no longer in git.
    pub prune: bool,
    /// Have the controller check and change nothing.
    pub dry_run: bool,
    /// Only these resources; all when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<SyncResource>,
}

/// The body of a rollback request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRequest {
    /// The history entry to go back to.
    pub id: i64,
    /// Delete resources the old revision does not have.
    pub prune: bool,
    /// Have the controller check and change nothing.
    pub dry_run: bool,
}

/// `{"items": [...]}` as the API lists things.
#[derive(Deserialize)]
struct Items<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

/// `{"error": ..., "code": ...}` as the API reports errors.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client of one Trellis server with one set of credentials.
#[derive(Clone)]
pub struct RemoteClient {
    base: String,
    auth: Auth,
    http: HttpClient,
    timeout: Duration,
}

impl std::fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RemoteClient {
    /// A client of `server` (an `http://` or `https://` URL, normalized by
    /// [`normalize_server`]). Must be called inside a tokio runtime.
    pub fn new(server: &str, auth: Auth, tls: &TlsOptions) -> Result<Self> {
        let base = normalize_server(server)?;
        let connector = connector(&base, tls)?;
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            base,
            auth,
            http,
            timeout: Duration::from_secs(60),
        })
    }

    /// The server's base URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.base
    }

    /// The same server with other credentials.
    pub fn with_auth(&self, auth: Auth) -> Self {
        Self {
            auth,
            ..self.clone()
        }
    }

    /// `POST /api/v1/session`: logs in; a wrong password is
    /// [`RemoteError::LoginRefused`].
    pub async fn login(&self, username: &str, password: &str) -> Result<Session> {
        let body = json!({"username": username, "password": password});
        let (status, headers, bytes) = self
            .send(Method::POST, "/api/v1/session", Some(&body))
            .await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(RemoteError::LoginRefused {
                server: self.base.clone(),
                message: error_message(&bytes),
            });
        }
        let url = self.url("/api/v1/session");
        let value: Value = self.parse(status, &url, &bytes)?;
        let cookie = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| RemoteError::Status {
                server: self.base.clone(),
                status: status.as_u16(),
                message: "the login answer set no session cookie".into(),
            })?;
        Ok(Session {
            username: value
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or(username)
                .to_string(),
            cookie,
            csrf: value
                .get("csrfToken")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// `GET /api/v1/session`: who the credentials belong to.
    pub async fn whoami(&self) -> Result<Value> {
        self.call(Method::GET, "/api/v1/session", None).await
    }

    /// `DELETE /api/v1/session`: ends the login session.
    pub async fn end_session(&self) -> Result<()> {
        self.call::<Value>(Method::DELETE, "/api/v1/session", None)
            .await
            .map(drop)
    }

    /// `POST /api/v1/tokens`: creates an API token with a role (`read`,
    /// `sync`, `admin`).
    pub async fn create_token(&self, name: &str, role: &str) -> Result<NewToken> {
        let body = json!({"name": name, "role": role});
        self.call(Method::POST, "/api/v1/tokens", Some(&body)).await
    }

    /// `DELETE /api/v1/tokens/{id}`: revokes a token.
    pub async fn delete_token(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/tokens/{}", segment(id));
        self.call::<Value>(Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// `GET /api/v1/applications`: the applications the caller may read.
    pub async fn list_applications(&self, filter: &ListFilter) -> Result<Vec<AppSummary>> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, values) in [
            ("project", &filter.projects),
            ("sync", &filter.syncs),
            ("health", &filter.healths),
            ("namespace", &filter.namespaces),
        ] {
            if !values.is_empty() {
                query.append_pair(key, &values.join(","));
            }
        }
        if let Some(selector) = filter.selector.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("selector", selector);
        }
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("search", search);
        }
        let query = query.finish();
        let path = if query.is_empty() {
            "/api/v1/applications".to_string()
        } else {
            format!("/api/v1/applications?{query}")
        };
        let list: Items<AppSummary> = self.call(Method::GET, &path, None).await?;
        Ok(list.items)
    }

    /// `GET /api/v1/applications/{namespace}/{name}`: the whole object.
    pub async fn application(&self, app: &AppRef) -> Result<AppObject> {
        let raw: Value = self
            .call(Method::GET, &self.app_path(app, ""), None)
            .await?;
        self.app_object(app, raw)
    }

    /// `GET .../diff`: the server renders the application and compares it
    /// with the cluster now.
    pub async fn diff(&self, app: &AppRef) -> Result<DiffReport> {
        self.call(Method::GET, &self.app_path(app, "/diff"), None)
            .await
    }

    /// `GET .../history`: past syncs, newest first.
    pub async fn history(&self, app: &AppRef) -> Result<Vec<HistoryEntry>> {
        let list: Items<HistoryEntry> = self
            .call(Method::GET, &self.app_path(app, "/history"), None)
            .await?;
        Ok(list.items)
    }

    /// `POST .../refresh`: asks the controller to compare with git now.
    pub async fn refresh(&self, app: &AppRef, hard: bool) -> Result<AppObject> {
        let body = json!({"type": if hard { "hard" } else { "normal" }});
        let answer: Value = self
            .call(Method::POST, &self.app_path(app, "/refresh"), Some(&body))
            .await?;
        self.app_object(app, answer.get("application").cloned().unwrap_or_default())
    }

    /// `POST .../sync`: requests a sync; the answer is the application with
    /// the operation set.
    pub async fn sync(&self, app: &AppRef, request: &SyncRequest) -> Result<AppObject> {
        let body = serde_json::to_value(request).map_err(|source| RemoteError::Decode {
            url: self.url(&self.app_path(app, "/sync")),
            source,
        })?;
        let answer: Value = self
            .call(Method::POST, &self.app_path(app, "/sync"), Some(&body))
            .await?;
        self.app_object(app, answer.get("application").cloned().unwrap_or_default())
    }

    /// `POST .../rollback`: requests a sync to a history entry's revision.
    pub async fn rollback(&self, app: &AppRef, request: &RollbackRequest) -> Result<AppObject> {
        let body = serde_json::to_value(request).map_err(|source| RemoteError::Decode {
            url: self.url(&self.app_path(app, "/rollback")),
            source,
        })?;
        let answer: Value = self
            .call(Method::POST, &self.app_path(app, "/rollback"), Some(&body))
            .await?;
        self.app_object(app, answer.get("application").cloned().unwrap_or_default())
    }

    fn app_object(&self, app: &AppRef, raw: Value) -> Result<AppObject> {
        let parsed = serde_json::from_value(raw.clone()).map_err(|source| RemoteError::Decode {
            url: self.url(&self.app_path(app, "")),
            source,
        })?;
        Ok(AppObject { app: parsed, raw })
    }

    fn app_path(&self, app: &AppRef, suffix: &str) -> String {
        let mut path = format!(
            "/api/v1/applications/{}/{}{suffix}",
            segment(&app.namespace),
            segment(&app.name)
        );
        if let Some(group) = &app.group {
            path.push_str("?group=");
            path.push_str(&segment(group));
        }
        path
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and parses a successful JSON answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let (status, _, bytes) = self.send(method, path, body).await?;
        self.parse(status, &self.url(path), &bytes)
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        status: StatusCode,
        url: &str,
        bytes: &[u8],
    ) -> Result<T> {
        if !status.is_success() {
            return Err(self.status_error(status, bytes));
        }
        serde_json::from_slice(bytes).map_err(|source| RemoteError::Decode {
            url: url.to_string(),
            source,
        })
    }

    fn status_error(&self, status: StatusCode, bytes: &[u8]) -> RemoteError {
        let message = error_message(bytes);
        match status {
            StatusCode::UNAUTHORIZED => RemoteError::Unauthorized {
                server: self.base.clone(),
                message,
            },
            StatusCode::FORBIDDEN => RemoteError::Forbidden { message },
            StatusCode::NOT_FOUND => RemoteError::NotFound { message },
            StatusCode::CONFLICT => RemoteError::Conflict { message },
            StatusCode::BAD_REQUEST => RemoteError::BadRequest { message },
            other => RemoteError::Status {
                server: self.base.clone(),
                status: other.as_u16(),
                message,
            },
        }
    }

    /// One exchange: the status, headers and whole body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes)> {
        let url = self.url(path);
        let changes_state = !matches!(method, Method::GET | Method::HEAD);
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("trellis/", env!("CARGO_PKG_VERSION")));
        match &self.auth {
            Auth::None => {}
            Auth::Token(token) => {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            Auth::Session { cookie, csrf } => {
                request = request.header(COOKIE, format!("{SESSION_COOKIE}={cookie}"));
                if changes_state {
                    request = request.header(CSRF_HEADER, csrf.as_str());
                }
            }
        }
        let payload = match body {
            Some(value) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| RemoteError::InvalidUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| RemoteError::Connect {
                    url: self.base.clone(),
                    reason: innermost(&e),
                })?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| RemoteError::Connect {
                    url: self.base.clone(),
                    reason: format!("reading the answer: {}", innermost(&e)),
                })?
                .to_bytes();
            Ok((parts.status, parts.headers, bytes))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| RemoteError::Timeout {
                url,
                after: self.timeout,
            })?
    }
}

/// The connector: plain HTTP, or TLS (rustls with ring) checked against the
/// system's roots or the given certificate authorities.
fn connector(base: &str, tls: &TlsOptions) -> Result<HttpsConnector<HttpConnector>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_error = |e: rustls::Error| RemoteError::Tls {
        url: base.to_string(),
        source: std::io::Error::other(e),
    };
    let with_roots = |roots: rustls::RootCertStore| -> Result<rustls::ClientConfig> {
        Ok(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(tls_error)?
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match &tls.ca_file {
        Some(path) => builder.with_tls_config(with_roots(read_roots(path)?)?),
        None => match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            // Without system roots plain HTTP still works; an https URL
            // reports why it cannot.
            Err(_) if base.starts_with("http://") => hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(with_roots(rustls::RootCertStore::empty())?),
            Err(source) => {
                return Err(RemoteError::Tls {
                    url: base.to_string(),
                    source,
                });
            }
        },
    };
    Ok(builder.https_or_http().enable_http1().build())
}

/// The certificates of a PEM file as trust roots.
fn read_roots(path: &Path) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let invalid = |reason: String| RemoteError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| invalid(format!("certificate {}: {e}", i + 1)))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("certificate {}: {e}", i + 1)))?;
    }
    if roots.is_empty() {
        return Err(invalid("no PEM certificate in it".into()));
    }
    Ok(roots)
}

/// The message of an error answer: its `error` field, else the start of
/// the body.
fn error_message(bytes: &[u8]) -> String {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) {
        return body.error;
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        "no details given".to_string()
    } else {
        text.chars().take(200).collect()
    }
}

/// The innermost cause of an error: what the system said.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A path segment, percent-encoded.
fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
}

/// The canonical form of a server URL: scheme and authority (plus any
/// path prefix), no trailing slash. Without a scheme, `https://` is
/// assumed, except on the loopback addresses (`localhost`, `127.*`,
/// `[::1]`) where `trellis up` serves plain HTTP.
pub fn normalize_server(server: &str) -> Result<String> {
    let trimmed = server.trim().trim_end_matches('/');
    let invalid = |reason: &str| RemoteError::InvalidUrl {
        url: server.to_string(),
        reason: reason.to_string(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        let host = trimmed.split(['/', ':']).next().unwrap_or_default();
        let loopback =
            host == "localhost" || host.starts_with("127.") || trimmed.starts_with("[::1]");
        format!("{}://{trimmed}", if loopback { "http" } else { "https" })
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(invalid("only http:// and https:// are supported")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if uri.query().is_some() {
        return Err(invalid("a server URL takes no query"));
    }
    Ok(with_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalized() {
        assert_eq!(
            normalize_server("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_server("localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            normalize_server("trellis.example.com").unwrap(),
            "https://trellis.example.com"
        );
        assert_eq!(
            normalize_server("https://ci.example.com/trellis/").unwrap(),
            "https://ci.example.com/trellis"
        );
        assert!(normalize_server("ftp://x").is_err());
        assert!(normalize_server("").is_err());
        assert!(normalize_server("http://x/?a=b").is_err());
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = read_roots(&path).unwrap_err().to_string();
        assert!(
            err.contains("ca.pem") && err.contains("no PEM certificate"),
            "{err}"
        );
        let missing = read_roots(&dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing.pem"), "{missing}");
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("web-staging.v1_x"), "web-staging.v1_x");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"error":"application a/b not found","code":404}"#),
            "application a/b not found"
        );
        assert_eq!(error_message(b"  plain text "), "plain text");
        assert_eq!(error_message(b""), "no details given");
    }
}
