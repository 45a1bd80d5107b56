//! Starting, describing and stopping a cluster: the library entry points behind
//! `trellis cluster serve` and the tests.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::{self, Cluster};
use crate::audit::AuditLog;
use crate::defaults::AdmissionRule;
use crate::faults::Faults;
use crate::registry::Registry;
use crate::sim::SimulationOptions;
use crate::store::Store;

/// Why a cluster could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data file could not be opened as a store.
    #[error("cannot open data file {path}: {source}")]
    Open {
        /// The data file.
        path: PathBuf,
        /// The storage error.
        #[source]
        source: rusqlite::Error,
    },
    /// The in-memory store could not be created.
    #[error("cannot create in-memory store: {0}")]
    Memory(#[source] rusqlite::Error),
    /// Stored objects (CustomResourceDefinitions, seeded namespaces and node) could not be
    /// loaded or written at start.
    #[error("cannot load the stored state: {0}")]
    Load(#[source] crate::api::status::ApiError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig could not be written.
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The kubeconfig path.
        path: PathBuf,
        /// The file error.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start or failed.
    #[error("runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The server task failed.
    #[error("server task failed: {0}")]
    Task(String),
}

/// How to run a cluster.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// SQLite data file; `None` keeps everything in memory.
    pub data: Option<PathBuf>,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// Address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Where to write a kubeconfig at start; `None` writes none.
    pub kubeconfig_path: Option<PathBuf>,
    /// Name of the kubeconfig's cluster, context and user.
    pub context_name: String,
    /// Mutating-admission rules applied to every create and update.
    pub admission: Vec<AdmissionRule>,
    /// Run simulated workload controllers (Deployments get ReplicaSets and Pods, Jobs
    /// complete, ...). Garbage collection and namespace termination run either way.
    pub simulate: bool,
    /// How simulated workloads behave.
    pub simulation: SimulationOptions,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            data: None,
            port: 0,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            kubeconfig_path: None,
            context_name: "trellis-local".into(),
            admission: Vec::new(),
            simulate: true,
            simulation: SimulationOptions::default(),
        }
    }
}

/// A running cluster. Dropping it stops the server; [`RunningCluster::shutdown`] stops it and
/// waits until it has.
pub struct RunningCluster {
    addr: SocketAddr,
    context: String,
    kubeconfig: Option<PathBuf>,
    audit: AuditLog,
    faults: Faults,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    controllers: Option<tokio::task::JoinHandle<()>>,
}

impl RunningCluster {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the kubeconfig was written at start, if anywhere.
    pub fn kubeconfig_path(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }

    /// The kubeconfig text for this cluster.
    pub fn kubeconfig(&self) -> String {
        kubeconfig_text(&self.url(), &self.context)
    }

    /// Writes a kubeconfig for this cluster to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        write_file(path, &self.kubeconfig())
    }

    /// The request audit log.
    pub fn audit(&self) -> AuditLog {
        self.audit.clone()
    }

    /// Fault injection into client requests, switchable at run time.
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// Stops accepting requests, ends open watches and waits for the server to finish.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        if let Some(c) = self.controllers.take() {
            let _ = c.await;
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(r) => r.map_err(Error::Runtime)?,
                Err(e) => return Err(Error::Task(e.to_string())),
            }
        }
        Ok(())
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn kubeconfig_text(url: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {url}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\ncurrent-context: {name}\nusers:\n- name: {name}\n  user: {{}}\npreferences: {{}}\n"
    )
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Kubeconfig {
            path: path.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Kubeconfig {
        path: path.to_owned(),
        source,
    })
}

fn seed(cluster: &Cluster) -> Result<(), Error> {
    use crate::store::{Key, Outcome};
    // A fresh cluster has the namespaces a real one starts with.
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let key = Key {
            group: String::new(),
            resource: "namespaces".into(),
            namespace: String::new(),
            name: ns.into(),
        };
        let now = crate::util::now();
        cluster
            .store
            .mutate(&key, false, |cur| {
                if cur.is_some() {
                    return Ok(Outcome::Keep);
                }
                Ok(Outcome::Put(serde_json::json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": crate::util::uid(), "creationTimestamp": now,
                        "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"}})))
            })
            .map_err(Error::Load)?;
    }
    Ok(())
}

/// Starts a cluster on the current tokio runtime.
pub async fn start(opts: ServeOptions) -> Result<RunningCluster, Error> {
    let store = match &opts.data {
        Some(p) => Store::open(Some(p)).map_err(|source| Error::Open {
            path: p.clone(),
            source,
        })?,
        None => Store::open(None).map_err(Error::Memory)?,
    };
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let audit = AuditLog::default();
    let faults = Faults::default();
    let cluster = Arc::new(Cluster {
        store,
        registry: Registry::new(),
        audit: audit.clone(),
        admission: opts.admission.clone(),
        address: addr.to_string(),
        shutdown: stopped.clone(),
        faults: faults.clone(),
    });
    cluster.refresh_crds().map_err(Error::Load)?;
    seed(&cluster)?;
    if opts.simulate {
        crate::sim::seed_node(&cluster, &opts.simulation).map_err(Error::Load)?;
    }
    let controllers = crate::sim::spawn(cluster.clone(), opts.simulate, opts.simulation.clone())
        .map_err(Error::Load)?;
    let app = api::router(cluster);
    let mut stop_rx = stopped;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !*stop_rx.borrow() {
                    if stop_rx.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await
    });
    let running = RunningCluster {
        addr,
        context: opts.context_name.clone(),
        kubeconfig: opts.kubeconfig_path.clone(),
        audit,
        faults,
        stop,
        task: Some(task),
        controllers: Some(controllers),
    };
    if let Some(p) = &opts.kubeconfig_path {
        running.write_kubeconfig(p)?;
    }
    Ok(running)
}

/// Runs a cluster until Ctrl-C, printing where its kubeconfig is (`trellis cluster serve`).
/// Without a kubeconfig path, writes `trellis-kubeconfig.yaml` beside the data file or in the
/// current directory.
pub fn serve_blocking(mut opts: ServeOptions) -> Result<(), Error> {
    if opts.kubeconfig_path.is_none() {
        let dir = opts
            .data
            .as_ref()
            .and_then(|d| d.parent().map(Path::to_path_buf))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        opts.kubeconfig_path = Some(dir.join("trellis-kubeconfig.yaml"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(async move {
        let running = start(opts).await?;
        println!("Kubernetes API listening on {}", running.url());
        if let Some(p) = running.kubeconfig_path() {
            println!("kubeconfig written to {}", p.display());
            println!("use it with: export KUBECONFIG={}", p.display());
        }
        tokio::signal::ctrl_c().await.map_err(Error::Runtime)?;
        running.shutdown().await
    })
}
