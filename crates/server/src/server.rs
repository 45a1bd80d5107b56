//! The server: its shared state, its watches and its listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::Cluster;
use trellis_model::status::OperationInitiator;
use trellis_render::{AppRenderer, Capabilities};

use crate::auth::{Caller, Sessions};
use crate::cache::{Cache, watch_accounts, watch_apps, watch_projects};
use crate::error::{Result, ServerError};
use crate::options::ServerOptions;
use crate::policy::Action;
use crate::summary::AppEntry;

/// State shared by every request.
pub(crate) struct State {
    pub options: ServerOptions,
    /// The cluster Applications live in (also the in-cluster destination).
    pub cluster: Cluster,
    /// The renderer with repository credentials, and the destination
    /// clusters, from the namespace's labelled Secrets.
    pub destinations: crate::destinations::Destinations,
    /// Compares applications deployed to the in-cluster destination.
    pub engine: Engine,
    /// What the cluster serves (Helm's `.Capabilities`), read once.
    pub capabilities: tokio::sync::OnceCell<Capabilities>,
    pub cache: Arc<Cache>,
    pub sessions: Sessions,
    /// Failed logins per user name.
    pub logins: crate::throttle::LoginThrottle,
    /// Set when the server stops: live-update streams end.
    pub stopping: watch::Sender<bool>,
}

impl State {
    /// Whether the caller may do `action` to the application `name` in
    /// `namespace` of `project` (of API `group`).
    pub fn allows(
        &self,
        caller: &Caller,
        action: Action,
        group: &str,
        project: &str,
        namespace: &str,
        name: &str,
    ) -> bool {
        let roles = match self.cache.project(group, project) {
            Some(p) => p.spec.roles.clone(),
            None => Vec::new(),
        };
        caller
            .grant
            .allows(action, project, namespace, name, &roles)
    }

    /// Whether the caller may do `action` to a cached application.
    pub fn allows_entry(&self, caller: &Caller, action: Action, entry: &AppEntry) -> bool {
        self.allows(
            caller,
            action,
            &entry.key.group,
            &entry.project,
            &entry.key.namespace,
            &entry.key.name,
        )
    }

    /// Who an operation is recorded as started by.
    pub fn initiator(&self, caller: &Caller) -> OperationInitiator {
        OperationInitiator {
            username: caller.name.clone(),
            automated: false,
        }
    }

    /// What the cluster serves, read on first use; Helm's defaults when the
    /// cluster cannot say.
    pub async fn capabilities(&self) -> Capabilities {
        self.capabilities
            .get_or_init(|| crate::destinations::read_capabilities(&self.cluster))
            .await
            .clone()
    }

    /// How many watches must list once before the server is ready.
    pub fn watch_count(&self) -> usize {
        let groups = self.options.groups().len();
        // Applications, projects, the accounts Secret, labelled Secrets.
        groups * self.options.namespaces().len() + groups + 2
    }
}

/// The HTTP API: create with [`Server::new`], then [`Server::serve`] (or
/// [`Server::start_watches`] and [`Server::router`] to serve it elsewhere).
#[derive(Clone)]
pub struct Server {
    state: Arc<State>,
}

/// The running watches of a server; dropping this stops them.
pub struct Watches {
    tasks: JoinSet<()>,
}

impl Watches {
    /// Stops the watches.
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}

