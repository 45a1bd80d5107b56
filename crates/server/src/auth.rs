//! Authentication: login sessions (cookie + CSRF token) and API tokens,
//! turned into a [`Caller`] for each request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

use crate::accounts::{ADMIN_USER, Accounts, constant_time_eq, hex, random_bytes, unix_now};
use crate::error::ApiError;
use crate::policy::{Grant, Role};
use crate::server::State;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "trellis_session";

/// The header that must echo the session's CSRF token on state-changing
/// requests authenticated by the session cookie.
pub const CSRF_HEADER: &str = "x-trellis-csrf";

/// One login session.
#[derive(Debug, Clone)]
struct Session {
    username: String,
    csrf: String,
    created: Instant,
    expires: Instant,
    /// A hash of the password hash at login: a new password ends the
    /// session.
    fingerprint: [u8; 32],
}

/// The live sessions, by the SHA-256 of their id (so a lookup's timing
/// says nothing about a valid id).
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
    max: usize,
}

/// A new session as the login answers it.
pub(crate) struct NewSession {
    /// The cookie value.
    pub id: String,
    /// The CSRF token.
    pub csrf: String,
}

fn fingerprint(hash: &str) -> [u8; 32] {
    Sha256::digest(hash.as_bytes()).into()
}

fn id_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            by_id: Mutex::new(HashMap::new()),
            ttl,
            max: max.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session for a user who proved the password `hash`.
    pub fn open(&self, username: &str, hash: &str) -> NewSession {
        let id = hex(&random_bytes::<32>());
        let csrf = hex(&random_bytes::<32>());
        let now = Instant::now();
        let mut all = self.lock();
        if all.len() >= self.max {
            all.retain(|_, s| s.expires > now);
        }
        while all.len() >= self.max {
            let Some(oldest) = all.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k) else {
                break;
            };
            all.remove(&oldest);
        }
        all.insert(
            id_key(&id),
            Session {
                username: username.to_string(),
                csrf: csrf.clone(),
                created: now,
                expires: now + self.ttl,
                fingerprint: fingerprint(hash),
            },
        );
        NewSession { id, csrf }
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        self.lock().remove(&id_key(id));
    }

    /// The live session with this id, if the password has not changed
    /// since it was opened.
    fn find(&self, id: &str, accounts: &Accounts) -> Option<Session> {
        let key = id_key(id);
        let mut all = self.lock();
        let session = all.get(&key)?.clone();
        let current = accounts.admin_hash.as_deref().map(fingerprint);
        if session.expires <= Instant::now() || current != Some(session.fingerprint) {
            all.remove(&key);
            return None;
        }
        Some(session)
    }

    /// How long sessions last.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A login session: its cookie id and CSRF token.
    Session { id: String, csrf: String },
    /// An API token: its id.
    Token { id: String },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// `admin`, or `token:<name>` for an API token.
    pub name: String,
    /// What it may do.
    pub grant: Grant,
    /// How it authenticated.
    pub credential: Credential,
}

impl Caller {
    /// Whether the credential still holds (the token was not deleted, the
    /// session not closed): long-lived streams check it as they go.
    pub fn still_valid(&self, state: &State) -> bool {
        let accounts = state.cache.accounts();
        match &self.credential {
            Credential::Session { id, .. } => state.sessions.find(id, &accounts).is_some(),
            Credential::Token { id } => accounts
                .tokens
                .iter()
                .any(|t| &t.id == id && !t.expired(unix_now())),
        }
    }
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether a method changes state (and so needs the CSRF header with a
/// cookie).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Authenticates a request from its headers.
pub(crate) fn authenticate(
    state: &State,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let accounts = state.cache.accounts();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
            })?;
        let record = accounts
            .token(presented, unix_now())
            .ok_or_else(|| ApiError::Unauthorized("invalid or expired API token".into()))?;
        return Ok(Caller {
            name: format!("token:{}", record.name),
            grant: record.grant.clone(),
            credential: Credential::Token {
                id: record.id.clone(),
            },
        });
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(ApiError::Unauthorized(
            "authentication required: log in or send an API token".into(),
        ));
    };
    let session = state
        .sessions
        .find(id, &accounts)
        .ok_or_else(|| ApiError::Unauthorized("the session has expired; log in again".into()))?;
    if changes_state(method) {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
            return Err(ApiError::Forbidden(format!(
                "missing or wrong CSRF token: send the session's token in the {CSRF_HEADER} header"
            )));
        }
    }
    let grant = if session.username == ADMIN_USER {
        Grant::Builtin {
            role: Role::Admin,
            project: None,
        }
    } else {
        Grant::Builtin {
            role: Role::Read,
            project: None,
        }
    };
    Ok(Caller {
        name: session.username,
        grant,
        credential: Credential::Session {
            id: id.to_string(),
            csrf: session.csrf,
        },
    })
}

impl FromRequestParts<Arc<State>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<State>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.method, &parts.headers)
    }
}

/// The `Set-Cookie` value of a new session.
pub(crate) fn session_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    let mut cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn cleared_cookie(secure: bool) -> String {
    session_cookie("", Duration::ZERO, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(hash: &str) -> Accounts {
        Accounts {
            admin_hash: Some(hash.into()),
            tokens: Vec::new(),
        }
    }

    #[test]
    fn sessions_end_when_the_password_changes() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let s = sessions.open("admin", "h1");
        assert_eq!(s.id.len(), 64);
        assert!(sessions.find(&s.id, &accounts("h1")).is_some());
        assert!(sessions.find(&s.id, &accounts("h2")).is_none());
        assert!(sessions.find(&s.id, &accounts("h1")).is_none(), "removed");
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let sessions = Sessions::new(Duration::ZERO, 2);
        let s = sessions.open("admin", "h");
        assert!(sessions.find(&s.id, &accounts("h")).is_none());
        let sessions = Sessions::new(Duration::from_secs(60), 2);
        let first = sessions.open("admin", "h");
        let second = sessions.open("admin", "h");
        let third = sessions.open("admin", "h");
        assert!(sessions.find(&first.id, &accounts("h")).is_none());
        assert!(sessions.find(&second.id, &accounts("h")).is_some());
        assert!(sessions.find(&third.id, &accounts("h")).is_some());
        sessions.close(&third.id);
        assert!(sessions.find(&third.id, &accounts("h")).is_none());
    }

    #[test]
    fn cookies_are_read_and_written() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; trellis_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        let set = session_cookie("abc", Duration::from_secs(5), true);
        assert_eq!(
            set,
            "trellis_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=5; Secure"
        );
        assert!(cleared_cookie(false).contains("Max-Age=0"));
    }
}
