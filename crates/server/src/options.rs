//! What the server is told at start.

use std::time::Duration;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The controller's namespace: AppProjects, the accounts Secret and the
    /// default namespace of new Applications live here.
    pub namespace: String,
    /// Further namespaces whose Applications are served.
    pub app_namespaces: Vec<String>,
    /// Also serve `argoproj.io/v1alpha1` Applications and AppProjects.
    pub argocd_compat: bool,
    /// Mark the session cookie `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// At most this many sessions are kept; the oldest go first.
    pub max_sessions: usize,
    /// Failed logins of one user name allowed within `login_failure_window`
    /// before further attempts are refused (429) until the window since the
    /// last failure has passed; 0 allows any number.
    pub max_login_failures: u32,
    /// See `max_login_failures`.
    pub login_failure_window: Duration,
}

impl ServerOptions {
    /// Defaults for a server of the controller in `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            app_namespaces: Vec::new(),
            argocd_compat: false,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            max_sessions: 10_000,
            max_login_failures: 5,
            login_failure_window: Duration::from_secs(300),
        }
    }

    /// Every namespace whose Applications are served, the controller's
    /// first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut out = vec![self.namespace.clone()];
        for ns in &self.app_namespaces {
            if !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }

    /// The API groups served, Trellis's first.
    pub fn groups(&self) -> Vec<&'static str> {
        let mut groups = vec![trellis_model::TRELLIS_GROUP];
        if self.argocd_compat {
            groups.push(trellis_model::ARGO_GROUP);
        }
        groups
    }
}
