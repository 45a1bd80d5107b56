//! Trellis's HTTP API: a JSON API under `/api/v1` over the state the
//! controller keeps in the cluster.
//!
//! The cluster is the database. [`Server`] keeps an in-memory copy of the
//! Applications (both `trellis.dev` and, with `argocd_compat`,
//! `argoproj.io`), of the AppProjects and of its own accounts Secret, fed by
//! watches: a list is served from memory and the same watches feed the live
//! updates of `/api/v1/stream` (Server-Sent Events). What is not kept —
//! resource trees, live and desired manifests, diffs, events — is read on
//! demand: trees and events from the cluster, manifests and diffs by
//! rendering the application and comparing it through the sync engine, the
//! same way the controller does.
//!
//! Actions never run a sync here: they write the Application the way Argo CD
//! clients do and the controller acts on it. A sync or a rollback sets the
//! top-level `operation`, a refresh the `argocd.argoproj.io/refresh`
//! annotation, a cascading delete the `resources-finalizer.argocd.argoproj.io`
//! finalizer before the delete. Each write is one request guarded by the
//! object's `resourceVersion`, so a concurrent change makes it fail cleanly
//! (409) instead of half-applying.
//!
//! The endpoints are listed in the OpenAPI description served at
//! `/api/openapi.json` ([`openapi::document`]).
//!
//! # Accounts, sessions and tokens
//!
//! - One local account, `admin`, whose password is kept as an argon2 hash
//!   in the Secret `trellis-server` of the controller's namespace
//!   ([`accounts::ensure_admin`] creates one and returns it once;
//!   [`accounts::set_admin_password`] sets it). `POST /api/v1/session` logs
//!   in and sets a session cookie: a random 256-bit id, `HttpOnly`,
//!   `SameSite=Strict`, `Secure` when [`ServerOptions::secure_cookies`] is
//!   on, expiring after [`ServerOptions::session_ttl`]. Sessions live in the
//!   server's memory: a restart logs everyone out, and changing the password
//!   ends every session.
//! - API tokens, for automation, are sent as `Authorization: Bearer <token>`.
//!   Only a hash of each token is stored (in the same Secret); the token
//!   itself is shown once, when created.
//! - CSRF: a request authenticated by the session cookie that changes state
//!   (`POST`, `PUT`, `PATCH`, `DELETE`) must carry the header
//!   `X-Trellis-CSRF` with the session's token (returned by the login and by
//!   `GET /api/v1/session`). Bearer tokens are exempt: a browser never sends
//!   them on its own.
//!
//! # Authorization
//!
//! Every application endpoint needs one action on the application:
//! `get` (reading it, its tree, manifests, diff, events, history and its
//! live updates), `sync` (refresh, sync, rollback), `create`, `update` or
//! `delete`. Who may do what:
//!
//! - the `admin` account may do everything, everywhere;
//! - a token with a built-in role — `read` (`get`), `sync` (`get`, `sync`)
//!   or `admin` (every action) — optionally scoped to one project: a scoped
//!   token sees nothing outside its project;
//! - a token bound to a project role, `proj:<project>:<role>`, may do what
//!   that role's policies in the AppProject's `spec.roles` allow, read at
//!   every request. Policies are Argo CD's lines
//!   `p, proj:<project>:<role>, applications, <action>, <project>/<app>, allow`
//!   where action and object may use `*` globs, the object may also be
//!   `<project>/<namespace>/<app>`, and a `deny` line wins over any `allow`.
//!
//! Managing tokens needs an unscoped admin (the `admin` account or an
//! unscoped `admin` token). An application the caller may not `get` is
//! answered as if it did not exist (404); one it may read but not act on is
//! refused with 403. Public — needing no authentication — are only the login
//! (`POST /api/v1/session`), the web UI's page and assets (`/`, `/ui/*`, `/favicon.svg`,
//! which hold no data), `/healthz`, `/readyz` and the OpenAPI description.
//!
//! # Errors
//!
//! Every error is JSON, `{"error": "...", "code": N}`, with the HTTP status
//! as `code`: 400 for bad input (malformed YAML names its line), 401 without
//! valid credentials, 403 when the caller may not, 404 for an unknown
//! application, 409 for a stale edit, a busy application, or a destination
//! cluster no cluster Secret describes.
//!
//! # Private repositories and other clusters
//!
//! The server reads Argo CD's declarative Secrets in its namespace (label
//! `argocd.argoproj.io/secret-type`) with the controller's own code
//! ([`trellis_kube::argocd_secrets`]), kept current by a watch: repository
//! and repo-creds Secrets give the renderer its git credentials; a cluster
//! Secret makes its server a destination whose trees, manifests and diffs
//! are read from that cluster, whether an application names it by server
//! URL or by cluster name. Credentials never appear in answers or logs.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
mod api;
mod auth;
mod cache;
mod destinations;
mod error;
mod keys;
pub mod openapi;
mod options;
pub mod policy;
mod server;
mod summary;
mod throttle;
mod ui;

pub use auth::{CSRF_HEADER, SESSION_COOKIE};
pub use error::{Result, ServerError};
pub use keys::{AppKey, REFRESH_ANNOTATION, RESOURCES_FINALIZER, SECRET_NAME};
pub use options::ServerOptions;
pub use server::{Server, Watches};