impl Server {
    /// A server over `cluster` (where Applications, AppProjects, the
    /// accounts Secret and Argo CD's repository and cluster Secrets live,
    /// and the in-cluster destination), rendering with `renderer` for
    /// diffs. Repository Secrets' credentials are added to the settings of
    /// `renderer`'s repository cache in a renderer of the directory and
    /// Helm kinds (renderers registered on `renderer` for other kinds are
    /// not carried over once a repository Secret exists). Nothing runs until [`Server::serve`] or
    /// [`Server::start_watches`].
    pub fn new(options: ServerOptions, cluster: Cluster, renderer: AppRenderer) -> Result<Self> {
        if options.namespace.is_empty() {
            return Err(ServerError::Invalid(
                "the server needs the controller's namespace".into(),
            ));
        }
        let engine = Engine::new(cluster.clone(), EngineOptions::default());
        let sessions = Sessions::new(options.session_ttl, options.max_sessions);
        let logins = crate::throttle::LoginThrottle::new(
            options.max_login_failures,
            options.login_failure_window,
        );
        Ok(Self {
            state: Arc::new(State {
                options,
                cluster,
                destinations: crate::destinations::Destinations::new(renderer),
                engine,
                capabilities: tokio::sync::OnceCell::new(),
                cache: Arc::new(Cache::new()),
                sessions,
                logins,
                stopping: watch::channel(false).0,
            }),
        })
    }

    /// Compares through `engine` (the controller's in-cluster engine, say)
    /// instead of one of the server's own, so both share one live-state
    /// cache. Call before serving.
    pub fn with_engine(self, engine: Engine) -> Self {
        match Arc::try_unwrap(self.state) {
            Ok(mut state) => {
                state.engine = engine;
                Self {
                    state: Arc::new(state),
                }
            }
            // Already shared (cloned): keep the server's own engine.
            Err(state) => Self { state },
        }
    }

    /// The HTTP routes: the API under `/api/v1`, `/api/openapi.json`,
    /// `/healthz` and `/readyz`. Lists are served from the watches'
    /// memory, so the watches must run ([`Server::start_watches`]).
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.state.clone())
    }

    /// Starts the watches that feed the server's memory (on the current
    /// Tokio runtime); they run until the returned handle is dropped.
    pub fn start_watches(&self) -> Watches {
        let state = &self.state;
        let mut tasks = JoinSet::new();
        for group in state.options.groups() {
            for namespace in state.options.namespaces() {
                tasks.spawn(watch_apps(
                    state.cache.clone(),
                    state.cluster.clone(),
                    group,
                    namespace,
                ));
            }
            tasks.spawn(watch_projects(
                state.cache.clone(),
                state.cluster.clone(),
                group,
                state.options.namespace.clone(),
            ));
        }
        tasks.spawn(watch_accounts(
            state.cache.clone(),
            state.cluster.clone(),
            state.options.namespace.clone(),
        ));
        tasks.spawn(crate::destinations::watch(state.clone()));
        Watches { tasks }
    }

    /// Whether every watch has listed once (the server answers from a full
    /// picture).
    pub fn is_ready(&self) -> bool {
        *self.state.cache.listed().borrow() >= self.state.watch_count()
    }

    /// Waits until [`Server::is_ready`], at most `timeout`; whether it is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let expected = self.state.watch_count();
        let mut listed = self.state.cache.listed();
        tokio::time::timeout(timeout, listed.wait_for(|n| *n >= expected))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Serves on `addr` until `shutdown` completes, with the watches
    /// running; live-update streams are ended so the shutdown does not wait
    /// for them.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Listen {
                addr: addr.to_string(),
                source,
            })?;
        self.serve_on(listener, shutdown).await
    }

    /// Like [`Server::serve`], on a listener already bound (port 0 in
    /// tests).
    pub async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        self.serve_on_with(listener, axum::Router::new(), shutdown)
            .await
    }

    /// Like [`Server::serve_on`], with more routes served beside the API
    /// (the controller's `/metrics` and `/api/webhook` in `trellis up`).
    /// They are public: the webhook checks its own signature.
    pub async fn serve_on_with(
        self,
        listener: tokio::net::TcpListener,
        extra: axum::Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        if let Ok(addr) = listener.local_addr() {
            info!(%addr, "serving the API");
        }
        let watches = self.start_watches();
        let stopping = self.state.stopping.clone();
        let router = self.router().merge(extra);
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                stopping.send_replace(true);
            })
            .await
            .map_err(ServerError::Serve);
        watches.stop();
        result
    }
}
